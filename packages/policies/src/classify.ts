import { recognizeError } from './fetch-errors.ts';
import { isIdempotent } from './idempotency.ts';
import { parseRateLimit, type QuotaSpent } from './rate-limit-headers.ts';
import { parseRetryAfter } from './retry-after.ts';
import type {
  ClassifyContext,
  HeadersLike,
  Outcome,
  Policy,
  RequestFacts,
  Verdict,
  VerdictReason,
} from './types.ts';

/**
 * Turns what one attempt produced into a verdict: retry or return, and how the endpoint's circuit
 * breaker counts it. This is the default outcome table (docs/architecture.md, "Default outcome
 * table"), read entirely from the policy's lists so that every row can be changed per endpoint. Whether attempts, deadline or budget remain is not
 * decided here: core counts those.
 *
 * Responses, first rule that applies:
 * 1. `permanentStatuses` (default [501]): return, breaker ignore, reason `permanent`. Wins over every list.
 * 2. `retry.statuses` (default [408, 429, 502, 503, 504]) or `retry.retryAnyMethodStatuses` (default
 *    none): retry, with the server's delay (`Retry-After` and friends) as `delayMs` when it sent one,
 *    else, with `throttle.rateLimitHeaders`, the reset of a quota its RateLimit headers say is spent
 *    (`parseRateLimit`: the time the throttle gate will hold the key anyway), whichever is later; a
 *    reset already past adds nothing, and a reset known only as the policy's window is capped at
 *    `retry.maxRetryAfterMs`.
 *    Only for an idempotent request (see `isIdempotent`) unless the status is in
 *    `retryAnyMethodStatuses`; otherwise return, reason `not-idempotent`. A server delay above
 *    `retry.maxRetryAfterMs` is not waited for: return, reason `retry-after-exceeds-cap`. Reason
 *    `throttled` for 429 (with `throttled: true` when it carried no delay, or one of 0: `Retry-After:
 *    0` or a past date, so core uses the throttling backoff), else `transient-status`.
 * 3. 1xx-3xx: return, reason `success`; 4xx: return, reason `client-error`; 5xx and above: return,
 *    reason `server-error`.
 *
 * Breaker, for responses: `ignore` if `breaker.enabled` is false or the status is permanent; `failure`
 * if the status is in `breaker.failureStatuses` (default [500, 502, 503, 504]), whatever the action;
 * `ignore` for other retryable statuses (408 and 429: the request or the rate was at fault, not the
 * endpoint); `success` below 500 (a client error proves the server healthy); `ignore` for a 5xx that no
 * list names (it proves neither).
 *
 * Errors (see `recognizeError`): the caller's abort (`context.callerAborted`) or an `AbortError`:
 * return, ignore, reason `aborted`, even for an idempotent request. `timeout`: retry if idempotent and
 * `retry.timeouts`, breaker failure if `breaker.timeouts`. `network`: likewise with `retry.networkErrors`
 * and `breaker.networkErrors`. `unknown`: return, ignore, reason `unknown-error`. Error verdicts carry
 * `errorKind` and, when known, `errorCode`.
 *
 * @throws TypeError when the outcome is neither a response nor an error.
 * @throws RangeError when `context.now` is not a finite number, or a response status is not an integer
 *   from 0 to 999.
 */
export function classify(
  outcome: Outcome,
  request: RequestFacts,
  policy: Policy,
  context: ClassifyContext,
): Verdict {
  if (typeof context.now !== 'number' || !Number.isFinite(context.now)) {
    throw new RangeError(
      `breakwater: classify: context.now must be a finite number of ms since the epoch, got ${String(context.now)}`,
    );
  }
  if (outcome.kind === 'response')
    return classifyResponse(outcome.status, outcome.headers, request, policy, context);
  if (outcome.kind === 'error') return classifyError(outcome.error, request, policy, context);
  throw new TypeError(
    `breakwater: classify: outcome.kind must be 'response' or 'error', got ${String((outcome as { kind: unknown }).kind)}`,
  );
}

