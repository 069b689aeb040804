import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { tokenBucketFetch } from './token-bucket.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/orders';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A call's outcome: its status, or the name of what it threw; `ms` from the start. */
interface Outcome {
  readonly result: number | string;
  readonly ms: number;
}

function track(call: Promise<Response>, t0: number): Promise<Outcome> {
  return call.then(
    (r) => ({ result: r.status, ms: Date.now() - t0 }),
    (e: unknown) => ({ result: (e as Error).name, ms: Date.now() - t0 }),
  );
}

/** The retry budget stays out of these runs: what is measured is the paced recovery alone. */
const POLICY = { retryBudget: { enabled: false } };

describe('80 callers at once against a 20/s token bucket of burst 5 (audit s22 F1)', () => {
  for (const retryAfter of [false, true]) {
    it(`every caller is served by its 30 s deadline (Retry-After ${retryAfter ? 'sent' : 'absent'})`, async () => {
      const fetch = tokenBucketFetch(20, 5, 20, retryAfter);
      const events: BreakwaterEvent[] = [];
      const wrapped = wrapFetch(fetch, { policy: POLICY, random: () => 0.5, onEvent: (e) => events.push(e) });
      const t0 = Date.now();
      const calls = Array.from({ length: 80 }, () => track(wrapped(URL_A), t0));
      await vi.advanceTimersByTimeAsync(30_000);
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o.result === 200)).toHaveLength(80);
      // The 429 came while 5 accepted answers were still on their way: the cut waited for them, and
      // was not read from the one or none that had come.
      const cuts = events.filter((e) => e.type === 'rate-change').map((e) => e.rate ?? 0);
      expect(Math.min(...cuts)).toBeGreaterThan(3);
      // The 75 refused of the first burst, and at most one more: the climb out of the burst's reading
      // (a guess, session 24) finds the bucket's rate once. Held at the burst read as a rate (5/s),
      // the last was served at 12-17 s; now by 11 s.
      expect(fetch.counts.throttledAt.filter((at) => at - t0 > 100).length).toBeLessThanOrEqual(1);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThanOrEqual(11_000);
    });
  }
});

describe('200 callers at once against a 20/s token bucket of burst 5, defaults (retry budget on, 30 s deadline)', () => {
  for (const retryAfter of [false, true]) {
    it(`every caller is served: the burst's reading is not held as the rate (Retry-After ${retryAfter ? 'sent' : 'absent'})`, async () => {
      const fetch = tokenBucketFetch(20, 5, 20, retryAfter);
      const wrapped = wrapFetch(fetch, { random: () => 0.5 });
      const t0 = Date.now();
      const calls = Array.from({ length: 200 }, () => track(wrapped(URL_A), t0));
      await vi.advanceTimersByTimeAsync(30_000);
      const outcomes = await Promise.all(calls);
      // Held at 0.95 x 5/s (session 23), 106-110 were served and the rest refused at the reopening,
      // when the queue counted their slots at that pace. Now 200, the last by 14-17 s.
      expect(outcomes.filter((o) => o.result === 200)).toHaveLength(200);
      expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThanOrEqual(18_000);
      // The climb past the bucket's rate costs a 429 or two, not one every few seconds.
      expect(fetch.counts.throttledAt.filter((at) => at - t0 > 100).length).toBeLessThanOrEqual(3);
    });
  }
});

describe('200 callers at once against a limiter really at the burst it gave (5/s, burst 5), defaults', () => {
  /** The bucket's refusals, with a Retry-After of `seconds` whatever the bucket's own wait. */
  function saying(seconds: number, fetch: ReturnType<typeof tokenBucketFetch>): typeof fetch {
    const said = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
      const answer = await fetch(input, init);
      if (answer.status !== 429) return answer;
      return new Response(null, { status: 429, headers: { 'retry-after': String(seconds) } });
    };
    return Object.assign(said, { counts: fetch.counts });
  }

  async function crowd(fetch: ReturnType<typeof tokenBucketFetch>): Promise<Outcome[]> {
    const wrapped = wrapFetch(fetch, { random: () => 0.5 });
    const t0 = Date.now();
    const calls = Array.from({ length: 200 }, () => track(wrapped(URL_A), t0));
    await vi.advanceTimersByTimeAsync(45_000);
    return Promise.all(calls);
  }

  it('after a long Retry-After (10 s) the reading is held: no climb costs a 10 s closure (review s24 P, R1)', async () => {
    const outcomes = await crowd(saying(10, tokenBucketFetch(5, 5, 20, false)));
    // Read as a burst and climbed, each 429 the climb met closed the key for 10 s: 35 served. Held as
    // before: 77, as on main.
    expect(outcomes.filter((o) => o.result === 200).length).toBeGreaterThanOrEqual(77);
  });

  it('with a 2 s service (answers out at the reopening), no caller is kept past its deadline (review s24 P, R2)', async () => {
    const outcomes = await crowd(tokenBucketFetch(5, 5, 2_000, false));
    // Kept on a climb from 0.7x the reading, 6 callers were sent at 28-29 s and timed out at 30 s.
    expect(outcomes.filter((o) => o.result === 'BreakwaterTimeoutError')).toEqual([]);
    expect(outcomes.filter((o) => o.result === 200).length).toBeGreaterThanOrEqual(106);
  });
});

