/**
 * Finding (redis store with core's breaker): the half-open backoff does not compound fleet-wide. Each
 * instance doubles its wait only on its own failed probes, and the fleet's lease lasts the asking
 * instance's own interval, so while the upstream stays down the lease passes from instance to instance
 * at about `halfOpenAfterMs` each: n instances send about n times the probes one instance would,
 * close to what n independent instances send. README: "an open breaker sends one half-open probe per
 * interval for the whole fleet instead of one per instance". Measured (4 instances, 6 s, upstream
 * always 503, halfOpenAfterMs 200, max 3 200): alone 4 probes, 4 independent 16, 4 shared 14.
 */
import { type BreakwaterStore, MEMORY_STORE, wrapFetch } from '@breakwater/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectClient, type RedisServer, startRedis } from '../src/redis-server.test-util.ts';
import { redisStore } from '../src/redis-store.ts';
import { upstream } from '../src/upstream.test-util.ts';

let redis: RedisServer;
let server: Awaited<ReturnType<typeof upstream>>;
beforeAll(async () => {
  redis = await startRedis();
  server = await upstream((_path, res) => res.writeHead(503).end());
});
afterAll(async () => {
  await server.close();
  await redis.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const policy = {
  breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 200, maxHalfOpenAfterMs: 3_200 },
  retry: { maxAttempts: 1 },
};

/** Requests `path` received while `n` instances called it every 20 ms for 6 s, minus the n that opened. */
async function probes(n: number, shared: boolean, path: string): Promise<number> {
  const closes: (() => void)[] = [];
  const fetches = [];
  for (let i = 0; i < n; i++) {
    let store: BreakwaterStore = MEMORY_STORE;
    if (shared) {
      const client = await connectClient(redis);
      const fleetStore = redisStore({ client, prefix: 'backoff:', refreshMs: 200 });
      closes.push(() => {
        fleetStore.close();
        client.destroy();
      });
      store = fleetStore;
    }
    fetches.push(wrapFetch(globalThis.fetch, { store, policy }));
  }
  const end = Date.now() + 6_000;
  await Promise.all(
    fetches.map(async (fetch) => {
      while (Date.now() < end) {
        await fetch(`${server.origin}${path}`).catch(() => {});
        await sleep(20);
      }
    }),
  );
  for (const close of closes) close();
  return server.arrivals(path).length - n;
}

it('a fleet whose upstream stays down probes about as often as one instance, not once per instance', async () => {
  const alone = await probes(1, false, '/alone');
  const fleet = await probes(4, true, '/fleet');
  // One probe more for a lease that changes hands right at its end.
  expect(fleet).toBeLessThanOrEqual(alone + 1);
}, 30_000);
