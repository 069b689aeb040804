/**
 * Finding (redis store): two apps that share a Redis but keep apart by database number (`redis://h/1`,
 * `redis://h/2`) with the default prefix hear each other: Redis's channels span its databases, so a
 * 429 of app A closes app B's gate for an endpoint key both use (two services calling one third-party
 * API with per-account limits), and A's breaker probe closes B's breaker. Keys stay apart, messages do
 * not. README: "`prefix` (default `breakwater:`: instances that share state use the same one)" says
 * nothing of databases. Documented since (package README, the option's doc); a code fix would carry
 * the database (or a namespace read from the keyspace) in the channel name or the messages.
 */
import type { StoreListener } from '@breakwater/core';
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../src/redis-server.test-util.ts';
import { redisStore } from '../src/redis-store.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function app(database: number) {
  const client = createClient({ url: redis.url, database });
  client.on('error', () => {});
  await client.connect();
  return { client, store: redisStore({ client }) };
}

it("an app on another database does not hear this one's closures nor its probes", async () => {
  const a = await app(1);
  const b = await app(2);
  const heard: string[] = [];
  const listener: StoreListener = {
    closed: (key) => heard.push(`closed ${key}`),
    probeClosed: (key) => heard.push(`probeClosed ${key}`),
    status: () => {},
  };
  b.store.attach(listener);
  const key = 'default https://api.example.com';
  b.store.closures(key);
  await sleep(300);
  a.store.closeUntil(key, 30_000, true);
  a.store.probeClosed(key);
  await sleep(300);
  try {
    expect(heard).toEqual([]);
    expect(b.store.closures(key)).toEqual([]);
  } finally {
    for (const { client, store } of [a, b]) {
      store.close();
      client.destroy();
    }
  }
});
