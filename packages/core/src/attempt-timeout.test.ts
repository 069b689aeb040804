import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOCK_TICK_MS, COARSE_FROM_MS } from './attempt-clock.ts';
import { TimeoutError } from './errors.ts';
import { fakeFetch, hang, hangingFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const realSetInterval = globalThis.setInterval;

const URL_A = 'https://api.test/v1/things';
const ONE_ATTEMPT = { retry: { maxAttempts: 1 } };

/** Never answers; rejects with the signal's reason once it aborts. */

describe('attempt timeout precision (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const attemptMs of [1_000, 5_000, 10_000]) {
    it(`an attempt timeout of ${attemptMs} ms fires in [${attemptMs}, ${attemptMs + CLOCK_TICK_MS}] ms`, async () => {
      const fetch = hangingFetch();
      const wrapped = wrapFetch(fetch, {
        policy: { ...ONE_ATTEMPT, timeout: { attemptMs, totalMs: 60_000 } },
      });
      const call = wrapped(URL_A).catch((error: unknown) => error);
      await vi.advanceTimersByTimeAsync(attemptMs - 1);
      expect(fetch.calls[0]?.signal?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1 + CLOCK_TICK_MS);
      expect(fetch.calls[0]?.signal?.aborted).toBe(true);
      const error = await call;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).scope).toBe('attempt');
    });
  }

  it(`an attempt timeout under ${COARSE_FROM_MS} ms fires on time, to the millisecond`, async () => {
    const fetch = hangingFetch();
    const wrapped = wrapFetch(fetch, {
      policy: { ...ONE_ATTEMPT, timeout: { attemptMs: 300, totalMs: 60_000 } },
    });
    const call = wrapped(URL_A).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(299);
    expect(fetch.calls[0]?.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch.calls[0]?.signal?.aborted).toBe(true);
    expect(((await call) as TimeoutError).scope).toBe('attempt');
  });

  it(`the total deadline cutting an attempt fires in [totalMs, totalMs + ${CLOCK_TICK_MS}] ms`, async () => {
    // The second attempt starts at 2 s with 3 s left of the call: its timeout is the deadline's.
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '2' } }, hang);
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 3_000, totalMs: 5_000 } } });
    const call = wrapped(URL_A).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(fetch.calls).toHaveLength(2);
    expect(fetch.calls[1]?.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1 + CLOCK_TICK_MS);
    expect(fetch.calls[1]?.signal?.aborted).toBe(true);
    // The call ends then, on the 503 it had (held whole: it has no body), as a retry the deadline cuts does.
    expect(((await call) as Response).status).toBe(503);
  });

  it('a step of the wall clock (NTP, a resumed VM) neither fires an attempt timeout early nor holds it back', async () => {
    const fetch = hangingFetch();
    const wrapped = wrapFetch(fetch, {
      policy: { ...ONE_ATTEMPT, timeout: { attemptMs: 10_000, totalMs: 60_000 } },
    });
    const call = wrapped(URL_A).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    vi.setSystemTime(Date.now() + 20_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetch.calls[0]?.signal?.aborted).toBe(false);
    vi.setSystemTime(Date.now() - 60_000);
    await vi.advanceTimersByTimeAsync(10_000 - 1_050 + CLOCK_TICK_MS);
    expect(fetch.calls[0]?.signal?.aborted).toBe(true);
    expect(((await call) as TimeoutError).scope).toBe('attempt');
  });

  it('attempts in flight share one timer, and none runs once they end', async () => {
    const fetch = hangingFetch();
    const wrapped = wrapFetch(fetch, {
      policy: { ...ONE_ATTEMPT, timeout: { attemptMs: 5_000, totalMs: 60_000 } },
    });
    const calls = Array.from({ length: 32 }, () => wrapped(URL_A).catch((error: unknown) => error));
    await vi.advanceTimersByTimeAsync(10);
    expect(fetch.calls).toHaveLength(32);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000 + CLOCK_TICK_MS);
    for (const error of await Promise.all(calls)) expect(error).toBeInstanceOf(TimeoutError);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('calls one after the other reuse one interval; it stops at the first tick with no attempt in flight', async () => {
    const setInterval = vi.spyOn(globalThis, 'setInterval');
    try {
      const wrapped = wrapFetch(fakeFetch({ status: 200 }), { policy: { timeout: { attemptMs: 5_000 } } });
      for (let i = 0; i < 5; i++) expect((await wrapped(URL_A)).status).toBe(200);
      expect(setInterval).toHaveBeenCalledTimes(1);
      // Idle, it is kept one tick more, then stopped: nothing runs for an idle wrapped fetch.
      expect(vi.getTimerCount()).toBe(1);
      await vi.advanceTimersByTimeAsync(CLOCK_TICK_MS);
      expect(vi.getTimerCount()).toBe(0);
      expect((await wrapped(URL_A)).status).toBe(200);
      expect(setInterval).toHaveBeenCalledTimes(2);
    } finally {
      setInterval.mockRestore();
    }
  });

  it('a wrapped fetch that never reads the signal is given none to make (no AbortSignal.any per attempt)', async () => {
    const any = vi.spyOn(AbortSignal, 'any');
    try {
      const wrapped = wrapFetch(async () => new Response('{}'));
      const caller = new AbortController();
      for (let i = 0; i < 5; i++) expect((await wrapped(URL_A, { signal: caller.signal })).status).toBe(200);
      expect(any).not.toHaveBeenCalled();
    } finally {
      any.mockRestore();
    }
  });
});

describe('attempt clock and the process (real timers)', () => {
  it('holds the process open while an attempt is pending, and not once the calls have ended', async () => {
    // The clock's own interval, asked directly: a count of the process's timers also moves with the
    // runner's and undici's, which come and go between two looks (the count failed 2 runs in 9).
    const intervals: ReturnType<typeof setInterval>[] = [];
    const spy = vi.spyOn(globalThis, 'setInterval').mockImplementation(((
      ...args: Parameters<typeof setInterval>
    ) => {
      const timer = realSetInterval(...args);
      intervals.push(timer);
      return timer;
    }) as typeof setInterval);
    try {
      let answer = (_: Response): void => {};
      const wrapped = wrapFetch(() => new Promise<Response>((resolve) => (answer = resolve)), {
        policy: { ...ONE_ATTEMPT, timeout: { attemptMs: 5_000 } },
      });
      // The second call revives the interval kept after the first: it holds the process open again.
      for (let call = 0; call < 2; call++) {
        const pending = wrapped(URL_A);
        expect(intervals).toHaveLength(1);
        expect(intervals[0]?.hasRef()).toBe(true);
        answer(new Response('{}'));
        expect((await pending).status).toBe(200);
        expect(intervals[0]?.hasRef()).toBe(false);
      }
    } finally {
      spy.mockRestore();
      for (const timer of intervals) clearInterval(timer);
    }
  });
});
