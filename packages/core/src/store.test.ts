import { ConfigError } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { fleetStore } from './store.test-util.ts';
import { MEMORY_STORE } from './store.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/orders';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('store option', () => {
  it('is refused, with its path, when it is not a store', () => {
    expect(() => wrapFetch(fakeFetch({ status: 200 }), { store: {} as never })).toThrow(ConfigError);
    expect(() => wrapFetch(fakeFetch({ status: 200 }), { store: 42 as never })).toThrow(
      /store: must be a store/,
    );
  });

  it('never echoes a connection URL passed as the store (its password stays out)', () => {
    const bad = () =>
      wrapFetch(fakeFetch({ status: 200 }), { store: 'redis://default:hunter2@cache:6379' as never });
    expect(bad).toThrow(/store: must be a store such as redisStore\(\) returns, got a string/);
    expect(bad).not.toThrow(/hunter2/);
  });

  it('defaults to the in-memory store: keys are local, and a healthy call never asks it anything', async () => {
    const spy = vi.spyOn(MEMORY_STORE, 'tryLease');
    const wrapped = wrapFetch(fakeFetch({ status: 200 }));
    await wrapped(URL_A);
    expect(wrapped.breakers()[0]).toMatchObject({ sharing: 'local' });
    expect(spy).not.toHaveBeenCalled();
    spy.mockRestore();
  });

  it("a 429 seen by one instance closes the other instance's gate, with no call of the other's", async () => {
    const fleet = fleetStore();
    const one = fakeFetch({ status: 429, headers: { 'retry-after': '2' } }, { status: 200 });
    const two = fakeFetch({ status: 200 });
    const a = wrapFetch(one, { store: fleet.instance(), random: () => 0 });
    const b = wrapFetch(two, { store: fleet.instance(), random: () => 0 });
    await b(URL_A);
    const t0 = Date.now();
    const first = a(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(b.breakers()[0]).toMatchObject({ throttledUntil: t0 + 2_000, sharing: 'shared' });
    const held = b(URL_A);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(two.calls).toHaveLength(1);
    await vi.runAllTimersAsync();
    await Promise.all([first, held]);
    expect(two.calls[1]?.at).toBeGreaterThanOrEqual(t0 + 2_000);
  });

  it('a key built after another instance closed it starts closed', async () => {
    const fleet = fleetStore();
    const a = wrapFetch(fakeFetch({ status: 429, headers: { 'retry-after': '3' } }, { status: 200 }), {
      store: fleet.instance(),
    });
    const late = fakeFetch({ status: 200 });
    const b = wrapFetch(late, { store: fleet.instance(), random: () => 0 });
    const t0 = Date.now();
    const first = a(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    const held = b(URL_A);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(late.calls).toHaveLength(0);
    await vi.runAllTimersAsync();
    await Promise.all([first, held]);
    expect(late.calls[0]?.at).toBeGreaterThanOrEqual(t0 + 3_000);
  });

  it('one half-open probe per interval for the fleet: the instance that does not hold the lease refuses', async () => {
    const fleet = fleetStore();
    const policy = {
      breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 1_000 },
      retry: { maxAttempts: 1 },
    };
    const one = fakeFetch({ status: 503 });
    const two = fakeFetch({ status: 503 });
    const eventsB: BreakwaterEvent[] = [];
    const a = wrapFetch(one, { store: fleet.instance(), policy });
    const b = wrapFetch(two, { store: fleet.instance(), policy, onEvent: (e) => eventsB.push(e) });
    await a(URL_A);
    await b(URL_A);
    expect(a.breakers()[0]?.state).toBe('open');
    expect(b.breakers()[0]?.state).toBe('open');
    await vi.advanceTimersByTimeAsync(1_001);
    await a(URL_A);
    await expect(b(URL_A)).rejects.toMatchObject({ name: 'BrokenCircuitError' });
    expect(one.calls).toHaveLength(2);
    expect(two.calls).toHaveLength(1);
    expect(eventsB.at(-1)).toMatchObject({ type: 'reject', cause: 'circuit-open' });
  });

  it('a store that goes down is reported once as store-down and once as store-up', () => {
    const fleet = fleetStore();
    const store = fleet.instance();
    const events: BreakwaterEvent[] = [];
    wrapFetch(fakeFetch({ status: 200 }), { store, onEvent: (e) => events.push(e) });
    fleet.setUp(false);
    fleet.setUp(true);
    expect(events.map((e) => e.type)).toEqual(['store-down', 'store-up']);
    // A store-up has no cause: no `cause` key printed as `cause: undefined` in a log line.
    expect(Object.keys(events[1] ?? {})).not.toContain('cause');
  });
});