describe('200 callers arriving over a second, ten at a time, at a 20/s token bucket of burst 5 (defaults)', () => {
  it('every caller is served: the first ten met the 429, and their second was a burst too', async () => {
    const fetch = tokenBucketFetch(20, 5, 20, false);
    const wrapped = wrapFetch(fetch, { random: () => 0.5 });
    const t0 = Date.now();
    const calls: Promise<Outcome>[] = [];
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 10; j++) calls.push(track(wrapped(URL_A), t0));
      await vi.advanceTimersByTimeAsync(50);
    }
    await vi.advanceTimersByTimeAsync(30_000);
    const outcomes = await Promise.all(calls);
    // Held at 0.95 x 5/s (session 23): 109 served, 91 refused at the reopening.
    expect(outcomes.filter((o) => o.result === 200)).toHaveLength(200);
  });
});

describe('80 callers at once against a 20/s token bucket another client has just spent', () => {
  it('all refused: the cut is no higher than what was sent in that second, not the burst read as 800/s', async () => {
    const fetch = tokenBucketFetch(20, 5, 20, true);
    for (let i = 0; i < 5; i++) void fetch(URL_A);
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { policy: POLICY, random: () => 0.5, onEvent: (e) => events.push(e) });
    const t0 = Date.now();
    const calls = Array.from({ length: 80 }, () => track(wrapped(URL_A), t0));
    await vi.advanceTimersByTimeAsync(30_000);
    expect((await Promise.all(calls)).filter((o) => o.result === 200)).toHaveLength(80);
    // 0.7 x 80 requests over the second's 950 ms counted: 59/s, until the reopening finds the rate.
    const cuts = events.filter((e) => e.type === 'rate-change').map((e) => e.rate ?? 0);
    for (const cut of cuts) expect(cut).toBeLessThanOrEqual((0.7 * 80) / 0.95);
    expect(fetch.counts.throttledAt.filter((at) => at - t0 > 100).length).toBeLessThanOrEqual(1);
  });
});

describe('a token bucket below 5/s (2/s, burst 1), offered 4 calls/s for a minute', () => {
  for (const retryAfter of [false, true]) {
    it(`draws a 429 only now and then: the rate it accepted is held, not overshot again and again (Retry-After ${retryAfter ? 'sent' : 'absent'})`, async () => {
      const fetch = tokenBucketFetch(2, 1, 20, retryAfter);
      const wrapped = wrapFetch(fetch, { policy: POLICY, random: () => 0.5 });
      const t0 = Date.now();
      const calls: Promise<Outcome>[] = [];
      for (let i = 0; i < 240; i++) {
        calls.push(track(wrapped(URL_A), t0));
        await vi.advanceTimersByTimeAsync(250);
      }
      await vi.advanceTimersByTimeAsync(30_000);
      const outcomes = await Promise.all(calls);
      // Before (session 22's guessed cut from fewer than 5 answers): 20 and 29 429s, 48 and 58 served,
      // its convex half overshooting again and again. On main before this change: 5 and 4, 76 and 81.
      expect(fetch.counts.throttled).toBeLessThanOrEqual(5);
      expect(outcomes.filter((o) => o.result === 200).length).toBeGreaterThanOrEqual(75);
    });
  }
});

describe('a slow upstream (service longer than the cool-down): answers still out at every reopening', () => {
  for (const [serveMs, retryAfter] of [
    [1_500, true],
    [3_000, false],
  ] as const) {
    it(`a 2/s bucket of burst 1 serving in ${serveMs} ms, offered 4/s for 2 minutes, is not overshot again and again (Retry-After ${retryAfter ? 'sent' : 'absent'})`, async () => {
      const fetch = tokenBucketFetch(2, 1, serveMs, retryAfter);
      const wrapped = wrapFetch(fetch, { policy: POLICY, random: () => 0.5 });
      const t0 = Date.now();
      const calls: Promise<Outcome>[] = [];
      for (let i = 0; i < 480; i++) {
        calls.push(track(wrapped(URL_A), t0));
        await vi.advanceTimersByTimeAsync(250);
      }
      await vi.advanceTimersByTimeAsync(40_000);
      await Promise.all(calls);
      // The cut counted from answers still out is an upper bound held by the concave half. Taken as a
      // guess (review s23), its convex half ran past it at every reopening: 35-40 429s after the first
      // 10 s, against 4 on main before this change.
      const late = fetch.counts.throttledAt.filter((at) => at - t0 > 10_000).length;
      expect(late).toBeLessThanOrEqual(8);
    }, 30_000);
  }
});

describe('callers kept on the climb of a burst reading, with a 1 s deadline (review s24 P)', () => {
  for (const later of [200, 429]) {
    it(`none outlives its deadline when the later answers are ${later}s`, async () => {
      const fetch = fakeFetch(
        { status: 200 },
        { status: 200 },
        { status: 429, headers: { 'retry-after': '1' } },
        { status: 200 },
        { status: later, headers: later === 429 ? { 'retry-after': '5' } : {} },
      );
      const timeout = { attemptMs: 1_000, totalMs: 1_000 };
      const wrapped = wrapFetch(fetch, { policy: { timeout, retry: { maxAttempts: 1 } }, random: () => 0 });
      // Three at once: a burst read at the 429, the key then paced on its climb.
      await Promise.all([wrapped(URL_A), wrapped(URL_A), wrapped(URL_A)]);
      // The gate reopens a clock grain past the 429's second (throttle-gate.ts): the probe goes then.
      await vi.advanceTimersByTimeAsync(1_000 + CLOCK_GRAIN_MS);
      await wrapped(URL_A);
      const t0 = Date.now();
      const calls = Array.from({ length: 10 }, () => track(wrapped(URL_A), t0));
      await vi.advanceTimersByTimeAsync(5_000);
      const outcomes = await Promise.all(calls);
      expect(outcomes.filter((o) => o.ms > 1_000)).toEqual([]);
    });
  }
});