function classifyResponse(
  status: number,
  headers: HeadersLike,
  request: RequestFacts,
  policy: Policy,
  context: ClassifyContext,
): Verdict {
  if (!Number.isInteger(status) || status < 0 || status > 999) {
    throw new RangeError(
      `breakwater: classify: response status must be an integer from 0 to 999, got ${String(status)}`,
    );
  }
  const breaker = responseBreaker(status, policy);
  if (policy.permanentStatuses.includes(status)) return { action: 'return', breaker, reason: 'permanent' };

  const { retry } = policy;
  const anyMethod = retry.retryAnyMethodStatuses.includes(status);
  if (anyMethod || retry.statuses.includes(status)) {
    let delayMs = parseRetryAfter(headers, context.now)?.delayMs;
    if (policy.throttle.rateLimitHeaders) {
      delayMs = withQuotaReset(delayMs, parseRateLimit(headers, context.now), retry.maxRetryAfterMs);
    }
    // A 429 that asks for no pause (none, 0, a past date) is still over its rate: the throttling backoff.
    const hint = !delayMs && status === 429 ? { throttled: true } : delayMs === undefined ? {} : { delayMs };
    const reason: VerdictReason = status === 429 ? 'throttled' : 'transient-status';
    if (!anyMethod && !isIdempotent(request, retry)) {
      return { action: 'return', breaker, reason: 'not-idempotent', ...hint };
    }
    if (delayMs !== undefined && delayMs > retry.maxRetryAfterMs) {
      return { action: 'return', breaker, reason: 'retry-after-exceeds-cap', delayMs };
    }
    return { action: 'retry', breaker, reason, ...hint };
  }

  const reason: VerdictReason = status < 400 ? 'success' : status < 500 ? 'client-error' : 'server-error';
  return { action: 'return', breaker, reason };
}

/**
 * The wait the throttle gate will impose on a retry: the later of the server's delay and a spent
 * quota's reset. A reset already past (0) adds nothing, so the backoff applies. A policy's window is
 * only the longest the reset can take: capped at `capMs` rather than given up on.
 */
function withQuotaReset(delayMs: number | undefined, quota: QuotaSpent | undefined, capMs: number) {
  if (!quota?.resetMs) return delayMs;
  const reset = quota.fromWindow ? Math.min(quota.resetMs, capMs) : quota.resetMs;
  return Math.max(delayMs ?? 0, reset);
}

function responseBreaker(status: number, policy: Policy): Verdict['breaker'] {
  if (!policy.breaker.enabled || policy.permanentStatuses.includes(status)) return 'ignore';
  if (policy.breaker.failureStatuses.includes(status)) return 'failure';
  if (policy.retry.statuses.includes(status) || policy.retry.retryAnyMethodStatuses.includes(status)) {
    return 'ignore';
  }
  return status < 500 ? 'success' : 'ignore';
}

function classifyError(
  error: unknown,
  request: RequestFacts,
  policy: Policy,
  context: ClassifyContext,
): Verdict {
  const recognized = recognizeError(error);
  const code = recognized.code === undefined ? {} : { errorCode: recognized.code };
  // The caller's own signal wins over whatever the runtime made of it (a custom abort reason is
  // often a plain value): the caller asked to stop, so nothing is retried or counted.
  if (context.callerAborted === true || recognized.kind === 'abort') {
    return { action: 'return', breaker: 'ignore', reason: 'aborted', errorKind: 'abort', ...code };
  }
  if (recognized.kind === 'unknown') {
    return { action: 'return', breaker: 'ignore', reason: 'unknown-error', errorKind: 'unknown', ...code };
  }

  const timeout = recognized.kind === 'timeout';
  const retryable = timeout ? policy.retry.timeouts : policy.retry.networkErrors;
  const counts = timeout ? policy.breaker.timeouts : policy.breaker.networkErrors;
  const breaker = policy.breaker.enabled && counts ? 'failure' : 'ignore';
  const reason: VerdictReason = timeout ? 'timeout' : 'network-error';
  const facts = { errorKind: recognized.kind, ...code };
  if (!retryable) return { action: 'return', breaker, reason, ...facts };
  if (!isIdempotent(request, policy.retry))
    return { action: 'return', breaker, reason: 'not-idempotent', ...facts };
  return { action: 'retry', breaker, reason, ...facts };
}
