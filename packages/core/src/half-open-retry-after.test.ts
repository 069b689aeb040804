import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { breakwaterPolicy } from './cockatiel.ts';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * A call refused while the breaker's probe is in flight must not be told to retry at once: a client
 * that honours `retryAfterMs: 0` comes straight back, is refused again, and spins for as long as the
 * probe takes. Its hint is the current half-open interval (the wait that preceded the probe), the
 * same whichever way the breaker is used.
 */

const URL_A = 'https://a.test/v1/x';
const target = { method: 'GET', url: URL_A };
const policy = {
  retry: { maxAttempts: 1 },
  breaker: { consecutiveFailures: 1, halfOpenAfterMs: 1_000, maxHalfOpenAfterMs: 8_000 },
};

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A call that stays in flight until the test settles it. */
function held<T>() {
  return Promise.withResolvers<T>();
}

/** What a refused call rejected with, and the `reject` event it sent. */
async function refusal(
  events: BreakwaterEvent[],
  call: () => Promise<unknown>,
): Promise<{ error: BrokenCircuitError; event: BreakwaterEvent | undefined }> {
  const error = await call().then(
    () => expect.unreachable('the call should have been refused'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BrokenCircuitError);
  return { error: error as BrokenCircuitError, event: events.findLast((e) => e.type === 'reject') };
}

describe('BrokenCircuitError.retryAfterMs while a probe is in flight', () => {
  it('wrapFetch: the half-open interval, doubled after a failed probe, in the error and the reject event', async () => {
    const events: BreakwaterEvent[] = [];
    let answer: () => Promise<Response> = async () => new Response(null, { status: 500 });
    const fetch = fakeFetch(() => answer());
    const wrapped = wrapFetch(fetch, { policy, onEvent: (e) => events.push(e) });
    await wrapped(URL_A);
    expect(wrapped.breakers()[0]?.state).toBe('open');

    await vi.advanceTimersByTimeAsync(1_000);
    const probe = held<Response>();
    answer = () => probe.promise;
    const probing = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(300);
    expect(wrapped.breakers()[0]?.state).toBe('half-open');
    const first = await refusal(events, () => wrapped(URL_A));
    expect(first.error).toMatchObject({ state: 'half-open', retryAfterMs: 1_000 });
    expect(first.event).toMatchObject({ cause: 'half-open', retryAfterMs: 1_000 });
    expect(first.error.message).toContain('retry in 1000 ms');

    // The probe fails: the next wait is 2 s, and so is the hint while the next probe is out.
    probe.resolve(new Response(null, { status: 500 }));
    await probing;
    await vi.advanceTimersByTimeAsync(2_000);
    const second = held<Response>();
    answer = () => second.promise;
    const probing2 = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const again = await refusal(events, () => wrapped(URL_A));
    expect(again.error).toMatchObject({ state: 'half-open', retryAfterMs: 2_000 });
    second.resolve(new Response(null));
    await probing2;
    expect(wrapped.breakers()[0]?.state).toBe('closed');
  });

  it('createEndpointBreakers: the same hint', async () => {
    const events: BreakwaterEvent[] = [];
    const breakers = createEndpointBreakers({ policy, onEvent: (e) => events.push(e) });
    await breakers
      .run(target, () => Promise.reject(Object.assign(new Error('down'), { status: 503 })))
      .catch(() => {});
    await vi.advanceTimersByTimeAsync(1_000);
    const probe = held<string>();
    const probing = breakers.run(target, () => probe.promise);
    await vi.advanceTimersByTimeAsync(0);
    const { error, event } = await refusal(events, () => breakers.run(target, () => 'never'));
    expect(error).toMatchObject({ state: 'half-open', retryAfterMs: 1_000 });
    expect(event).toMatchObject({ cause: 'half-open', retryAfterMs: 1_000 });
    probe.resolve('back');
    await expect(probing).resolves.toBe('back');
  });

  it('breakwaterPolicy (cockatiel adapter): the same hint', async () => {
    const events: BreakwaterEvent[] = [];
    const breakers = createEndpointBreakers({ policy, onEvent: (e) => events.push(e) });
    const adapter = breakwaterPolicy({ target, breakers });
    await adapter.execute(() => new Response(null, { status: 503 }));
    await vi.advanceTimersByTimeAsync(1_000);
    const probe = held<Response>();
    const probing = adapter.execute(() => probe.promise);
    await vi.advanceTimersByTimeAsync(0);
    const { error, event } = await refusal(events, () => adapter.execute(() => new Response(null)));
    expect(error).toMatchObject({ state: 'half-open', retryAfterMs: 1_000 });
    expect(event).toMatchObject({ cause: 'half-open', retryAfterMs: 1_000 });
    probe.resolve(new Response(null));
    expect((await probing).status).toBe(200);
  });
});
