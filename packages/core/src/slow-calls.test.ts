import type { PolicyInput } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, hangingFetch } from './fake-fetch.test-util.ts';
import { type WrappedFetch, wrapFetch } from './wrap-fetch.ts';

/**
 * Slow-call breaking (resilience4j's slowCallDurationThreshold / slowCallRateThreshold): a call is slow
 * when its attempt takes strictly longer than `breaker.slowCallMs` to its response headers, whatever
 * its status, and the breaker opens at `slowCallRatio` slow calls among at least `minimumCalls`.
 */

const URL_A = 'https://a.test/v1/x';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A fetch answering `status` after the delay the test sets, in fake time. */
function delayed(): { fetch: ReturnType<typeof fakeFetch>; answer(delayMs: number, status?: number): void } {
  let delayMs = 0;
  let status = 200;
  const fetch = fakeFetch(
    () =>
      new Promise<Response>((resolve) => {
        setTimeout(() => resolve(new Response(null, { status })), delayMs);
      }),
  );
  return {
    fetch,
    answer(ms, s = 200) {
      delayMs = ms;
      status = s;
    },
  };
}

async function call(wrapped: WrappedFetch): Promise<Response | unknown> {
  const p = wrapped(URL_A).catch((e: unknown) => e);
  await vi.runAllTimersAsync();
  return p;
}

function setup(breaker: PolicyInput['breaker'], extra: PolicyInput = {}) {
  const events: BreakwaterEvent[] = [];
  const upstream = delayed();
  const wrapped = wrapFetch(upstream.fetch, {
    policy: { ...extra, breaker: { minimumCalls: 4, windowMs: 60_000, ...breaker } },
    onEvent: (e) => events.push(e),
  });
  return { events, upstream, wrapped, state: () => wrapped.breakers()[0] };
}

describe('slow-call breaking', () => {
  it('opens when the share of slow 200s reaches slowCallRatio, then refuses without calling fetch', async () => {
    const { events, upstream, wrapped, state } = setup({ slowCallMs: 1_000, slowCallRatio: 0.5 });
    for (const ms of [10, 1_500, 10]) {
      upstream.answer(ms);
      expect(await call(wrapped)).toMatchObject({ status: 200 });
    }
    expect(state()).toMatchObject({ state: 'closed', calls: 3, slowCalls: 1, failures: 0 });
    upstream.answer(2_000);
    expect(await call(wrapped)).toMatchObject({ status: 200 });
    expect(state()).toMatchObject({ state: 'open', calls: 4, slowCalls: 2, failures: 0 });
    expect(events.filter((e) => e.type === 'break')).toHaveLength(1);

    const refused = await call(wrapped);
    expect(refused).toBeInstanceOf(BrokenCircuitError);
    expect(upstream.fetch.calls).toHaveLength(4);
  });

  it('counts calls that end in the same instant each by its own duration', async () => {
    const events: BreakwaterEvent[] = [];
    // Even calls answer at once, odd ones after 1.5 s: the slow ones all settle in the same tick.
    const upstream = fakeFetch(
      (c) =>
        new Promise<Response>((resolve) => {
          const slow = Number(new URL(c.url).searchParams.get('n')) % 2 === 1;
          setTimeout(() => resolve(new Response(null, { status: 200 })), slow ? 1_500 : 0);
        }),
    );
    const wrapped = wrapFetch(upstream, {
      policy: { breaker: { slowCallMs: 1_000, slowCallRatio: 0.5, minimumCalls: 10 } },
      onEvent: (e) => events.push(e),
    });
    const calls = Array.from({ length: 10 }, (_, n) => wrapped(`${URL_A}?n=${n}`));
    await vi.runAllTimersAsync();
    await Promise.all(calls);
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'open', calls: 10, slowCalls: 5 });
    expect(events.filter((e) => e.type === 'break')).toHaveLength(1);
  });

  it('stays closed below minimumCalls, however slow every call is', async () => {
    const { upstream, wrapped, state } = setup({ slowCallMs: 1_000, slowCallRatio: 1 });
    upstream.answer(5_000);
    for (let i = 0; i < 3; i++) await call(wrapped);
    expect(state()).toMatchObject({ state: 'closed', calls: 3, slowCalls: 3 });
    await call(wrapped);
    expect(state()).toMatchObject({ state: 'open', calls: 4, slowCalls: 4 });
  });

  it('counts a call as slow only when strictly longer than slowCallMs', async () => {
    const { upstream, wrapped, state } = setup({ slowCallMs: 1_000, slowCallRatio: 0.25 });
    upstream.answer(1_000);
    for (let i = 0; i < 6; i++) await call(wrapped);
    expect(state()).toMatchObject({ state: 'closed', calls: 6, slowCalls: 0 });
    upstream.answer(1_001);
    await call(wrapped);
    expect(state()).toMatchObject({ state: 'closed', calls: 7, slowCalls: 1 });
    await call(wrapped);
    expect(state()).toMatchObject({ state: 'open', calls: 8, slowCalls: 2 });
  });

  it('is off by default: 9 s answers never open the breaker', async () => {
    const upstream = delayed();
    // A window long enough to hold every call: only slowness could open the breaker.
    const wrapped = wrapFetch(upstream.fetch, { policy: { breaker: { windowMs: 600_000 } } });
    upstream.answer(9_000);
    for (let i = 0; i < 12; i++) await call(wrapped);
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'closed', calls: 12, slowCalls: 0 });
  });

  it('counts a slow failure as both slow and failed, and an ignored slow 429 not at all', async () => {
    const { upstream, wrapped, state } = setup(
      { slowCallMs: 1_000, consecutiveFailures: 100 },
      { retry: { maxAttempts: 1 } },
    );
    upstream.answer(1_500, 500);
    await call(wrapped);
    expect(state()).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
    upstream.answer(1_500, 429);
    await call(wrapped);
    expect(state()).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it('counts an attempt timeout as slow and failed, even under a slowCallMs above the attempt timeout', async () => {
    const wrapped = wrapFetch(hangingFetch(), {
      policy: {
        retry: { maxAttempts: 1 },
        timeout: { attemptMs: 500 },
        breaker: { slowCallMs: 2_000, consecutiveFailures: 100 },
      },
    });
    await call(wrapped);
    expect(wrapped.breakers()[0]).toMatchObject({ calls: 1, failures: 1, slowCalls: 1 });
  });

  it('judges the half-open probe by its duration: a slow 200 opens again, a fast one closes', async () => {
    const { events, upstream, wrapped, state } = setup({ slowCallMs: 1_000, slowCallRatio: 1 });
    upstream.answer(1_500);
    for (let i = 0; i < 4; i++) await call(wrapped);
    expect(state()?.state).toBe('open');

    await vi.advanceTimersByTimeAsync(5_000);
    expect(await call(wrapped)).toMatchObject({ status: 200 });
    expect(events.map((e) => e.type).filter((t) => t !== 'attempt')).toEqual(['break', 'half-open', 'break']);
    // The second wait doubles, as after a failed probe.
    expect(state()).toMatchObject({ state: 'open', nextProbeAt: Date.now() + 10_000 });

    await vi.advanceTimersByTimeAsync(10_000);
    upstream.answer(10);
    await call(wrapped);
    expect(state()).toMatchObject({ state: 'closed', calls: 0, slowCalls: 0 });
    expect(events.at(-1)?.type).toBe('reset');
  });
});
