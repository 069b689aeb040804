import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';
const KEY = 'default https://api.test';

/** `call`, and the fake clock's time when it settled (undefined until then). */
function timed<T>(call: Promise<T>): { call: Promise<T>; settledAt: () => number | undefined } {
  let at: number | undefined;
  return {
    call: call.finally(() => {
      at = Date.now();
    }),
    settledAt: () => at,
  };
}

describe("a retry's wait ends when the breaker starts refusing (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-27T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('isolated by hand during a 3 s Retry-After: the call ends at once on the 503 it had', async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '3' } });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { onEvent: (event) => events.push(event) });
    const { call, settledAt } = timed(wrapped(URL_A));
    await vi.advanceTimersByTimeAsync(200);
    const isolatedAt = Date.now();
    wrapped.isolate(KEY);
    await vi.advanceTimersByTimeAsync(0);
    expect(settledAt()).toBe(isolatedAt);
    expect((await call).status).toBe(503);
    expect(fetch.calls).toHaveLength(1);
    expect(events.find((event) => event.type === 'give-up')).toMatchObject({ reason: 'circuit-open' });
  });

  it("opened by other calls' failures during the wait: the waiting call ends then, sending nothing more", async () => {
    // The first call's 503 asks for 3 s; four more 500s open the breaker (5 consecutive failures).
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '3' } }, { status: 500 });
    const wrapped = wrapFetch(fetch);
    const start = Date.now();
    const { call: waiting, settledAt } = timed(wrapped(URL_A));
    await vi.advanceTimersByTimeAsync(100);
    for (let i = 0; i < 4; i++) await wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(wrapped.breakers()[0]?.state).toBe('open');
    // Settled as the breaker opened (100 ms in), not at the end of the 3 s wait.
    expect(settledAt()).toBe(start + 100);
    expect((await waiting).status).toBe(503);
    expect(fetch.calls).toHaveLength(5);
  });

  it("the caller's abort during the wait still rejects with the caller's reason", async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '3' } });
    const wrapped = wrapFetch(fetch);
    const controller = new AbortController();
    const call = wrapped(URL_A, { signal: controller.signal }).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(200);
    controller.abort(new Error('stop'));
    await vi.advanceTimersByTimeAsync(0);
    expect(((await call) as Error).message).toBe('stop');
  });

  it('a breaker whose probe falls due before the retry wakes nothing: the retry goes then, as the probe', async () => {
    // The first call's 503 asks for 10 s; another call's 500 opens the breaker (2 failures) at 100 ms,
    // its probe due 1 s later: the retry at 10 s is let through.
    const fetch = fakeFetch(
      { status: 503, headers: { 'retry-after': '10' } },
      { status: 500 },
      { status: 200 },
    );
    const wrapped = wrapFetch(fetch, {
      policy: { breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 }, retry: { maxAttempts: 2 } },
    });
    const waiting = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(100);
    await wrapped(URL_A, { method: 'POST' });
    expect(wrapped.breakers()[0]?.state).toBe('open');
    await vi.advanceTimersByTimeAsync(11_000);
    expect((await waiting).status).toBe(200);
    expect(fetch.calls).toHaveLength(3);
  });

  it("isolated during the retry's own 429 delay: the call ends at once too", async () => {
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '3' } });
    const wrapped = wrapFetch(fetch);
    const start = Date.now();
    const { call, settledAt } = timed(wrapped(URL_A));
    await vi.advanceTimersByTimeAsync(200);
    wrapped.isolate(KEY);
    await vi.advanceTimersByTimeAsync(0);
    expect(settledAt()).toBe(start + 200);
    expect((await call).status).toBe(429);
  });

  it("a retry held at a gate another call's 429 closed ends when the breaker is isolated, not when the gate reopens", async () => {
    // Call A's 503 asks for 1 s; call B's 429 at 500 ms closes the gate for 10 s: A's retry, due at
    // 1 s, waits at the gate; the key is isolated at 2 s.
    const fetch = fakeFetch(
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '10' } },
      { status: 200 },
    );
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { onEvent: (event) => events.push(event) });
    const start = Date.now();
    const a = timed(wrapped(URL_A));
    await vi.advanceTimersByTimeAsync(500);
    const b = timed(wrapped(URL_A));
    await vi.advanceTimersByTimeAsync(1_500);
    expect(a.settledAt()).toBeUndefined();
    wrapped.isolate(KEY);
    await vi.advanceTimersByTimeAsync(0);
    expect(a.settledAt()).toBe(start + 2_000);
    expect(b.settledAt()).toBe(start + 2_000);
    expect((await a.call).status).toBe(503);
    expect((await b.call).status).toBe(429);
    expect(fetch.calls).toHaveLength(2);
    const giveUps = events.filter((event) => event.type === 'give-up');
    expect(giveUps.map((event) => (event as { reason: string }).reason)).toEqual([
      'circuit-open',
      'circuit-open',
    ]);
  });

  it('a retry held at a closed gate goes when it reopens, the breaker closed throughout', async () => {
    const fetch = fakeFetch(
      { status: 503, headers: { 'retry-after': '1' } },
      { status: 429, headers: { 'retry-after': '10' } },
      { status: 200 },
    );
    const wrapped = wrapFetch(fetch);
    const start = Date.now();
    const a = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(500);
    const b = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(11_000);
    expect((await a).status).toBe(200);
    expect((await b).status).toBe(200);
    // Both retries held until the gate reopened (10.5 s, and the clock's grain); the second then
    // paced, the key recovering from its 429.
    const reopened = 10_500 + CLOCK_GRAIN_MS;
    const sent = fetch.calls.map((c) => c.at - start);
    expect(sent.slice(0, 3)).toEqual([0, 500, reopened]);
    expect(sent[3]).toBeGreaterThanOrEqual(reopened);
  });

  it("isolated and reset in one turn: the wait goes on, and the retry goes when the server's Retry-After ends", async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '3' } }, { status: 200 });
    const wrapped = wrapFetch(fetch);
    const start = Date.now();
    const call = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(200);
    wrapped.isolate(KEY);
    wrapped.reset(KEY);
    await vi.advanceTimersByTimeAsync(5_000);
    expect((await call).status).toBe(200);
    expect(fetch.calls.map((c) => c.at - start)).toEqual([0, 3_000]);
  });
});
