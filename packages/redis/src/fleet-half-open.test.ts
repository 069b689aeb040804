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
/** How the instances call: every `gapMs` for `forMs`, instance i starting `i x offsetMs` late. */
interface Calls {
  readonly gapMs?: number;
  readonly offsetMs?: number;
  readonly forMs?: number;
  readonly maxHalfOpenAfterMs?: number;
  readonly prefix?: string;
}

/** Probes `path` received while `n` instances called it (the n calls that opened left out). */
async function probes(n: number, shared: boolean, path: string, calls: Calls = {}): Promise<number> {
  const { gapMs = 20, offsetMs = 0, forMs = 4_000, maxHalfOpenAfterMs = 1_600, prefix = 'backoff:' } = calls;
  const policy = {
    breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 100, maxHalfOpenAfterMs },
    retry: { maxAttempts: 1 },
  };
  const closes: (() => void)[] = [];
  const fetches = [];
  for (let i = 0; i < n; i++) {
    let store: BreakwaterStore | undefined;
    if (shared) {
      const client = await connectClient(redis);
      // A loaded machine's late answer would mark the store down, and each instance then probes
      // alone, as it should while Redis is down: not this test's case.
      const fleetStore = redisStore({ client, prefix, refreshMs: 200, timeoutMs: 2_000 });
      closes.push(() => {
        fleetStore.close();
        client.destroy();
      });
      store = fleetStore;
    }
    fetches.push(wrapFetch(globalThis.fetch, store ? { store, policy } : { policy }));
  }
  const end = Date.now() + forMs;
  await Promise.all(
    fetches.map(async (fetch, i) => {
      await sleep(i * offsetMs);
      while (Date.now() < end) {
        await fetch(`${server.origin}${path}`).catch(() => {});
        await sleep(gapMs);
      }
    }),
  );
  for (const close of closes) close();
  return server.arrivals(path).length - n;
}

it('a fleet whose upstream stays down probes as one breaker does, not once per instance', async () => {
  const [alone, fleet] = await Promise.all([probes(1, false, '/alone'), probes(4, true, '/fleet')]);
  // One breaker: at 100, 300, 700, 1 500 and 3 100 ms. The fleet's leases grow from the first probe
  // (100, 200, 400, 800, 1 600 ms): one probe more at most.
  expect(fleet).toBeLessThanOrEqual(alone + 1);
}, 15_000);

// Calls further apart than twice the lease found the fleet's last step gone (review s23: 9 probes
// in 8 s against one breaker's 6); it is kept for its length plus the longest wait.
it('sparse traffic: a fleet (4 x a call a second, staggered) probes as one breaker called every 250 ms', async () => {
  const sparse = { forMs: 8_000, maxHalfOpenAfterMs: 3_200, prefix: 'sparse:' };
  const [alone, fleet] = await Promise.all([
    probes(1, false, '/sparse-alone', { ...sparse, gapMs: 250 }),
    probes(4, true, '/sparse-fleet', { ...sparse, gapMs: 1_000, offsetMs: 250 }),
  ]);
  expect(fleet).toBeLessThanOrEqual(alone + 1);
}, 30_000);
