import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { refusedUntil } from './call-side.ts';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { fleetStore } from './store.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * A refused call's `retryAfterMs` is what a client that honours it waits: 0 sends it straight back to
 * be refused again, in a tight loop. It is at least 1 ms whatever the cause. While a probe is in
 * flight, the breaker's `refusedUntil` tells no end: the probe mostly closes the breaker soon, and a
 * retry due meanwhile must not give up for it.
 */

const URL_A = 'https://a.test/v1/x';
const target = { method: 'GET', url: URL_A };
const policy = {
  retry: { maxAttempts: 1 },
  breaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000, maxHalfOpenAfterMs: 8_000 },
};
const T0 = new Date('2026-11-26T12:00:00Z').getTime();

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** What a refused call rejected with. */
async function refusedWith(call: Promise<unknown>): Promise<BrokenCircuitError> {
  const error = await call.then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokenCircuitError);
  return error as BrokenCircuitError;
}

describe('BrokenCircuitError.retryAfterMs is never 0', () => {
  it("a fleet store's lease of 0 (the holder's lease running out): 1 ms, in the error and the event", async () => {
    const events: BreakwaterEvent[] = [];
    const store = { ...fleetStore().instance(), tryLease: () => 0 };
    const wrapped = wrapFetch(fakeFetch({ status: 500 }), { policy, store, onEvent: (e) => events.push(e) });
    await wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(1_000);
    const error = await refusedWith(wrapped(URL_A));
    expect(error).toMatchObject({ state: 'open', retryAfterMs: 1 });
    expect(error.message).toContain('next probe in 1 ms');
    expect(events.findLast((e) => e.type === 'reject')).toMatchObject({
      cause: 'circuit-open',
      retryAfterMs: 1,
    });
  });

  it('the probe falls due between the refusal and its hint: 1 ms', async () => {
    const wrapped = wrapFetch(fakeFetch({ status: 500 }), { policy });
    await wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(999);
    // The breaker refuses in the turn of the call; the clock passes the probe's time before the
    // refusal's hint is worked out, as a busy event loop may.
    const refused = wrapped(URL_A);
    vi.setSystemTime(T0 + 1_005);
    const error = await refusedWith(refused);
    expect(error).toMatchObject({ state: 'open', retryAfterMs: 1 });
    // Honoured, the hint brings the probe: the breaker lets it through.
    await vi.advanceTimersByTimeAsync(error.retryAfterMs);
    expect((await wrapped(URL_A)).status).toBe(500);
  });

  it('createEndpointBreakers: the same floor for the same race', async () => {
    const breakers = createEndpointBreakers({ policy });
    await breakers
      .run(target, () => Promise.reject(Object.assign(new Error('down'), { status: 503 })))
      .catch(() => {});
    await vi.advanceTimersByTimeAsync(999);
    const refused = breakers.run(target, () => 'never');
    vi.setSystemTime(T0 + 1_005);
    expect(await refusedWith(refused)).toMatchObject({ state: 'open', retryAfterMs: 1 });
  });
});

describe('refusedUntil while a probe is in flight', () => {
  it('has no end to tell: undefined, so that a retry due meanwhile waits for the probe', async () => {
    const breakers = createEndpointBreakers({ policy });
    const { key } = breakers.resolve(target);
    const fail = () => Promise.reject(Object.assign(new Error('down'), { status: 503 }));
    await breakers.run(target, fail).catch(() => {});
    expect(refusedUntil(breakers, key)).toBe(T0 + 1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    const probe = Promise.withResolvers<string>();
    const probing = breakers.run(target, () => probe.promise);
    await vi.advanceTimersByTimeAsync(300);
    expect(breakers.breakers()[0]?.state).toBe('half-open');
    expect(refusedUntil(breakers, key)).toBeUndefined();
    // A call refused meanwhile is still told the half-open interval.
    expect(await refusedWith(breakers.run(target, () => 'never'))).toMatchObject({ retryAfterMs: 1_000 });
    probe.resolve('back');
    await expect(probing).resolves.toBe('back');
    expect(refusedUntil(breakers, key)).toBeUndefined();
  });

  it('a call whose retry falls due while the probe is in flight retries once the probe closes the breaker', async () => {
    const retrying = {
      ...policy,
      retry: { maxAttempts: 3, backoff: { kind: 'none' as const, initialDelayMs: 20, maxDelayMs: 20 } },
    };
    const answers: Array<PromiseWithResolvers<Response>> = [];
    const fetch = () => {
      const answer = Promise.withResolvers<Response>();
      answers.push(answer);
      return answer.promise;
    };
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { policy: retrying, onEvent: (e) => events.push(e) });
    // C's first attempt is in flight while another call opens the breaker.
    const c = wrapped(URL_A);
    const opener = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    answers[1]?.resolve(new Response('down', { status: 500 }));
    await opener;
    // The breaker goes half-open and lets a probe through; C's attempt answers 503 meanwhile.
    await vi.advanceTimersByTimeAsync(1_000);
    const probe = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    answers[0]?.resolve(new Response('busy', { status: 503 }));
    await vi.advanceTimersByTimeAsync(2);
    // The probe succeeds before C's retry is due: C retries, and gets through.
    answers[2]?.resolve(new Response('ok', { status: 200 }));
    expect((await probe).status).toBe(200);
    await vi.advanceTimersByTimeAsync(20);
    answers[3]?.resolve(new Response('ok', { status: 200 }));
    expect((await c).status).toBe(200);
    expect(events.filter((e) => e.type === 'give-up')).toEqual([]);
  });
});
