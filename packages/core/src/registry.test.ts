import { DEFAULT_POLICY } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';
import * as core from './index.ts';
import { EndpointRegistry, EndpointState, type LiveEndpoint } from './registry.ts';
import type { BreakerSnapshot } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** A live endpoint whose idleness the test sets. */
function endpoint(key: string): LiveEndpoint & { evictable: boolean } {
  return {
    evictable: true,
    breaker: new CircuitBreaker(key, DEFAULT_POLICY.breaker, () => {}),
    snapshot: () => ({ key }) as BreakerSnapshot,
  };
}

function keysOf(registry: EndpointRegistry<LiveEndpoint>): string[] {
  return registry.snapshots().map((s) => s.key);
}

describe('EndpointRegistry', () => {
  it('builds an endpoint once per key and drops the least recently used past the bound', () => {
    const built: string[] = [];
    const registry = new EndpointRegistry(2, (key) => {
      built.push(key);
      return endpoint(key);
    });
    const a = registry.get('a', DEFAULT_POLICY);
    registry.get('b', DEFAULT_POLICY);
    expect(registry.get('a', DEFAULT_POLICY)).toBe(a);
    registry.get('c', DEFAULT_POLICY);
    // 'b' was used least recently: 'a' was used again after it.
    expect(keysOf(registry)).toEqual(['a', 'c']);
    expect(built).toEqual(['a', 'b', 'c']);
  });

  it('never drops an endpoint that is not evictable, exceeding the bound instead', () => {
    const registry = new EndpointRegistry(1, endpoint);
    registry.get('down', DEFAULT_POLICY).evictable = false;
    registry.get('x', DEFAULT_POLICY);
    registry.get('y', DEFAULT_POLICY);
    expect(keysOf(registry)).toEqual(['down', 'y']);
  });
});

describe('EndpointRegistry past its bound', () => {
  it('looks for endpoints to drop only when a key is added, not on every call of a live key', () => {
    let asked = 0;
    const registry = new EndpointRegistry(2, (key) => ({
      get evictable() {
        asked++;
        return false;
      },
      breaker: new CircuitBreaker(key, DEFAULT_POLICY.breaker, () => {}),
      snapshot: () => ({ key }) as BreakerSnapshot,
    }));
    for (const key of ['a', 'b', 'c']) registry.get(key, DEFAULT_POLICY);
    asked = 0;
    // Calls alternating between two live keys: the map does not grow, nothing can be dropped.
    for (let i = 0; i < 100; i++) registry.get(i % 2 === 0 ? 'a' : 'b', DEFAULT_POLICY);
    expect(asked).toBe(0);
    // The last walk found a, b kept: the next looks once two more keys are added.
    registry.get('d', DEFAULT_POLICY);
    registry.get('e', DEFAULT_POLICY);
    expect(asked).toBeGreaterThan(0);
  });

  it('asks about ten endpoints per key added, not every live one: a walk drops to 0.9 x max', () => {
    let asked = 0;
    let kept = true;
    const registry = new EndpointRegistry(1000, (key) => {
      const pinned = kept;
      return {
        get evictable() {
          asked++;
          return !pinned;
        },
        breaker: new CircuitBreaker(key, DEFAULT_POLICY.breaker, () => {}),
        snapshot: () => ({ key }) as BreakerSnapshot,
      };
    });
    // A thousand that cannot go (open breakers, calls in progress), then a thousand healthy ones.
    for (let i = 0; i < 1000; i++) registry.get(`down${i}`, DEFAULT_POLICY);
    kept = false;
    for (let i = 0; i < 1000; i++) registry.get(`up${i}`, DEFAULT_POLICY);
    asked = 0;
    // A new origin per call: every key added is past the bound.
    for (let i = 0; i < 2000; i++) registry.get(`new${i}`, DEFAULT_POLICY);
    // Each walk asks of ~2000 endpoints and makes room for 100 keys: ~20 per key (2000 before).
    expect(asked / 2000).toBeLessThan(25);
    const live = keysOf(registry);
    expect(live.filter((key) => key.startsWith('down'))).toHaveLength(1000);
    expect(live.length).toBeLessThanOrEqual(2000);
    expect(live.length).toBeGreaterThan(1900);
    // The most recently added are the ones kept.
    expect(live.at(-1)).toBe('new1999');
  });
});

describe('EndpointState.evictable', () => {
  it('reads the throttle state only once the cheap conditions hold', async () => {
    let read = 0;
    const breaker = new CircuitBreaker('k', DEFAULT_POLICY.breaker, () => {});
    const state = new EndpointState('k', breaker, () => {
      read++;
      return { throttledUntil: null, waiting: 0, retryBudgetLeft: null };
    });
    let finish: () => void = () => {};
    const call = state.track(() => new Promise<void>((resolve) => (finish = resolve)));
    expect(state.evictable).toBe(false);
    expect(read).toBe(0);
    finish();
    await call;
    expect(state.evictable).toBe(true);
    expect(read).toBe(1);
  });
});

