import { type FetchLike, type WrappedFetch, wrapFetch } from '@breakwater/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';

let redis: RedisServer;
let server: Awaited<ReturnType<typeof upstream>>;
let down = false;
let flaky = 0;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  server = await upstream((path, res) => {
    if (path === '/flaky' && flaky > 0) {
      flaky--;
      res.writeHead(500).end();
    } else res.writeHead(down ? 500 : 200).end();
  });
});
afterAll(async () => {
  await server.close();
  await redis.stop();
});
afterEach(async () => {
  down = false;
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// The consecutive rule alone: the ratio vote, with its own tests, needs more calls than these.
const options = {
  policy: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 5, minimumCalls: 1_000 } },
};

/** One "instance" of a fleet: its own client, store and wrapped fetch (of `fetch`: its network). */
async function instance(prefix: string, fetch: FetchLike = globalThis.fetch) {
  const client = await connectClient(redis);
  const store = redisStore({ client, prefix, refreshMs: 100 });
  cleanups.push(
    () => client.destroy(),
    () => store.close(),
  );
  return wrapFetch(fetch, { ...options, store });
}

const state = (fetch: WrappedFetch) => fetch.breakers()[0]?.state;
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One call of each instance in turn, each after the previous one's news had time to arrive. */
async function round(fleet: WrappedFetch[], path: string): Promise<number[]> {
  const statuses: number[] = [];
  for (const fetch of fleet) {
    statuses.push(
      await fetch(`${server.origin}${path}`).then(
        (r) => r.status,
        () => 0,
      ),
    );
    await pause(15);
  }
  return statuses;
}

/** Healthy calls until every instance counts the others as active on the key (the refresh's count). */
async function warm(fleet: WrappedFetch[], path: string): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await round(fleet, path);
    await pause(120);
  }
}

describe('fleet opening on consecutive failures (issue 14)', () => {
  it('an outage seen by 4 instances opens them all after about the threshold fleet-wide', async () => {
    const fleet = await Promise.all([1, 2, 3, 4].map(() => instance('open1:')));
    await warm(fleet, '/outage');
    const before = server.arrivals('/outage').length;
    down = true;
    for (let i = 0; i < 10 && !fleet.every((f) => state(f) === 'open'); i++) await round(fleet, '/outage');
    expect(fleet.map(state)).toEqual(['open', 'open', 'open', 'open']);
    // Threshold 5 plus one call in flight per instance; each instance alone would take 4 x 5 = 20.
    expect(server.arrivals('/outage').length - before).toBeLessThanOrEqual(5 + 4);
  });

  it('an instance whose fetch always fails opens only its own breaker, in a fleet of 3', async () => {
    // Its network is broken: every request goes to a loopback port where nothing listens.
    const dead = await upstream(() => {});
    await dead.close();
    const broken: FetchLike = (input, init) =>
      globalThis.fetch(String(input).replace(server.origin, dead.origin), init);
    const [a, b, sick] = [
      await instance('open2:'),
      await instance('open2:'),
      await instance('open2:', broken),
    ];
    if (!a || !b || !sick) throw new Error('unreachable');
    await warm([a, b], '/flaky');
    await round([sick], '/flaky');
    await pause(120);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) {
      // The healthy ones see a lone failure now and then, while the sick one's run is long: 2 of 3
      // in a run is a majority, yet their runs of 1 are far from the threshold.
      if (i % 3 === 0) flaky = 1;
      const [sa = 0, sb = 0] = await round([a, b, sick], '/flaky');
      statuses.push(sa, sb);
    }
    await until(() => state(sick) === 'open', 1_000);
    expect([state(a), state(b)]).toEqual(['closed', 'closed']);
    // Only the upstream's own lone failures: no healthy call refused by a breaker.
    expect(statuses.filter((s) => s !== 200 && s !== 500)).toEqual([]);
  });

  it('Redis down: runs heard before are forgotten, each instance opens on its own run alone', async () => {
    const fleet = await Promise.all([1, 2, 3].map(() => instance('open3:')));
    const [a, b, c] = fleet;
    if (!a || !b || !c) throw new Error('unreachable');
    await warm(fleet, '/outage');
    down = true;
    // B and C are 3 failures into a run, heard by A.
    for (let i = 0; i < 3; i++) await round([b, c], '/outage');
    await redis.kill();
    try {
      await until(() => a.breakers()[0]?.sharing === 'local', 2_000);
      // With the stale runs (3 + 3), A's 2nd failure would open it; alone it takes its own 5.
      await round([a, a, a, a], '/outage');
      expect(state(a)).toBe('closed');
      await round([a], '/outage');
      expect(state(a)).toBe('open');
    } finally {
      await redis.restart();
    }
  });
});
