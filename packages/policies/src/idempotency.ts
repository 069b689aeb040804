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
  if (isIdempotentAtOnce(request, retry)) return true;
  return retry.idempotencyKeyHeaders.some((name) => {
    // A blank key cannot be deduplicated on, so it does not make the request safe to repeat.
    const value = request.headers.get(name);
    return value !== null && value.trim() !== '';
  });
}

/**
 * Whether two copies of `request` may be in flight at once (a hedge): by its method, or every request
 * of the rule (`retry.idempotent`). An idempotency key makes a retry safe, not two requests at once: a
 * server that records the key only once the first request completes creates the resource twice, and one
 * that follows the IETF idempotency-key draft answers the second copy 409 while the first runs, a 409
 * the hedge then handed back over the first copy's 201 (audit s24; the partnerCenter preset's generated
 * `MS-RequestId` made every POST such a request).
 */
export function isIdempotentAtOnce(request: Pick<RequestFacts, 'method'>, retry: RetryPolicy): boolean {
  if (retry.idempotent) return true;
  const method = request.method.toUpperCase();
  return retry.idempotentMethods.some((candidate) => candidate.toUpperCase() === method);
}
