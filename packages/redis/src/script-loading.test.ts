import type { StoreListener } from '@breakwater/core';
import { createClient } from 'redis';
import { afterEach, expect, it } from 'vitest';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

// The store runs its scripts by SHA (`EVALSHA`), loaded with `SCRIPT LOAD`; `EVAL` sends a script's
// whole text (the counts' is over a kilobyte, at every flush).

const redis = useRedis();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** Calls of each scripting command since the last reset, from `INFO commandstats`. */
async function scriptCalls(): Promise<Record<string, number>> {
  const info = (await redis.client.sendCommand(['INFO', 'commandstats'])) as string;
  const calls: Record<string, number> = {};
  for (const [, name = '', n = '0'] of info.matchAll(/cmdstat_(eval\w*|script\|\w+):calls=(\d+)/g)) {
    calls[name] = Number(n);
  }
  return calls;
}

function statuses(store: ReturnType<typeof redisStore>): string[] {
  const told: string[] = [];
  const listener: StoreListener = {
    closed: () => {},
    probeClosed: () => {},
    status: (up, cause) => told.push(up ? 'up' : `down ${cause}`),
  };
  store.attach(listener);
  // Held for the test: the store holds its listeners weakly.
  cleanups.push(() => listener);
  return told;
}

it('a store started while Redis was down runs its scripts by SHA once Redis answers, not by EVAL for its life', async () => {
  await redis.kill();
  const client = createClient({ url: redis.url, socket: { reconnectStrategy: () => 50 } });
  client.on('error', () => {});
  const connecting = client.connect().catch(() => {});
  const store = redisStore({ client, prefix: 'started-down:', refreshMs: 50 });
  cleanups.push(
    () => client.destroy(),
    () => store.close(),
  );
  const told = statuses(store);
  store.closures('default https://api.example.com');
  await until(() => told.includes('down timeout'), 2_000);
  // Long enough for every load of the start to have timed out.
  await sleep(500);
  await redis.restart();
  await connecting;
  await until(() => told.at(-1) === 'up', 5_000);
  await sleep(100);
  await redis.client.sendCommand(['CONFIG', 'RESETSTAT']);
  for (let i = 0; i < 5; i++) {
    store.counter('budget:default https://api.example.com', 10_000).add('calls');
    await sleep(60);
  }
  const calls = await scriptCalls();
  expect(calls.evalsha).toBeGreaterThan(0);
  expect(calls.eval).toBeUndefined();
});

it('an ACL that refuses SCRIPT and allows the scripts: the store stays up, its scripts run by EVAL', async () => {
  const admin = await connectClient(redis);
  cleanups.push(() => admin.destroy());
  await admin.sendCommand(['ACL', 'SETUSER', 'noscript', 'on', '>pw', '~*', '&*', '+@all', '-script']);
  const client = await connectClient({ url: `redis://noscript:pw@127.0.0.1:${redis.port}` });
  // A generous timeout: a loaded machine's late answer must not read as the store going down.
  const store = redisStore({ client, prefix: 'acl-noscript:', refreshMs: 50, timeoutMs: 1_000 });
  cleanups.push(
    () => client.destroy(),
    () => store.close(),
  );
  const told = statuses(store);
  for (let i = 0; i < 6; i++) {
    store.counter('budget:default https://api.example.com', 10_000).add('calls');
    await sleep(60);
  }
  expect(told).toEqual([]);
  expect(store.up).toBe(true);
});
