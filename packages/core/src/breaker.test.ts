import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const A = 'https://a.test/v1/x';
const B = 'https://b.test/v1/x';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * Makes a call and moves the fake time on only until it settles: the attempt clock keeps its interval
 * one idle tick after a call, which running every timer would take as 100 ms more.
 */
async function call(wrapped: (u: string) => Promise<Response>, url: string): Promise<Response | unknown> {
  let settled = false;
  const p = wrapped(url)
    .catch((e: unknown) => e)
    .finally(() => {
      settled = true;
    });
  await vi.advanceTimersByTimeAsync(0);
  while (!settled) await vi.advanceTimersToNextTimerAsync();
  return p;
}

/** A fetch whose answer is switched by the test: healthy or down. */
/**
 * A fetch whose answer is switched by the test: a status, or, after `holdNext()`, a response that waits
 * until the test releases it.
 */
function switchable(): {
  fetch: ReturnType<typeof fakeFetch>;
  set(status: number): void;
  holdNext(): (response: Response) => void;
} {
  let status = 200;
  let held: Promise<Response> | undefined;
  const fetch = fakeFetch(() => {
    const answer = held ?? new Response(null, { status });
    held = undefined;
    return answer;
  });
  return {
    fetch,
    set(s) {
      status = s;
    },
    holdNext() {
      const { promise, resolve } = Promise.withResolvers<Response>();
      held = promise;
      return resolve;
    },
  };
}

