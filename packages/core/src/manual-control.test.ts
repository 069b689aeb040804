import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { type WrapFetchOptions, type WrappedFetch, wrapFetch } from './wrap-fetch.ts';

/** Manual control: `isolate(key)` holds an endpoint's breaker open by hand, `reset(key)` closes it. */

const A = 'https://a.test/v1/x';
const KEY_A = 'default https://a.test';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

async function call(wrapped: WrappedFetch, url = A): Promise<Response | unknown> {
  const p = wrapped(url).catch((e: unknown) => e);
  await vi.runAllTimersAsync();
  return p;
}

function setup(status = 200, options: WrapFetchOptions = {}) {
  const events: BreakwaterEvent[] = [];
  const upstream = fakeFetch({ status });
  const wrapped = wrapFetch(upstream, { ...options, onEvent: (e) => events.push(e) });
  const types = () => events.map((e) => e.type).filter((t) => t !== 'attempt');
  return {
    events,
    types,
    upstream,
    wrapped,
    state: (key = KEY_A) => wrapped.breakers().find((b) => b.key === key),
  };
}

describe('isolate and reset by hand', () => {
  it('refuses every call while isolated, sending nothing and retrying nothing, until reset', async () => {
    const { events, types, upstream, wrapped, state } = setup();
    await call(wrapped);
    wrapped.isolate(KEY_A);
    expect(state()).toMatchObject({ state: 'isolated', openedAt: Date.now(), nextProbeAt: null });

    const refused = await call(wrapped);
    expect(refused).toBeInstanceOf(BrokenCircuitError);
    expect(refused).toMatchObject({ endpoint: KEY_A, state: 'isolated', retryAfterMs: Infinity });
    expect((refused as Error).message).toContain('isolated by hand');
    // No probe ever: an isolation lasts however long the breaker's waits would be.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(await call(wrapped)).toBeInstanceOf(BrokenCircuitError);
    expect(upstream.calls).toHaveLength(1);
    expect(events.filter((e) => e.type === 'reject')).toMatchObject([
      { cause: 'isolated' },
      { cause: 'isolated' },
    ]);

    wrapped.reset(KEY_A);
    expect(state()).toMatchObject({ state: 'closed', openedAt: null });
    expect(await call(wrapped)).toMatchObject({ status: 200 });
    expect(upstream.calls).toHaveLength(2);
    expect(types()).toEqual(['isolate', 'reject', 'reject', 'reset']);
    expect(events.find((e) => e.type === 'reset')).toMatchObject({ key: KEY_A, byHand: true });
  });

  it('closes by hand a breaker opened by failures, with its counts cleared and no other transition', async () => {
    const { types, upstream, wrapped, state } = setup(500);
    for (let i = 0; i < 5; i++) await call(wrapped);
    expect(state()?.state).toBe('open');
    wrapped.reset(KEY_A);
    expect(state()).toMatchObject({ state: 'closed', calls: 0, failures: 0, consecutiveFailures: 0 });
    expect(types()).toEqual(['break', 'reset']);
    // A fresh count: four more 500s do not reopen it.
    for (let i = 0; i < 4; i++) await call(wrapped);
    expect(state()?.state).toBe('closed');
    expect(upstream.calls).toHaveLength(9);
  });

  it('a reset by a half-open listener closes the breaker for good: the call that half-opened it counts as a closed one', async () => {
    const events: BreakwaterEvent[] = [];
    const upstream = fakeFetch({ status: 500 });
    const wrapped: WrappedFetch = wrapFetch(upstream, {
      onEvent: (e) => {
        events.push(e);
        // An operator's hook: close the breaker as soon as it may probe.
        if (e.type === 'half-open') wrapped.reset(e.key);
      },
    });
    for (let i = 0; i < 5; i++) await call(wrapped);
    expect(wrapped.breakers()[0]?.state).toBe('open');
    await vi.advanceTimersByTimeAsync(120_000);
    // The call that half-opened it fails: one failure on a closed breaker, not a failed probe.
    expect(await call(wrapped)).toMatchObject({ status: 500 });
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'closed', consecutiveFailures: 1 });
    expect(await call(wrapped)).toMatchObject({ status: 500 });
    expect(upstream.calls).toHaveLength(7);
    const types = events.map((e) => e.type).filter((t) => t !== 'attempt');
    expect(types).toEqual(['break', 'half-open', 'reset']);
  });

  it('holds a key no call has used yet, shows it in breakers(), and refuses its first call', async () => {
    const { types, upstream, wrapped, state } = setup();
    wrapped.isolate(KEY_A);
    expect(wrapped.breakers()).toMatchObject([{ key: KEY_A, state: 'isolated', calls: 0 }]);
    expect(await call(wrapped)).toMatchObject({ state: 'isolated' });
    expect(upstream.calls).toHaveLength(0);
    expect(state()?.state).toBe('isolated');
    wrapped.reset(KEY_A);
    expect(await call(wrapped)).toMatchObject({ status: 200 });
    expect(types()).toEqual(['isolate', 'reject', 'reset']);
  });

  it('does not count holds: a second isolate does nothing and one reset ends it; a reset of a closed breaker says nothing', async () => {
    const { types, wrapped, state } = setup();
    wrapped.reset(KEY_A);
    wrapped.isolate(KEY_A);
    wrapped.isolate(KEY_A);
    wrapped.reset(KEY_A);
    wrapped.reset(KEY_A);
    expect(state()).toBeUndefined();
    expect(types()).toEqual(['isolate', 'reset']);
  });

  it('isolates an endpoint whose breaker is switched off', async () => {
    const { upstream, wrapped, state } = setup(200, { policy: { breaker: { enabled: false } } });
    await call(wrapped);
    wrapped.isolate(KEY_A);
    expect(await call(wrapped)).toBeInstanceOf(BrokenCircuitError);
    expect(state()).toMatchObject({ state: 'isolated', enabled: false });
    wrapped.reset(KEY_A);
    expect(await call(wrapped)).toMatchObject({ status: 200 });
    expect(upstream.calls).toHaveLength(2);
  });

  it('never drops an isolated key past maxEndpoints', async () => {
    const { wrapped } = setup(200, { maxEndpoints: 1 });
    await call(wrapped);
    wrapped.isolate(KEY_A);
    wrapped.isolate('default https://early.test');
    await call(wrapped, 'https://b.test/x');
    await call(wrapped, 'https://c.test/x');
    const states = Object.fromEntries(wrapped.breakers().map((b) => [b.key, b.state]));
    expect(states).toEqual({
      [KEY_A]: 'isolated',
      'default https://c.test': 'closed',
      'default https://early.test': 'isolated',
    });
  });

  it('ends a call isolated between two attempts on its last outcome, without another attempt', async () => {
    const upstream = fakeFetch({ status: 503 });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(upstream, { onEvent: (e) => events.push(e) });
    const pending = wrapped(A);
    await vi.advanceTimersByTimeAsync(0);
    wrapped.isolate(KEY_A);
    await vi.runAllTimersAsync();
    expect((await pending).status).toBe(503);
    expect(upstream.calls).toHaveLength(1);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'circuit-open' });
  });

  it('refuses a string that is not an endpoint key, naming the rules and keys in use, and echoes nothing of it', async () => {
    const wrapped = wrapFetch(fakeFetch({ status: 200 }), {
      endpoints: [{ name: 'orders', match: 'GET */v1/orders' }],
    });
    await call(wrapped);
    const secretUrl = 'https://a.test/v1/x?token=s3cr3t';
    for (const bad of [secretUrl, 'orderz https://a.test', 'orders a.test/path?token=s3cr3t']) {
      const error = (() => {
        try {
          wrapped.isolate(bad);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(TypeError);
      const text = inspect(error);
      expect(text).toContain('breakwater: isolate(key)');
      expect(text).toContain('rules: orders, default');
      expect(text).toContain(`keys in use: ${KEY_A}`);
      expect(text).not.toContain('s3cr3t');
    }
    expect(() => wrapped.reset(42 as unknown as string)).toThrow(/reset\(key\): not a string but number/);
    // A key with a path after the origin: told what the origin is, not that there is none.
    expect(() => wrapped.isolate('orders https://a.test/v1?token=s3cr3t')).toThrow(
      /isolate\(key\): more than the origin https:\/\/a\.test;/,
    );
    expect(() => wrapped.isolate('orders')).toThrow(/isolate\(key\): no origin after the rule;/);
    expect(wrapped.breakers().map((b) => b.state)).toEqual(['closed']);
  });
});

describe('the breakers for calls that are not fetch calls', () => {
  it('isolate and reset the same way, without calling the function while isolated', async () => {
    const events: BreakwaterEvent[] = [];
    const breakers = createEndpointBreakers({ onEvent: (e) => events.push(e) });
    const target = { method: 'GET', url: A };
    const call = vi.fn(async () => 'ok');
    breakers.isolate(KEY_A);
    await expect(breakers.run(target, call)).rejects.toMatchObject({
      name: 'BrokenCircuitError',
      state: 'isolated',
    });
    expect(call).not.toHaveBeenCalled();
    expect(breakers.breakers()).toMatchObject([{ key: KEY_A, state: 'isolated' }]);
    breakers.reset(KEY_A);
    await expect(breakers.run(target, call)).resolves.toBe('ok');
    expect(events.map((e) => e.type)).toEqual(['isolate', 'reject', 'reset']);
  });
});
