import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { mergePolicy } from './merge.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const GET = { method: 'GET', headers: new Headers() };

function verdictOf(status: number, headers: Record<string, string>, policy = DEFAULT_POLICY) {
  return classify({ kind: 'response', status, headers: new Headers(headers) }, GET, policy, { now: NOW });
}

/**
 * A retryable response whose RateLimit headers say the quota is spent until a reset tells the wait as
 * surely as a Retry-After: README lists `RateLimit` among the server delays a retry waits for, and the
 * gate already holds the key until that reset. The verdict carries it, so the retry, its event, the
 * deadline check and HttpError.retryAfterMs see the wait the gate will impose.
 */
describe('classify: a spent quota is the server delay of a retryable response without Retry-After', () => {
  it.each([
    ['X-RateLimit, delta seconds', { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '30' }, 30_000],
    [
      'X-RateLimit, epoch seconds',
      { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(NOW / 1000 + 20) },
      20_000,
    ],
    [
      'RateLimit with the window of RateLimit-Policy',
      { RateLimit: '"default";r=0', 'RateLimit-Policy': '"default";q=100;w=30' },
      30_000,
    ],
  ])('429 with %s', (_, headers, delayMs) => {
    expect(verdictOf(429, headers)).toEqual({
      action: 'retry',
      breaker: 'ignore',
      reason: 'throttled',
      delayMs,
    });
    expect(verdictOf(503, headers)).toMatchObject({ action: 'retry', reason: 'transient-status', delayMs });
  });

  it('with a Retry-After too, the later of the two: the gate holds the key that long', () => {
    const quota = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '30' };
    expect(verdictOf(429, { 'Retry-After': '5', ...quota }).delayMs).toBe(30_000);
    expect(verdictOf(429, { 'Retry-After': '0', ...quota })).toMatchObject({ delayMs: 30_000 });
    expect(verdictOf(503, { 'Retry-After': '0', ...quota })).toMatchObject({ delayMs: 30_000 });
    expect(verdictOf(503, { 'Retry-After': '45', ...quota }).delayMs).toBe(45_000);
  });

  it('a reset already past adds nothing: a 503 waits its backoff, a 429 the throttling backoff', () => {
    const past = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': String(NOW / 1000 - 1) };
    expect(verdictOf(503, past)).toEqual({ action: 'retry', breaker: 'failure', reason: 'transient-status' });
    expect(verdictOf(429, past)).toMatchObject({ action: 'retry', throttled: true });
    expect(verdictOf(429, past).delayMs).toBeUndefined();
  });

  it("a policy's window longer than maxRetryAfterMs is capped, not given up on: the quota may reset sooner", () => {
    const headers = { RateLimit: '"h";r=0', 'RateLimit-Policy': '"h";q=1000;w=3600' };
    expect(verdictOf(429, headers)).toEqual({
      action: 'retry',
      breaker: 'ignore',
      reason: 'throttled',
      delayMs: DEFAULT_POLICY.retry.maxRetryAfterMs,
    });
    expect(verdictOf(503, headers)).toMatchObject({ action: 'retry', delayMs: 60_000 });
  });

  it('a reset above maxRetryAfterMs is not waited for, as a Retry-After above it', () => {
    const headers = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '3600' };
    expect(verdictOf(429, headers)).toMatchObject({
      action: 'return',
      reason: 'retry-after-exceeds-cap',
      delayMs: 3_600_000,
    });
  });

  it('units left, garbage, or throttle.rateLimitHeaders: false: the throttling backoff as before', () => {
    expect(verdictOf(429, { 'X-RateLimit-Remaining': '3', 'X-RateLimit-Reset': '30' })).toMatchObject({
      throttled: true,
    });
    expect(verdictOf(429, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': 'soon' })).toMatchObject({
      throttled: true,
    });
    const off = mergePolicy(DEFAULT_POLICY, { throttle: { rateLimitHeaders: false } });
    const verdict = verdictOf(429, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '30' }, off);
    expect(verdict).toMatchObject({ throttled: true });
    expect(verdict.delayMs).toBeUndefined();
  });

  it('a response that is not retried reads nothing', () => {
    expect(verdictOf(200, { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '30' })).toEqual({
      action: 'return',
      breaker: 'success',
      reason: 'success',
    });
  });
});