describe('circuit breaker per endpoint', () => {
  it('opens after 5 consecutive 500s and then rejects without calling fetch', async () => {
    const { events, onEvent } = (() => {
      const events: BreakwaterEvent[] = [];
      return { events, onEvent: (e: BreakwaterEvent) => events.push(e) };
    })();
    const up = switchable();
    up.set(500);
    const wrapped = wrapFetch(up.fetch, { onEvent });
    for (let i = 0; i < 4; i++) await call(wrapped, A);
    expect(wrapped.breakers()[0]?.state).toBe('closed');
    await call(wrapped, A);
    const snap = wrapped.breakers()[0];
    expect(snap?.state).toBe('open');
    expect(snap?.nextProbeAt).toBe(Date.now() + 5_000);
    expect(events.filter((e) => e.type === 'break')).toHaveLength(1);

    const rejected = await call(wrapped, A);
    expect(rejected).toBeInstanceOf(BrokenCircuitError);
    expect((rejected as BrokenCircuitError).endpoint).toBe('default https://a.test');
    expect((rejected as BrokenCircuitError).retryAfterMs).toBe(5_000);
    expect(up.fetch.calls).toHaveLength(5);
    expect(events.filter((e) => e.type === 'reject')).toHaveLength(1);
  });

  it('opens on a failure ratio of at least 50 % over at least 10 calls in the window', async () => {
    const up = switchable();
    const wrapped = wrapFetch(up.fetch);
    // Alternate success and failure: never 5 in a row, but half of the calls fail.
    for (let i = 0; i < 9; i++) {
      up.set(i % 2 === 1 ? 500 : 200);
      await call(wrapped, A);
    }
    expect(wrapped.breakers()[0]?.state).toBe('closed');
    up.set(500);
    await call(wrapped, A);
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'open', calls: 10, failures: 5, failureRatio: 0.5 });
  });

  it('forgets failures older than the window', async () => {
    const up = switchable();
    const wrapped = wrapFetch(up.fetch);
    up.set(500);
    for (let i = 0; i < 4; i++) await call(wrapped, A);
    up.set(200);
    await call(wrapped, A);
    await vi.advanceTimersByTimeAsync(11_000);
    expect(wrapped.breakers()[0]).toMatchObject({ calls: 0, failures: 0 });
  });

  it('half-opens after 5 s, lets exactly one probe through, and closes when it succeeds', async () => {
    const events: BreakwaterEvent[] = [];
    const up = switchable();
    up.set(500);
    const wrapped = wrapFetch(up.fetch, { onEvent: (e) => events.push(e) });
    for (let i = 0; i < 5; i++) await call(wrapped, A);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(await call(wrapped, A)).toBeInstanceOf(BrokenCircuitError);
    await vi.advanceTimersByTimeAsync(1);

    // The probe hangs until released, so the concurrent calls meet a half-open breaker.
    const release = up.holdNext();
    const sent = up.fetch.calls.length;
    const probe = wrapped(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(up.fetch.calls.length - sent).toBe(1);
    expect(wrapped.breakers()[0]?.state).toBe('half-open');
    const concurrent = await Promise.all([
      wrapped(A).catch((e: unknown) => e),
      wrapped(A).catch((e: unknown) => e),
    ]);
    for (const c of concurrent) {
      expect(c).toBeInstanceOf(BrokenCircuitError);
      expect((c as BrokenCircuitError).state).toBe('half-open');
    }
    release(new Response(null));
    expect((await probe).status).toBe(200);
    expect(up.fetch.calls.length - sent).toBe(1);
    expect(wrapped.breakers()[0]?.state).toBe('closed');
    expect(events.map((e) => e.type)).toContain('half-open');
    expect(events.map((e) => e.type)).toContain('reset');
  });

  it('a failure of a call sent before the break, answered while the probe is out, leaves the decision to the probe', async () => {
    const events: BreakwaterEvent[] = [];
    const up = switchable();
    const wrapped = wrapFetch(up.fetch, {
      policy: { retry: { maxAttempts: 1 } },
      onEvent: (e) => events.push(e),
    });
    const answerLate = up.holdNext();
    const late = wrapped(A);
    await vi.advanceTimersByTimeAsync(0);
    up.set(500);
    for (let i = 0; i < 5; i++) await call(wrapped, A);
    expect(wrapped.breakers()[0]?.state).toBe('open');
    await vi.advanceTimersByTimeAsync(5_000);
    const answerProbe = up.holdNext();
    const probe = wrapped(A);
    await vi.advanceTimersByTimeAsync(0);
    expect(wrapped.breakers()[0]?.state).toBe('half-open');
    answerLate(new Response(null, { status: 500 }));
    expect((await late).status).toBe(500);
    expect(wrapped.breakers()[0]?.state).toBe('half-open');
    answerProbe(new Response(null));
    expect((await probe).status).toBe(200);
    expect(wrapped.breakers()[0]?.state).toBe('closed');
    expect(events.filter((e) => e.type === 'break')).toHaveLength(1);
  });

  it('reopens with a doubled wait when the probe fails, up to the maximum', async () => {
    const up = switchable();
    up.set(500);
    const wrapped = wrapFetch(up.fetch);
    for (let i = 0; i < 5; i++) await call(wrapped, A);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const snap = wrapped.breakers()[0];
      const wait = (snap?.nextProbeAt ?? 0) - Date.now();
      waits.push(wait);
      await vi.advanceTimersByTimeAsync(wait);
      await call(wrapped, A); // the probe fails
    }
    expect(waits).toEqual([5_000, 10_000, 20_000, 40_000, 60_000, 60_000]);
    expect(up.fetch.calls).toHaveLength(5 + 6);
  });

  it('keeps endpoints isolated: one down, another healthy', async () => {
    const fetch = fakeFetch(
      (c) => new Response(null, { status: c.url.startsWith('https://a.test') ? 500 : 200 }),
    );
    const wrapped = wrapFetch(fetch);
    for (let i = 0; i < 6; i++) await call(wrapped, A);
    const healthy = await call(wrapped, B);
    expect((healthy as Response).status).toBe(200);
    const states = Object.fromEntries(wrapped.breakers().map((b) => [b.key, b.state]));
    expect(states).toEqual({ 'default https://a.test': 'open', 'default https://b.test': 'closed' });
  });

  it('429s neither open nor close the breaker', async () => {
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '0' } });
    const wrapped = wrapFetch(fetch);
    for (let i = 0; i < 10; i++) await call(wrapped, A);
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'closed', calls: 0, failures: 0 });
  });

  it('an open breaker stops a retry loop, keeping the last response', async () => {
    const up = switchable();
    up.set(503);
    // Backoff waits stay well under the 5 s half-open interval, so the sixth attempt meets an open breaker.
    const wrapped = wrapFetch(up.fetch, { random: () => 0, policy: { retry: { maxAttempts: 10 } } });
    const res = await call(wrapped, A);
    // Five attempts open the breaker; the sixth is refused and the fifth 503 is handed back.
    expect(up.fetch.calls).toHaveLength(5);
    expect((res as Response).status).toBe(503);
  });

  it('a retry the open breaker will refuse when it is due is not waited for: the call ends at once on its last response', async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '2' } });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { breaker: { consecutiveFailures: 2 } },
      onEvent: (e) => events.push(e),
    });
    const started = Date.now();
    const res = await call(wrapped, A);
    // The second 503 (at 2 s) opens the breaker for 5 s: the third attempt, due at 4 s, would be refused.
    expect((res as Response).status).toBe(503);
    expect(fetch.calls).toHaveLength(2);
    expect(Date.now() - started).toBe(2_000);
    const types = events.map((e) => e.type).filter((t) => t !== 'attempt');
    expect(types).toEqual(['retry', 'break', 'give-up']);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'circuit-open' });
  });

  it('a retry due after the breaker may probe again is still waited for', async () => {
    const fetch = fakeFetch(
      { status: 503, headers: { 'retry-after': '6' } },
      { status: 503, headers: { 'retry-after': '6' } },
      { status: 200 },
    );
    const wrapped = wrapFetch(fetch, { policy: { breaker: { consecutiveFailures: 2 } } });
    const res = await call(wrapped, A);
    // Open at 6 s for 5 s; the retry is due at 12 s, when the breaker lets a probe through.
    expect((res as Response).status).toBe(200);
    expect(fetch.calls).toHaveLength(3);
  });

  it('can be switched off per endpoint', async () => {
    const fetch = fakeFetch({ status: 500 });
    const wrapped = wrapFetch(fetch, { policy: { breaker: { enabled: false } } });
    for (let i = 0; i < 20; i++) await call(wrapped, A);
    expect(fetch.calls).toHaveLength(20);
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'closed', enabled: false });
  });
});