describe('past the bound with as many endpoints that cannot be dropped', () => {
  it('keeps the other endpoints between their calls: a failing one still opens its breaker', async () => {
    const fetch = wrapFetch(
      async (input) => new Response('', { status: String(input).includes('ok') ? 200 : 500 }),
      { maxEndpoints: 2, policy: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3 } } },
    );
    for (const host of ['down1', 'down2']) {
      for (let i = 0; i < 3; i++) await fetch(`https://${host}.example.com/`);
    }
    // Two keys used in turn: each addition dropped every endpoint that could go, the other one too.
    for (let i = 0; i < 3; i++) {
      await fetch('https://ok.example.com/');
      await fetch('https://failing.example.com/');
    }
    expect(fetch.breakers().map((b) => [b.key, b.state])).toEqual([
      ['default https://down1.example.com', 'open'],
      ['default https://down2.example.com', 'open'],
      ['default https://ok.example.com', 'closed'],
      ['default https://failing.example.com', 'open'],
    ]);
  });
});

describe('an endpoint whose breaker opened and that nobody calls any more', () => {
  const policy = {
    retry: { maxAttempts: 1 },
    breaker: { consecutiveFailures: 1, halfOpenAfterMs: 100, maxHalfOpenAfterMs: 200 },
  };

  it('is dropped past maxEndpoints once its probe has been due for maxHalfOpenAfterMs', async () => {
    const fetch = wrapFetch(
      async (input) => new Response('', { status: String(input).includes('gone') ? 500 : 200 }),
      { maxEndpoints: 1, policy },
    );
    for (let i = 0; i < 3; i++) await fetch(`https://gone${i}.example.com/`);
    await fetch('https://live.example.com/');
    // Probes due at 100 ms: within maxHalfOpenAfterMs of that, the open breakers are kept.
    expect(fetch.breakers().map((b) => b.state)).toEqual(['open', 'open', 'open', 'closed']);
    await new Promise((resolve) => setTimeout(resolve, 350));
    await fetch('https://live2.example.com/');
    expect(fetch.breakers().map((b) => b.key)).toEqual(['default https://live2.example.com']);
  });

  it('is kept while held open by hand, and an open one is kept while it is called', async () => {
    const fetch = wrapFetch(async () => new Response('', { status: 500 }), { maxEndpoints: 1, policy });
    fetch.isolate('default https://held.example.com');
    await fetch('https://held.example.com/').catch(() => {});
    await fetch('https://called.example.com/');
    await new Promise((resolve) => setTimeout(resolve, 350));
    // Its probe fails: open again, for a longer wait, and just called.
    await fetch('https://called.example.com/');
    await fetch('https://other.example.com/');
    expect(fetch.breakers().map((b) => [b.key, b.state])).toEqual([
      ['default https://held.example.com', 'isolated'],
      ['default https://called.example.com', 'open'],
      ['default https://other.example.com', 'open'],
    ]);
  });
});

describe('createEndpointBreakers from the root entry point', () => {
  it('is exported by @breakwater/core itself, not only by the adapter entry points', async () => {
    expect(typeof core.createEndpointBreakers).toBe('function');
    const breakers = core.createEndpointBreakers({ maxEndpoints: 1 });
    const target = { method: 'GET', url: 'https://api.example.com/v1/x' };
    expect(await breakers.run(target, () => 'ok')).toBe('ok');
    expect(breakers.breakers()).toMatchObject([{ key: 'default https://api.example.com', calls: 1 }]);
  });

  it('keeps a breaker whose call is in progress past maxEndpoints', async () => {
    const breakers = core.createEndpointBreakers({ maxEndpoints: 1 });
    let finish: () => void = () => {};
    const slow = breakers.run(
      { method: 'GET', url: 'https://slow.example.com/' },
      () => new Promise<void>((resolve) => (finish = resolve)),
    );
    await breakers.run({ method: 'GET', url: 'https://fast.example.com/' }, () => 1);
    expect(breakers.breakers()).toMatchObject([
      { key: 'default https://slow.example.com', inFlight: 1 },
      { key: 'default https://fast.example.com', inFlight: 0 },
    ]);
    finish();
    await slow;
    await breakers.run({ method: 'GET', url: 'https://other.example.com/' }, () => 1);
    expect(breakers.breakers().map((b) => b.key)).toEqual(['default https://other.example.com']);
  });
});

describe('a wrapped call in progress', () => {
  it('counts as in flight until it settles, resolved or rejected, so that its endpoint is not dropped', async () => {
    let answer: (value: Response) => void = () => {};
    let fail: (reason: unknown) => void = () => {};
    const pending = (): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        answer = resolve;
        fail = reject;
      });
    const wrapped = core.wrapFetch(pending, { policy: { retry: { maxAttempts: 1 } } });
    const first = wrapped('https://api.example.com/v1/x');
    expect(wrapped.breakers()).toMatchObject([{ inFlight: 1 }]);
    answer(new Response('ok'));
    await first;
    expect(wrapped.breakers()).toMatchObject([{ inFlight: 0 }]);
    const second = wrapped('https://api.example.com/v1/x').catch((e: unknown) => e);
    expect(wrapped.breakers()).toMatchObject([{ inFlight: 1 }]);
    fail(new TypeError('fetch failed'));
    expect(await second).toBeInstanceOf(TypeError);
    expect(wrapped.breakers()).toMatchObject([{ inFlight: 0 }]);
  });
});
