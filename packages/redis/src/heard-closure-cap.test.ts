import { wrapFetch } from '@breakwater/core';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';

// README: a response "closes it for `retry.maxRetryAfterMs` at most". A closure heard from another
// instance was applied as sent: an instance with a larger cap (a config being rolled out, another
// service on the same key) held this one for as long as its own cap allowed.

let redis: RedisServer;
let server: Awaited<ReturnType<typeof upstream>>;
beforeAll(async () => {
  redis = await startRedis();
  server = await upstream((path, res) => {
    if (path === '/throttled') res.writeHead(429, { 'retry-after': '30' }).end();
    else res.writeHead(200).end('ok');
  });
});
afterAll(async () => {
  await server.close();
  await redis.stop();
});
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

async function instance(maxRetryAfterMs: number) {
  const client = await connectClient(redis);
  // A generous timeout: a loaded machine's late answer must not read as the store going down.
  const store = redisStore({ client, prefix: 'cap:', refreshMs: 100, timeoutMs: 2_000 });
  cleanups.push(() => {
    store.close();
    client.destroy();
  });
  return wrapFetch(globalThis.fetch, { store, policy: { retry: { maxAttempts: 1, maxRetryAfterMs } } });
}

it("a closure heard from the fleet holds this instance no longer than its own maxRetryAfterMs, told or found at the key's first call", async () => {
  const a = await instance(60_000);
  const b = await instance(2_000);
  const c = await instance(2_000);
  await b(`${server.origin}/ok`);
  await a(`${server.origin}/throttled`);
  await until(() => b.breakers()[0]?.throttledUntil != null, 2_000);
  expect((b.breakers()[0]?.throttledUntil ?? 0) - Date.now()).toBeLessThanOrEqual(2_000);
  // c heard it too, for a key it had not called yet: its first call's gate starts from it.
  const held = c(`${server.origin}/ok`);
  expect((c.breakers()[0]?.throttledUntil ?? 0) - Date.now()).toBeLessThanOrEqual(2_000);
  expect((await held).status).toBe(200);
});
