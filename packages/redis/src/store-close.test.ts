import { createClient } from 'redis';
import { afterEach, expect, it } from 'vitest';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { useRedis } from './use-redis.test-util.ts';

// `close()` is an app's shutdown: it must leave no connection of the store's open (an open one keeps
// the process alive), and must not throw, whatever state node-redis left the subscriber in.

const redis = useRedis();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** The connections Redis has open now. */
async function connections(): Promise<number> {
  const list = (await redis.client.sendCommand(['CLIENT', 'LIST'])) as string;
  return list.trim().split('\n').length;
}

/** Polls the connections every 10 ms until there are at least `n`, for at most 2 s. */
async function untilConnections(n: number): Promise<void> {
  const end = Date.now() + 2_000;
  while ((await connections()) < n) {
    if (Date.now() > end) throw new Error(`not ${n} connections within 2 s`);
    await sleep(10);
  }
}

it('close() right after redisStore() leaves no connection open: the subscriber still connecting is closed too', async () => {
  const client = await connectClient(redis);
  cleanups.push(() => client.destroy());
  const before = await connections();
  // The subscriber connects in the background; a short-lived job or a test closes the store at once.
  redisStore({ client, prefix: 'close-at-once:' }).close();
  // A store left open shows when a subscriber has had the time to connect.
  const control = redisStore({ client, prefix: 'close-control:' });
  await untilConnections(before + 1);
  await sleep(100);
  control.close();
  await sleep(100);
  expect(await connections()).toBe(before);
});

it('close() does not throw once the subscriber gave up reconnecting (a bounded reconnectStrategy)', async () => {
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  const store = redisStore({ client, prefix: 'close-gave-up:' });
  await sleep(200);
  await redis.kill();
  try {
    await sleep(200);
    expect(() => store.close()).not.toThrow();
  } finally {
    await redis.restart();
  }
});