describe('live endpoint bound', () => {
  it('10,000 calls over 2,000 distinct URLs and 50 rules keep the live breakers within the bound', async () => {
    vi.useRealTimers();
    const fetch = async (): Promise<Response> => new Response(null, { status: 200 });
    const endpoints = Array.from({ length: 50 }, (_, i) => ({ name: `rule${i}`, match: `GET */r${i}/*` }));
    const wrapped = wrapFetch(fetch, { endpoints, maxEndpoints: 20 });
    for (let i = 0; i < 10_000; i++) {
      const url = `https://h${i % 3}.test/r${i % 50}/item/${i % 2_000}?q=${i}`;
      await wrapped(url);
      expect(wrapped.breakers().length).toBeLessThanOrEqual(20);
    }
    // Keys are rule + origin: never more than 50 rules x 3 origins, whatever the URLs.
    const keys = new Set(wrapped.breakers().map((b) => b.key));
    for (const k of keys) expect(k).toMatch(/^rule\d+ https:\/\/h\d\.test$/);
  });

  it('never evicts an open breaker', async () => {
    const fetch = fakeFetch((c) => new Response(null, { status: c.url.includes('down') ? 500 : 200 }));
    const wrapped = wrapFetch(fetch, { maxEndpoints: 2 });
    for (let i = 0; i < 5; i++) await call(wrapped, 'https://down.test/x');
    for (let i = 0; i < 10; i++) await call(wrapped, `https://up${i}.test/x`);
    expect(wrapped.breakers().find((b) => b.key === 'default https://down.test')?.state).toBe('open');
    expect(await call(wrapped, 'https://down.test/x')).toBeInstanceOf(BrokenCircuitError);
  });
});
