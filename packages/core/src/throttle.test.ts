import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/orders';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Answers 429 Retry-After: 2 to the first request, 200 to every other. */
function throttledOnce(): ReturnType<typeof fakeFetch> {
  return fakeFetch({ status: 429, headers: { 'retry-after': '2' } }, { status: 200 });
}

describe('throttle gate', () => {
  it('one caller told to wait 2 s holds every caller of the endpoint for 2 s, then the probe goes alone and the rest follow paced', async () => {
    const events: BreakwaterEvent[] = [];
    const fetch = throttledOnce();
    const wrapped = wrapFetch(fetch, { onEvent: (e) => events.push(e), random: () => 0 });
    const t0 = Date.now();
    const first = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.calls).toHaveLength(1);
    const others = Array.from({ length: 9 }, () => wrapped(URL_A));
    await vi.advanceTimersByTimeAsync(100);
    // The nine, and the 429's own retry, which waits out its Retry-After at the gate, in its place.
    expect(wrapped.breakers()[0]).toMatchObject({
      throttledUntil: t0 + 2_000 + CLOCK_GRAIN_MS,
      waiting: 10,
      throttlePhase: 'closed',
    });

    await vi.advanceTimersByTimeAsync(1_899);
    expect(fetch.calls).toHaveLength(1);
    await vi.runAllTimersAsync();
    const results = await Promise.all([first, ...others]);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const sentAt = fetch.calls.slice(1).map((c) => c.at - t0);
    expect(sentAt).toHaveLength(10);
    // Nothing accepted yet: the rate is cut from what was sent, one request (10/s over the shortest
    // span measured, 100 ms), to 0.7 x 10/s.
    const [cut] = events.filter((e) => e.type === 'rate-change');
    expect(cut).toMatchObject({ rate: expect.closeTo(7, 9), reason: 'throttled' });
    // The probe goes alone the moment the gate opens; the next send one interval of 7/s later, and
    // each later one a slot of the (rising) rate after the one before: never two in the same moment.
    expect(sentAt[0]).toBe(2_000 + CLOCK_GRAIN_MS);
    expect(sentAt[1]).toBe(2_000 + CLOCK_GRAIN_MS + Math.ceil(1_000 / 7));
    expect(new Set(sentAt).size).toBe(10);
    // The rate only rises while nothing is refused: no gap is longer than the first, so the tenth send
    // leaves at most nine slots of 7/s after the probe.
    const gaps = sentAt.slice(1).map((at, i) => at - (sentAt[i] ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThan(0);
    for (const gap of gaps) expect(gap).toBeLessThanOrEqual(Math.ceil(1_000 / 7));
    expect(events.filter((e) => e.type === 'throttled')).toMatchObject([{ delayMs: 2_000, status: 429 }]);
    expect(events.filter((e) => e.type === 'gate-open')).toHaveLength(1);
    expect(wrapped.breakers()[0]).toMatchObject({ throttlePhase: 'paced', throttledUntil: null });
  });

  it("an occasional 503 with Retry-After delays only its own call's retry, not the other callers", async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '1' } }, { status: 200 });
    const wrapped = wrapFetch(fetch);
    const t0 = Date.now();
    const first = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const second = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.calls).toHaveLength(2);
    expect(wrapped.breakers()[0]?.throttledUntil).toBeNull();
    expect((await second).status).toBe(200);
    await vi.runAllTimersAsync();
    expect((await first).status).toBe(200);
    // The call that got the 503 retried after the server's delay.
    expect((fetch.calls[2]?.at ?? 0) - t0).toBeGreaterThanOrEqual(1_000);
  });

  it('503s with Retry-After on every request (an outage) close the gate for every caller after a few', async () => {
    const events: BreakwaterEvent[] = [];
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '2' } });
    const wrapped = wrapFetch(fetch, {
      onEvent: (e) => events.push(e),
      policy: { retry: { maxAttempts: 1 }, breaker: { enabled: false } },
    });
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) expect((await wrapped(URL_A)).status).toBe(503);
    expect(wrapped.breakers()[0]?.throttledUntil).toBe(t0 + 2_000 + CLOCK_GRAIN_MS);
    const waiting = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(fetch.calls).toHaveLength(3);
    await vi.runAllTimersAsync();
    await waiting;
    expect((fetch.calls[3]?.at ?? 0) - t0).toBeGreaterThanOrEqual(2_000);
    // The third 503 closed the gate (the fourth, after it opened, closed it again).
    expect(events.find((e) => e.type === 'throttled')).toMatchObject({
      at: t0,
      status: 503,
      delayMs: 2_000,
      source: 'retry-after',
    });
  });

  it('a 429 without a delay header closes the gate for the throttling backoff', async () => {
    const fetch = fakeFetch({ status: 429 }, { status: 200 });
    const wrapped = wrapFetch(fetch, { random: () => 0 });
    const first = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const until = wrapped.breakers()[0]?.throttledUntil ?? 0;
    // The throttling base (1 s), not the 5xx base (200 ms).
    expect(until - Date.now()).toBeGreaterThanOrEqual(1_000);
    await vi.runAllTimersAsync();
    expect((await first).status).toBe(200);
  });

  it("abort while waiting at the gate settles with the caller's reason and sends nothing", async () => {
    const fetch = throttledOnce();
    const wrapped = wrapFetch(fetch);
    void wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const controller = new AbortController();
    const waiting = wrapped(URL_A, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    await vi.runAllTimersAsync();
    // The first caller's retry is the only other request.
    expect(fetch.calls).toHaveLength(2);
  });

  it('a call whose deadline comes before the gate opens fails at once with ThrottledError, sending nothing', async () => {
    const fetch = throttledOnce();
    const wrapped = wrapFetch(fetch, { policy: { timeout: { totalMs: 1_000, attemptMs: 1_000 } } });
    void wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const sent = fetch.calls.length;
    // No timer runs: the refusal is immediate.
    const error = await wrapped(URL_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(2_000 + CLOCK_GRAIN_MS);
    expect((error as ThrottledError).endpoint).toBe('default https://api.test');
    expect(fetch.calls.length).toBe(sent);
  });

  for (const [status, heldAgain] of [
    [503, false],
    [429, true],
  ] as const) {
    it(`a call released from the gate is ${heldAgain ? '' : 'not '}held again by a later ${status}`, async () => {
      let answerX: (r: Response) => void = () => {};
      const unavailable = async () => new Response(null, { status: 503, headers: { 'retry-after': '1' } });
      const answers: (() => Promise<Response>)[] = [
        () => new Promise<Response>((resolve) => (answerX = resolve)),
        unavailable,
        unavailable,
        unavailable,
      ];
      const fetch = fakeFetch(async () => (answers.shift() ?? (async () => new Response(null)))());
      const wrapped = wrapFetch(fetch, { random: () => 0, policy: { retry: { maxAttempts: 1 } } });
      const t0 = Date.now();
      const x = wrapped(URL_A); // in flight while the gate closes
      // Three 503s with Retry-After: 1 in a row (the server is unavailable) close the gate until t0 + 1 s.
      for (let i = 0; i < 3; i++) await wrapped(URL_A);
      const b = wrapped(URL_A); // waits at the gate
      await vi.advanceTimersByTimeAsync(900);
      // X's answer arrives while B waits, and closes the gate again until t0 + 2.9 s.
      answerX(new Response(null, { status, headers: { 'retry-after': '2' } }));
      await x;
      await vi.advanceTimersByTimeAsync(200);
      expect(fetch.calls).toHaveLength(heldAgain ? 4 : 5);
      await vi.runAllTimersAsync();
      await b;
      expect((fetch.calls[4]?.at ?? 0) - t0).toBe((heldAgain ? 2_900 : 1_000) + CLOCK_GRAIN_MS);
    });
  }

  it('closes only for the configured statuses', async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '1' } }, { status: 200 });
    const wrapped = wrapFetch(fetch, { policy: { throttle: { statuses: [429] } } });
    void wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(wrapped.breakers()[0]?.throttledUntil).toBeNull();
    const second = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.calls).toHaveLength(2);
    expect((await second).status).toBe(200);
  });

  it('can be switched off', async () => {
    const fetch = throttledOnce();
    const wrapped = wrapFetch(fetch, { policy: { throttle: { enabled: false } } });
    void wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const second = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.calls).toHaveLength(2);
    expect((await second).status).toBe(200);
  });

  it('keyHeader gives each tenant its own gate', async () => {
    const fetch = fakeFetch((c) =>
      c.headers.get('x-tenant') === 'a'
        ? new Response(null, { status: 429, headers: { 'retry-after': '5' } })
        : new Response(null, { status: 200 }),
    );
    const wrapped = wrapFetch(fetch, {
      endpoints: [{ name: 'orders', match: '/v1/*', keyHeader: 'x-tenant' }],
      policy: { retry: { maxAttempts: 1 } },
    });
    await wrapped(URL_A, { headers: { 'x-tenant': 'a' } });
    const b = await wrapped(URL_A, { headers: { 'x-tenant': 'b' } });
    expect(b.status).toBe(200);
    const snapshots = Object.fromEntries(wrapped.breakers().map((s) => [s.key, s.throttledUntil]));
    expect(snapshots['orders https://api.test x-tenant=a']).toBe(Date.now() + 5_000 + CLOCK_GRAIN_MS);
    expect(snapshots['orders https://api.test x-tenant=b']).toBeNull();
  });
});

