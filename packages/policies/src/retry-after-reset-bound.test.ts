import { describe, expect, it } from 'vitest';
import { parseRateLimit } from './rate-limit-headers.ts';
import { parseRetryAfter } from './retry-after.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
/** 30 s from NOW as epoch seconds: a reset some servers send where the drafts ask for delta seconds. */
const EPOCH_RESET = String(NOW / 1000 + 30);

/**
 * A RateLimit reset of 10^9 s or more is no delay (it is 31 years): README's RateLimit table calls
 * such a value garbage and ignores it. parseRateLimit (the gate's spent quota) always did; the server
 * delay a 429's retry waits for must read the same headers the same way, or one value is ignored on a
 * 200 and taken for a 56-year wait on a 429.
 */
describe('RateLimit resets of 10^9 s and more are ignored as server delays, as they are as quotas', () => {
  it.each([
    [
      'RateLimit-Reset with RateLimit-Remaining: 0',
      { 'RateLimit-Remaining': '0', 'RateLimit-Reset': EPOCH_RESET },
    ],
    ['RateLimit-Reset alone', { 'RateLimit-Reset': EPOCH_RESET }],
    ['RateLimit-Reset of exactly 10^9', { 'RateLimit-Reset': '1000000000' }],
    ['the IETF field', { RateLimit: `"default";r=0;t=${EPOCH_RESET}` }],
  ])('%s', (_, init) => {
    const headers = new Headers(init);
    expect(parseRetryAfter(headers, NOW)).toBeUndefined();
    expect(parseRateLimit(headers, NOW)).toBeUndefined();
  });

  it('a delta just below 10^9 s is still a delay (the bound is the quota reader’s)', () => {
    const headers = new Headers({ 'RateLimit-Reset': '999999999' });
    expect(parseRetryAfter(headers, NOW)).toEqual({ delayMs: 999_999_999_000, source: 'ratelimit' });
    expect(parseRetryAfter(new Headers({ RateLimit: '"default";r=0;t=999999999' }), NOW)?.delayMs).toBe(
      999_999_999_000,
    );
  });

  it('a garbage reset falls through to a valid one, as any garbage does', () => {
    const headers = new Headers({ RateLimit: `"default";r=0;t=${EPOCH_RESET}`, 'RateLimit-Reset': '12' });
    expect(parseRetryAfter(headers, NOW)).toEqual({ delayMs: 12_000, source: 'ratelimit' });
  });
});
