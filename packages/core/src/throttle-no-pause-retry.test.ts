import pRetry from 'p-retry';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent, RetryEvent, ThrottledEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { pRetryOptions } from './p-retry.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const NO_PAUSE = [
  ['Retry-After: 0', '0'],
  ['a Retry-After date in the past', new Date(NOW - 5_000).toUTCString()],
] as const;

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * README: "A 429 with no delay, `Retry-After: 0` or a date in the past closes it for the throttling
 * backoff": the client is over its rate whatever pause it was told. The call's own retry decision took
 * the 0 as the server's delay: its `retry` event said `delayMs: 0` from the server while the gate held
 * the attempt for the throttling backoff, and the p-retry and cockatiel adapters, which have no gate,
 * retried the 429 at once, every attempt straight into the throttle.
 */
describe('a 429 that asks for no pause is retried after the throttling backoff', () => {
  it.each(NO_PAUSE)('%s: wrapFetch tells the wait it makes', async (_, retryAfter) => {
    const fetch = fakeFetch({ status: 429, headers: { 'Retry-After': retryAfter } }, { status: 200 });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { onEvent: (e) => events.push(e), random: () => 0.5 });
    const pending = wrapped('https://api.test/v1/items');
    await vi.runAllTimersAsync();
    expect((await pending).status).toBe(200);
    const retry = events.find((e): e is RetryEvent => e.type === 'retry');
    const throttled = events.find((e): e is ThrottledEvent => e.type === 'throttled');
    expect(retry).toMatchObject({ delaySource: 'backoff', reason: 'throttled' });
    expect(retry?.delayMs).toBeGreaterThanOrEqual(1_000);
    expect(throttled).toMatchObject({ source: 'backoff' });
    const [first, second] = fetch.calls;
    // Held at the gate its 429 closed, which ends a clock grain past the delay (throttle-gate.ts).
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBe((retry?.delayMs ?? 0) + CLOCK_GRAIN_MS);
  });

  it.each(NO_PAUSE)('%s: pRetryOptions waits the throttling backoff', async (_, retryAfter) => {
    const sentAt: number[] = [];
    const call = async (): Promise<string> => {
      sentAt.push(Date.now());
      if (sentAt.length === 1) {
        throw Object.assign(new Error('HTTP 429'), { status: 429, headers: { 'retry-after': retryAfter } });
      }
      return 'ok';
    };
    const pending = pRetry(call, pRetryOptions({ method: 'GET', random: () => 0 }));
    await vi.runAllTimersAsync();
    expect(await pending).toBe('ok');
    expect((sentAt[1] ?? 0) - (sentAt[0] ?? 0)).toBe(1_000);
  });
});
