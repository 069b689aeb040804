import { MAX_TIMER_MS } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledError } from './errors.ts';
import type { BreakwaterEvent, ThrottledEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { HttpError } from './http-error.ts';
import { sleep } from './sleep.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/orders';
const NOW = Date.parse('2026-11-24T12:00:00Z');
/** The default `retry.maxRetryAfterMs`. */
const CAP_MS = 60_000;

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

function recorder(): { events: BreakwaterEvent[]; onEvent: (e: BreakwaterEvent) => void } {
  const events: BreakwaterEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

const throttledEvents = (events: BreakwaterEvent[]): ThrottledEvent[] =>
  events.filter((e): e is ThrottledEvent => e.type === 'throttled');

describe.each([
  { header: '99999999999999999999', realDelayMs: Number.MAX_SAFE_INTEGER },
  { header: 'Fri, 31 Dec 9999 23:59:59 GMT', realDelayMs: Date.UTC(9999, 11, 31, 23, 59, 59) - NOW },
])('one 429 with Retry-After: $header', ({ header, realDelayMs }) => {
  const lockingFetch = () => fakeFetch({ status: 429, headers: { 'retry-after': header } }, { status: 200 });

  it('closes the gate for retry.maxRetryAfterMs at most; later calls get through', async () => {
    const fetch = lockingFetch();
    const wrapped = wrapFetch(fetch, { random: () => 0 });
    expect((await wrapped(URL_A)).status).toBe(429);
    expect(wrapped.breakers()[0]?.throttledUntil).toBe(NOW + CAP_MS + CLOCK_GRAIN_MS);

    // Inside the closure, a call whose deadline (30 s) comes first is refused at once, told the gate's
    // real remaining time, not 24.8 days.
    const refused = await wrapped(URL_A).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ThrottledError);
    expect((refused as ThrottledError).retryAfterMs).toBe(CAP_MS + CLOCK_GRAIN_MS);
    expect(fetch.calls).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(CAP_MS + CLOCK_GRAIN_MS);
    const later = await wrapped(URL_A);
    expect(later.status).toBe(200);
    expect(wrapped.breakers()[0]?.throttledUntil).toBeNull();
  });

  it('a call arriving while the gate is closed waits at most the cap, not 24.8 days', async () => {
    const fetch = lockingFetch();
    const wrapped = wrapFetch(fetch, { random: () => 0, policy: { timeout: { totalMs: 120_000 } } });
    expect((await wrapped(URL_A)).status).toBe(429);
    // Settled into a value at once, so that a rejection is asserted, never left unhandled.
    const waiting = wrapped(URL_A).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(CAP_MS + CLOCK_GRAIN_MS - 1);
    expect(fetch.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(((await waiting) as Response).status).toBe(200);
  });

  it('reports the real delay, not one clamped to the timer limit', async () => {
    const { events, onEvent } = recorder();
    const wrapped = wrapFetch(lockingFetch(), { onEvent, throwHttpErrors: true });
    const error = await wrapped(URL_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).retryAfterMs).toBe(realDelayMs);
    expect(throttledEvents(events)).toEqual([
      expect.objectContaining({ delayMs: realDelayMs, until: NOW + CAP_MS + CLOCK_GRAIN_MS, status: 429 }),
    ]);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'give-up', reason: 'retry-after-exceeds-cap', delayMs: realDelayMs }),
    );
  });
});

describe('sleep: never hands a timer more than 2^31-1 ms', () => {
  it('a wait longer than the timer limit lasts as long as asked (Node would fire it after 1 ms)', async () => {
    let done = false;
    const waited = sleep(MAX_TIMER_MS + 5_000, new AbortController().signal).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS - 10_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(5_000);
    await waited;
    expect(done).toBe(true);
  });

  it('a long wait still ends at once on abort', async () => {
    const controller = new AbortController();
    const waited = sleep(10 * MAX_TIMER_MS, controller.signal);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(waited).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });
});