describe('retry budget', () => {
  it('caps amplification under 100 % failures (breaker off): at most 20 % retries plus the floor', async () => {
    const events: BreakwaterEvent[] = [];
    const fetch = fakeFetch({ status: 503 });
    const wrapped = wrapFetch(fetch, {
      onEvent: (e) => events.push(e),
      policy: { breaker: { enabled: false } },
      random: () => 0.5,
    });
    const calls = Array.from({ length: 100 }, () => wrapped(URL_A));
    await vi.runAllTimersAsync();
    const results = await Promise.all(calls);
    expect(results.every((r) => r.status === 503)).toBe(true);
    // Without the budget: 400 requests. With it: 100 first attempts + floor(10 + 0.2 x 100) retries.
    expect(fetch.calls.length).toBe(130);
    expect(
      events.filter((e) => e.type === 'give-up' && e.reason === 'retry-budget-exhausted').length,
    ).toBeGreaterThan(0);
    expect(wrapped.breakers()[0]?.retryBudgetLeft).toBe(0);
  });

  it('never refuses a first attempt', async () => {
    const fetch = fakeFetch({ status: 503 });
    const wrapped = wrapFetch(fetch, {
      policy: { breaker: { enabled: false }, retryBudget: { minRetries: 0 } },
    });
    for (let i = 0; i < 20; i++) {
      const call = wrapped(URL_A);
      await vi.runAllTimersAsync();
      await call;
    }
    // 20 first attempts all sent; retries only as the 20 % share allows.
    expect(fetch.calls.length).toBeGreaterThanOrEqual(20);
    expect(fetch.calls.length).toBeLessThanOrEqual(24);
  });

  it('refills as the window moves on', async () => {
    const fetch = fakeFetch({ status: 503 });
    const wrapped = wrapFetch(fetch, {
      policy: { breaker: { enabled: false }, retryBudget: { minRetries: 2, ratio: 0.01 } },
    });
    const burst = Array.from({ length: 5 }, () => wrapped(URL_A));
    await vi.runAllTimersAsync();
    await Promise.all(burst);
    expect(wrapped.breakers()[0]?.retryBudgetLeft).toBe(0);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(wrapped.breakers()[0]?.retryBudgetLeft).toBe(2);
  });

  it('can be switched off', async () => {
    const fetch = fakeFetch({ status: 503 });
    const wrapped = wrapFetch(fetch, {
      policy: { breaker: { enabled: false }, retryBudget: { enabled: false } },
    });
    const calls = Array.from({ length: 20 }, () => wrapped(URL_A));
    await vi.runAllTimersAsync();
    await Promise.all(calls);
    expect(fetch.calls).toHaveLength(80);
    expect(wrapped.breakers()[0]?.retryBudgetLeft).toBeNull();
  });
});
