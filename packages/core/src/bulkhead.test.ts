import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BulkheadRejectedError, TimeoutError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, hangingFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fetch that answers 200 after `ms` of (fake) time, or rejects with its signal's reason. */
function slowFetch(ms: number): ReturnType<typeof fakeFetch> {
  return fakeFetch(
    (call) =>
      new Promise<Response>((resolve, reject) => {
        const timer = setTimeout(() => resolve(new Response('ok')), ms);
        call.signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(call.signal?.reason);
        });
      }),
  );
}

/** When (ms after the start) and how a call settled. */
function track(
  promise: Promise<Response>,
  t0: number,
): Promise<{ at: number; value?: Response; error?: unknown }> {
  return promise.then(
    (value) => ({ at: Date.now() - t0, value }),
    (error: unknown) => ({ at: Date.now() - t0, error }),
  );
}

describe('a call queued at the bulkhead', () => {
  it("leaves the queue at once on the caller's abort, with the abort reason; its slot is not used", async () => {
    const fetch = slowFetch(5_000);
    const wrapped = wrapFetch(fetch, { policy: { bulkhead: { maxConcurrent: 1, maxQueued: 1 } } });
    const t0 = Date.now();
    const running = track(wrapped(URL_A), t0);
    const controller = new AbortController();
    const queued = track(wrapped(URL_A, { signal: controller.signal }), t0);
    await vi.advanceTimersByTimeAsync(200);
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await vi.advanceTimersByTimeAsync(0);
    expect(await Promise.race([queued, 'pending'])).toEqual({ at: 200, error: reason });

    // The queue place it held is free again: another call queues instead of being rejected...
    const next = track(wrapped(URL_A), t0);
    await vi.runAllTimersAsync();
    expect((await running).value?.status).toBe(200);
    // ...and runs as soon as the first call ends; the aborted call never reached fetch.
    expect(await next).toMatchObject({ at: 10_000, value: expect.objectContaining({ status: 200 }) });
    expect(fetch.calls.map((c) => c.at - t0)).toEqual([0, 5_000]);
  });

  it('leaves the queue by its total deadline with TimeoutError (scope total), never reaching fetch', async () => {
    const fetch = hangingFetch();
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      onEvent: (e) => events.push(e),
      policy: { bulkhead: { maxConcurrent: 1, maxQueued: 4 }, timeout: { attemptMs: 1_500, totalMs: 1_500 } },
    });
    const t0 = Date.now();
    const calls = Array.from({ length: 5 }, () => track(wrapped(URL_A), t0));
    await vi.advanceTimersByTimeAsync(1_500);
    const settled = await Promise.all(calls);
    // Before: the queued calls settled at 3, 4.5, 6 and 7.5 s, each deadline starting at its slot.
    expect(settled.map((s) => s.at)).toEqual([1_500, 1_500, 1_500, 1_500, 1_500]);
    for (const s of settled) {
      expect(s.error).toBeInstanceOf(TimeoutError);
      expect(s.error).toMatchObject({ scope: 'total', timeoutMs: 1_500 });
    }
    expect(settled.slice(1).map((s) => (s.error as TimeoutError).attempts)).toEqual([0, 0, 0, 0]);
    expect(fetch.calls).toHaveLength(1);
    expect(events.filter((e) => e.type === 'timeout')).toHaveLength(5);
    expect(wrapped.breakers()[0]).toMatchObject({ inFlight: 0 });
  });

  it('gets the slot when one frees up, in arrival order; a full queue still rejects at once', async () => {
    const fetch = slowFetch(1_000);
    const wrapped = wrapFetch(fetch, { policy: { bulkhead: { maxConcurrent: 2, maxQueued: 2 } } });
    const t0 = Date.now();
    const calls = Array.from({ length: 4 }, () => track(wrapped(URL_A), t0));
    const rejected = await track(wrapped(URL_A), t0);
    expect(rejected.error).toBeInstanceOf(BulkheadRejectedError);
    await vi.runAllTimersAsync();
    expect((await Promise.all(calls)).map((s) => s.at)).toEqual([1_000, 1_000, 2_000, 2_000]);
    expect(fetch.calls.map((c) => c.at - t0)).toEqual([0, 0, 1_000, 1_000]);
  });
});
