import type { RequestFacts, RetryPolicy } from './types.ts';

/**
 * Says whether a request may be sent again without risk of doing its work twice:
 * - its method is in `retry.idempotentMethods` (compared case-insensitively; default GET HEAD OPTIONS
 *   PUT DELETE TRACE);
 * - or it carries a non-empty header named in `retry.idempotencyKeyHeaders` (default `Idempotency-Key`,
 *   `MS-RequestId`): the server deduplicates on that key, provided the same value is sent on every
 *   attempt, which core guarantees;
 * - or the endpoint opted in with `retry.idempotent` (default false).
 */
export function isIdempotent(request: RequestFacts, retry: RetryPolicy): boolean {
  if (retry.idempotent) return true;
  const method = request.method.toUpperCase();
  if (retry.idempotentMethods.some((candidate) => candidate.toUpperCase() === method)) return true;
  return retry.idempotencyKeyHeaders.some((name) => {
    // A blank key cannot be deduplicated on, so it does not make the request safe to repeat.
    const value = request.headers.get(name);
    return value !== null && value.trim() !== '';
  });
}
