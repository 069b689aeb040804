import { DEFAULT_POLICY } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';
import * as core from './index.ts';
import { EndpointRegistry, type LiveEndpoint } from './registry.ts';
import type { BreakerSnapshot } from './types.ts';

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
