import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent, ThrottledEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a 429 that asks for no pause still closes the gate', () => {
  it.each([
    ['Retry-After: 0', '0'],
    ['a Retry-After date in the past', new Date(NOW - 5_000).toUTCString()],
  ])('%s: the throttling backoff closes the gate, cuts the rate and is told', async (_, retryAfter) => {
    const fetch = fakeFetch({ status: 429, headers: { 'Retry-After': retryAfter } });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      onEvent: (e) => events.push(e),
      policy: { timeout: { totalMs: 3_000 } },
    });
    const calls = Array.from({ length: 10 }, () =>
      wrapped(URL_A).then(
        (r) => r.status,
        (e: Error) => e.name,
      ),
    );
    await vi.runAllTimersAsync();
    await Promise.all(calls);
    const throttled = events.filter((e): e is ThrottledEvent => e.type === 'throttled');
    expect(throttled[0]).toMatchObject({ source: 'backoff', status: 429 });
    expect(events.find((e) => e.type === 'rate-change')).toMatchObject({ reason: 'throttled' });
    // The ten first attempts went out together; no retry went into the announced closure.
    const first = throttled[0] as ThrottledEvent;
    const early = fetch.calls.filter((c) => c.at > first.at && c.at < first.until);
    expect(early).toEqual([]);
    expect(fetch.calls.filter((c) => c.at === NOW)).toHaveLength(10);
  });
});
