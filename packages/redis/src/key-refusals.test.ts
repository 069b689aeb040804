import type { StoreListener } from '@breakwater/core';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { connectClient } from './redis-server.test-util.ts';
import { type RedisStore, redisStore } from './redis-store.ts';
import { until } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => unknown)[] = [];
let warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  warnings.push(warning);
};
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** The store's refusal warnings (`BREAKWATER_REDIS_REFUSED`), as printed. */
const refusals = (): string[] =>
  warnings
    .filter((w) => (w as Error & { code?: string }).code === 'BREAKWATER_REDIS_REFUSED')
    .map((w) => w.message);

/** A store on its own client (`url`: another user's), with what its listeners hear. */
async function instance(prefix: string, url = redis.url) {
  const client = await connectClient({ url });
  // A generous timeout: a loaded machine's late answer must not read as the store going down.
  const store = redisStore({ client, prefix, refreshMs: 50, timeoutMs: 1_000 });
  cleanups.push(
    () => client.destroy(),
    () => store.close(),
  );
  const statuses: string[] = [];
  const closed: { key: string; strict: boolean }[] = [];
  const listener: StoreListener = {
    closed: (key, _ms, strict) => closed.push({ key, strict }),
    probeClosed: () => {},
    status: (up, cause) => statuses.push(up ? 'up' : `down ${cause}`),
  };
  store.attach(listener);
  return { store, statuses, closed };
}

/** Counts once on each store's names, every 20 ms, for `ms`. */
async function countFor(ms: number, counts: [RedisStore, string[]][]): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    for (const [store, names] of counts) for (const name of names) store.counter(name, 10_000).add('calls');
    await sleep(20);
  }
}

it("a count key that clashes with another app's key keeps the store up: that count alone stays local, told once", async () => {
  const a = await instance('clash:');
  const b = await instance('clash:');
  // Another app's strings where the count's buckets (a second each, numbered by Redis's clock) go.
  const [seconds] = (await redis.client.sendCommand(['TIME'])) as [string, string];
  for (let s = Number(seconds) - 12; s < Number(seconds) + 30; s++) {
    await redis.client.sendCommand(['SET', `clash:count:budget:clashing:${s}`, 'another app']);
  }
  // The other instance counts on the fine key only: it meets no clash (its warning would be its own).
  await countFor(600, [
    [a.store, ['budget:clashing', 'budget:fine']],
    [b.store, ['budget:fine']],
  ]);
  // About twelve refreshes, each meeting the clash: the store never went down.
  expect(a.statuses).toEqual([]);
  expect(a.store.up).toBe(true);
  // The count beside it in the same call is still the fleet's; the clashing one is this instance's.
  expect(a.store.counter('budget:fine', 10_000).others()).toEqual([
    expect.objectContaining({ calls: expect.any(Number) }),
  ]);
  expect(a.store.counter('budget:clashing', 10_000).others()).toEqual([]);
  expect(refusals()).toEqual([expect.stringMatching(/^breakwater: Redis refused .*WRONGTYPE/)]);
  expect(refusals().join()).not.toContain('clashing');
});

it('a PUBLISH an ACL refuses keeps the store up, told once per cause; the closure reaches the others by the refresh', async () => {
  await redis.client.sendCommand([
    'ACL',
    'SETUSER',
    'nopub',
    'on',
    '>pw-Nopub1',
    '~*',
    'resetchannels',
    '+@all',
  ]);
  const a = await instance('nopub:', `redis://nopub:pw-Nopub1@127.0.0.1:${redis.port}`);
  const b = await instance('nopub:');
  b.store.closures('https://api.example');
  const runs = a.store.counter('breaker:https://api.example', 10_000);
  for (let i = 1; i <= 12; i++) {
    // A run of failures (published on the runs channel), a probe that closed the breaker and a
    // closure (published by the CLOSE script): each a PUBLISH the ACL refuses, across refreshes.
    runs.run?.(i);
    a.store.probeClosed('https://api.example');
    a.store.closeUntil('https://api.example', 5_000 + i, true);
    await sleep(50);
  }
  expect(a.statuses).toEqual([]);
  expect(a.store.up).toBe(true);
  await until(() => b.closed.length > 0, 1_000);
  expect(b.closed[0]).toEqual({ key: 'https://api.example', strict: true });
  const told = refusals();
  expect(told.length).toBeGreaterThan(0);
  expect(new Set(told).size).toBe(told.length);
  for (const message of told) expect(message).toMatch(/^breakwater: Redis refused .*channel/);
  expect(told.join()).not.toMatch(/Nopub1|redis:\/\/|api\.example/);
});

