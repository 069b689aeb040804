import { setTimeout as sleep } from 'node:timers/promises';
import { wrapFetch } from '@breakwater/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';

/** How long the paced phase is watched after the probe's answer, ms. */
const PACED_MS = 4_000;
/** Calls the callers offer after the 429, for the whole fleet: more than any pace sends in PACED_MS. */
const DEMAND = 120;

interface Recovery {
  /** Requests that reached the upstream while the first one after the cool-down was unanswered. */
  readonly probes: number;
  /** Requests that reached the upstream in the PACED_MS after the probe's answer. */
  readonly paced: number;
}

/**
 * One recovery from a 429, run by `size` instances (each its own node-redis client, store and wrapped
 * fetch, as a process of a fleet has) against their own upstream: instance 0 sends 5 calls/s for a
 * second, then meets a 429 with `Retry-After: 1`; the other instances join then, and the fleet's
 * callers offer DEMAND calls at once, shared evenly. Every request but the 429 is answered after
 * 100 ms, so a probe's answer takes a visible moment.
 */
async function recovery(redis: RedisServer, size: number, prefix: string): Promise<Recovery> {
  let throttleNext = false;
  const server = await upstream((_path, res) => {
    if (throttleNext) {
      throttleNext = false;
      res.writeHead(429, { 'retry-after': '1' }).end();
    } else setTimeout(() => res.writeHead(200).end('ok'), 100);
  });
  const clients = await Promise.all(Array.from({ length: size }, () => connectClient(redis)));
  const stores = clients.map((client) => redisStore({ client, prefix, refreshMs: 100 }));
  const fetches = stores.map((store) => wrapFetch(globalThis.fetch, { store }));
  const url = `${server.origin}/paced`;
  const stop = new AbortController();
  const calls: Promise<unknown>[] = [];
  const call = (fetch: (typeof fetches)[number]) =>
    calls.push(
      fetch(url, { signal: stop.signal }).then(
        (r) => r.arrayBuffer(),
        () => undefined,
      ),
    );
  try {
    const [first] = fetches;
    if (!first) throw new Error('no instance');
    for (let i = 0; i < 5; i++) {
      await (await first(url)).arrayBuffer();
      await sleep(100);
    }
    throttleNext = true;
    call(first);
    await until(() => first.breakers()[0]?.throttlePhase === 'closed', 2_000);
    const throttledAt = server.arrivals('/paced').at(-1)?.at ?? 0;
    const key = first.breakers()[0]?.key ?? '';
    // The others learn the closure by pub/sub before their callers arrive.
    await until(() => stores.every((store) => store.closures(key).length > 0), 2_000);
    for (let i = 0; i < DEMAND; i++) call(fetches[i % size] ?? first);
    await until(() => server.arrivals('/paced').some((a) => a.at > throttledAt), 3_000);
    const probeAt = server.arrivals('/paced').find((a) => a.at > throttledAt)?.at ?? 0;
    await sleep(probeAt + 100 + PACED_MS - Date.now());
    const after = server.arrivals('/paced').filter((a) => a.at >= probeAt);
    return {
      probes: after.filter((a) => a.at < probeAt + 90).length,
      paced: after.filter((a) => a.at >= probeAt + 90 && a.at < probeAt + 100 + PACED_MS).length,
    };
  } finally {
    stop.abort();
    await Promise.all(calls);
    for (const store of stores) store.close();
    for (const client of clients) client.destroy();
    await server.close();
  }
}

describe('fleet-wide paced recovery after a shared 429', () => {
  let redis: RedisServer;
  let alone: Recovery;
  let fleet: Recovery;

  beforeAll(async () => {
    redis = await startRedis();
    // Side by side, so the machine's load weighs on both alike.
    [alone, fleet] = await Promise.all([recovery(redis, 1, 'alone:'), recovery(redis, 3, 'fleet:')]);
  }, 30_000);
  afterAll(async () => {
    await redis.stop();
  });

  it('the fleet sends one probe after the cool-down, not one per instance', () => {
    expect(alone.probes).toBe(1);
    expect(fleet.probes).toBe(1);
  });

  it("the fleet's paced send rate is one instance's, not multiplied by the instances", () => {
    // One instance carrying the same calls is the reference: the fleet's three shares sum to its curve.
    expect(alone.paced).toBeGreaterThan(5);
    expect(fleet.paced).toBeLessThanOrEqual(Math.ceil(alone.paced * 1.25) + 2);
    // Not starved either: each instance's share is a third, not less.
    expect(fleet.paced).toBeGreaterThanOrEqual(Math.floor(alone.paced * 0.7) - 2);
  });
});
