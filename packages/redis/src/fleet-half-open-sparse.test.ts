import { type BreakwaterStore, wrapFetch } from '@breakwater/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { upstream } from './upstream.test-util.ts';

// While an upstream stays down, one breaker's probes grow apart (halfOpenAfterMs, doubled by each
// failed probe). A fleet's lease used to last the asking instance's own wait, doubled only by its own
// probes: the lease passed from instance to instance at about halfOpenAfterMs each, and 4 instances
// sent 11 to 14 probes in 6 s where one sends 4, close to what 4 independent instances send.

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
  breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 100, maxHalfOpenAfterMs: 3_200 },
  retry: { maxAttempts: 1 },
};

/** Probes `path` received while `n` instances called it every 20 ms for 4 s (the n calls that opened left out). */
async function probes(n: number, shared: boolean, path: string, gap: number, offset = 0): Promise<number> {
  const closes: (() => void)[] = [];
  const fetches = [];
  for (let i = 0; i < n; i++) {
    let store: BreakwaterStore | undefined;
    if (shared) {
      const client = await connectClient(redis);
      // A loaded machine's late answer would mark the store down, and each instance then probes
      // alone, as it should while Redis is down: not this test's case.
      const fleetStore = redisStore({ client, prefix: 'sparse:', refreshMs: 200, timeoutMs: 2_000 });
      closes.push(() => {
        fleetStore.close();
        client.destroy();
      });
      store = fleetStore;
    }
    fetches.push(wrapFetch(globalThis.fetch, store ? { store, policy } : { policy }));
  }
  const end = Date.now() + 8_000;
  await Promise.all(
    fetches.map(async (fetch, i) => {
      await sleep(i * offset);
      while (Date.now() < end) {
        await fetch(`${server.origin}${path}`).catch(() => {});
        await sleep(gap);
      }
    }),
  );
  for (const close of closes) close();
  return server.arrivals(path).length - n;
}

// Calls further apart than twice the lease found the fleet's last step gone (review s23: 9 probes
// in 8 s against one breaker's 6); it is kept for its length plus the longest wait.
it('sparse traffic: a fleet (4 x a call a second, staggered) probes as one breaker called every 250 ms', async () => {
  const [alone, fleet] = await Promise.all([
    probes(1, false, '/alone', 250),
    probes(4, true, '/fleet', 1_000, 250),
  ]);
  expect(fleet).toBeLessThanOrEqual(alone + 1);
}, 30_000);
