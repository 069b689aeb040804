import { type BreakwaterEvent, wrapFetch } from '@breakwater/core';
import { createClient } from 'redis';
import { afterEach, expect, it, vi } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { type RedisStore, redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';

// The store learned that Redis had died only from a command's timeout: a call asking for a lease in
// between (a breaker's probe, a gate's paced recovery) waited that timeout out, and more when its timer
// ran late on a busy process (the timeout is then given again). The client knew at once: its socket
// had closed, and it was reconnecting.

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Client = Awaited<ReturnType<typeof connectClient>>;

async function redisAndClient(): Promise<{ redis: RedisServer; client: Client }> {
  const redis = await startRedis();
  const client = await connectClient(redis);
  cleanups.push(
    () => redis.stop(),
    () => client.destroy(),
  );
  return { redis, client };
}

/**
 * Waits until the store has no command out (its scripts' load, then what the calls so far sent: a
 * command sent after them is answered after them), so that Redis dies between commands.
 */
async function quiet(store: RedisStore, client: Client): Promise<void> {
  await (store as unknown as { connection: { loadScripts(): Promise<void> } }).connection.loadScripts();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await client.sendCommand(['PING']);
}

it('a lease asked once Redis has died is answered from local state at once, not after the timeout', async () => {
  const { redis, client } = await redisAndClient();
  const store = redisStore({ client, prefix: 'dead:', timeoutMs: 50, refreshMs: 60_000 });
  cleanups.push(() => store.close());
  const statuses: [boolean, string | undefined][] = [];
  const listener = {
    closed() {},
    probeClosed() {},
    status: (up: boolean, cause?: string) => statuses.push([up, cause]),
  };
  store.attach(listener);
  // Held for the test: the store holds its listeners weakly.
  cleanups.push(() => listener);
  expect(await store.tryLease('k', 1_000, 1_000)).toBe(true);
  await quiet(store, client);
  await redis.kill();
  await until(() => client.isReady === false, 2_000);

  // No time passes from here: the store's 50 ms timeout cannot fire.
  vi.useFakeTimers();
  let answer: true | number | undefined;
  void Promise.resolve(store.tryLease('other', 1_000, 1_000)).then((a) => {
    answer = a;
  });
  await vi.advanceTimersByTimeAsync(10);
  expect(answer).toBe(true);
  expect(store.up).toBe(false);
  expect(statuses).toEqual([[false, 'disconnected']]);
});

it("Redis killed: an open breaker's probe goes out on the local breaker's word, with no Redis timeout to wait", async () => {
  const { redis, client } = await redisAndClient();
  const server = await upstream((path, res) => res.writeHead(path === '/down' ? 503 : 200).end());
  cleanups.push(() => server.close());
  // A timeout no call may wait for: the test's own (5 s) ends first if one does.
  const store = redisStore({ client, prefix: 'dead-probe:', timeoutMs: 30_000, refreshMs: 60_000 });
  cleanups.push(() => store.close());
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, {
    store,
    policy: {
      breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 100 },
      retry: { maxAttempts: 1 },
    },
    onEvent: (e) => events.push(e),
  });
  const down = `${server.origin}/down`;
  expect((await fetch(down)).status).toBe(503);
  expect(fetch.breakers()[0]?.state).toBe('open');
  await quiet(store, client);
  await redis.kill();
  await until(() => client.isReady === false, 2_000);
  await until(() => Date.now() >= (fetch.breakers()[0]?.nextProbeAt ?? 0), 2_000);

  // Redis died before any command of the store failed: the store is still up when the probe is due.
  expect(store.up).toBe(true);
  const before = server.arrivals('/down').length;
  expect((await fetch(down)).status).toBe(503);
  expect(server.arrivals('/down').length - before).toBe(1);
  expect(events.flatMap((e) => (e.type === 'store-down' ? [e.cause] : []))).toEqual(['disconnected']);
});

it('a client still connecting when the store is built (connect() not awaited) tells no store-down', async () => {
  const redis = await startRedis();
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => {});
  const connecting = client.connect();
  const store = redisStore({ client, prefix: 'connecting:', refreshMs: 1_000 });
  const statuses: string[] = [];
  const listener = {
    closed() {},
    probeClosed() {},
    status: (up: boolean, cause?: string) => statuses.push(`${up} ${cause}`),
  };
  store.attach(listener);
  cleanups.push(
    () => redis.stop(),
    () => client.destroy(),
    () => store.close(),
  );
  store.closures('default https://api.example');
  await connecting;
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Taken as a lost connection, it was down ('disconnected') until the next refresh (review s24 R, D2).
  expect(statuses).toEqual([]);
  expect(store.up).toBe(true);
});
