import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * `breaker.windowMs` and `retryBudget.windowMs` say how long a call is counted: between `windowMs`
 * and 1.1 x `windowMs` (ten buckets; a call stays until its bucket ends a whole window ago). Pinned at
 * both edges for the default 10 s: 9 calls at t=0 (4 failures, not in a row) and a failure later open
 * the breaker at 50 % of 10 calls while t=0's bucket is counted, and not once it has left.
 */
describe('the breaker window counts a call for windowMs to 1.1 x windowMs', () => {
  it.each([
    [10_000, 'open'],
    [10_999, 'open'],
    [11_000, 'closed'],
  ])('a failure %i ms after nine calls: %s', async (later, state) => {
    const script = [500, 200, 500, 200, 500, 200, 500, 200, 200];
    const fetch = fakeFetch(...script.map((status) => ({ status })), { status: 500 });
    const wrapped = wrapFetch(fetch, { policy: { retry: { maxAttempts: 1 } } });
    for (let i = 0; i < 9; i++) await wrapped('https://api.test/v1/items');
    await vi.advanceTimersByTimeAsync(later);
    await wrapped('https://api.test/v1/items');
    expect(wrapped.breakers()[0]?.state).toBe(state);
  });
});