it('a count Redis refuses for itself (OOM at maxmemory) takes the store down, not for a key clash', async () => {
  const a = await instance('oom:');
  a.store.counter('budget:x', 10_000).add('calls');
  await until(() => a.store.up, 1_000);
  await redis.client.sendCommand(['CONFIG', 'SET', 'maxmemory', '1']);
  try {
    await countFor(300, [[a.store, ['budget:x']]]);
    expect(a.statuses.some((s) => s.startsWith('down OOM'))).toBe(true);
    expect(refusals()).toEqual([]);
  } finally {
    await redis.client.sendCommand(['CONFIG', 'SET', 'maxmemory', '0']);
  }
});

it('a Redis turned replica (reads answered, writes refused) keeps the store down, each cause told once, not down and up at every refresh', async () => {
  const a = await instance('replica:');
  a.store.closures('https://api.example');
  a.store.counter('budget:x', 10_000).add('calls');
  await sleep(100);
  expect(a.store.up).toBe(true);
  // A replica of a primary that is not there: it answers reads and refuses every write (READONLY).
  await redis.client.sendCommand(['REPLICAOF', '127.0.0.1', '1']);
  try {
    await countFor(600, [[a.store, ['budget:x']]]);
    expect(a.statuses.length).toBeGreaterThan(0);
    expect(a.statuses.every((s) => s.startsWith('down READONLY'))).toBe(true);
    expect(new Set(a.statuses).size).toBe(a.statuses.length);
    expect(a.store.up).toBe(false);
  } finally {
    await redis.client.sendCommand(['REPLICAOF', 'NO', 'ONE']);
  }
  // A primary again: the next refresh's write answers, and the store is up.
  await until(() => a.store.up, 2_000);
  expect(a.statuses.at(-1)).toBe('up');
});

it('a SUBSCRIBE an ACL refuses is told once, and asked again at each refresh: once allowed, the others are heard', async () => {
  await redis.client.sendCommand([
    'ACL',
    'SETUSER',
    'nosub',
    'on',
    '>pw-Nosub1',
    '~*',
    'resetchannels',
    '+@all',
  ]);
  const a = await instance('nosub:', `redis://nosub:pw-Nosub1@127.0.0.1:${redis.port}`);
  const b = await instance('nosub:');
  const key = 'https://api.example';
  a.store.closures(key);
  // A rate cut travels only with the channel's message: the refresh reads the closure, not its cut.
  const cuts: unknown[] = [];
  const listener: StoreListener = {
    closed: (_key, _ms, _strict, cut) => cuts.push(cut),
    probeClosed: () => {},
    status: () => {},
  };
  a.store.attach(listener);
  cleanups.push(() => listener);
  await until(() => refusals().length > 0, 2_000);
  // Several refreshes, each asking again: the same refusal is told once.
  await sleep(300);
  expect(refusals()).toEqual([expect.stringMatching(/^breakwater: Redis refused .*NOPERM .*channel/)]);
  expect(refusals().join()).not.toMatch(/Nosub1|redis:\/\/|nosub:gate/);
  expect(a.store.up).toBe(true);

  await redis.client.sendCommand(['ACL', 'SETUSER', 'nosub', 'allchannels']);
  const end = Date.now() + 2_000;
  for (let i = 1; !cuts.some((cut) => cut !== undefined); i++) {
    if (Date.now() > end) throw new Error("the others' messages were never heard");
    b.store.closeUntil(key, 5_000 + 100 * i, true, { wMax: 10, known: true });
    await sleep(50);
  }
});
