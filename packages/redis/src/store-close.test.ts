import { createClient } from 'redis';
import { expect, it } from 'vitest';
import { redisStore } from './redis-store.ts';
import { useRedis } from './use-redis.test-util.ts';

// `close()` is an app's shutdown: it must leave no connection of the store's open (an open one keeps
// the process alive), and must not throw, whatever state node-redis left the subscriber in.

const redis = useRedis();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

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
