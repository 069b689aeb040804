import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { COUNTS_PER_CALL } from './fleet-counts.ts';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

/** How a test store's client is set up: each command seen first (it may throw), and its timings. */
interface StoreSetup {
  readonly intercept?: (args: readonly string[]) => void;
  readonly refreshMs?: number;
  readonly timeoutMs?: number;
}

/** A store on its own client, with every command it sends counted (Redis itself answers them). */
async function countingStore(prefix: string, { intercept, refreshMs = 100, timeoutMs }: StoreSetup = {}) {
  const client = await connectClient(redis);
  const counted = { commands: 0 };
  const store = redisStore({
    client: {
      sendCommand: async (args, options) => {
        counted.commands++;
        intercept?.(args);
        return client.sendCommand(args, options);
      },
      duplicate: () => client.duplicate(),
    },
    prefix,
    refreshMs,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  const close = (): void => {
    store.close();
    client.destroy();
  };
  return { store, counted, close };
}

it('the refresh flushes and reads every fleet count, each name with its own counts', async () => {
  const names = Array.from({ length: 20 }, (_, i) => `budget:https://api${i}.example`);
  const a = await countingStore('batch:');
  const b = await countingStore('batch:');
  try {
    names.forEach((name, i) => {
      const counter = a.store.counter(name, 10_000);
      for (let n = 0; n <= i; n++) counter.add('calls');
      b.store.counter(name, 10_000).add('retries');
    });
    const others = (name: string) => b.store.counter(name, 10_000).others();
    await until(() => names.every((name) => others(name).length === 1), 2_000);
    for (const [i, name] of names.entries()) {
      expect(others(name)).toEqual([{ calls: i + 1, retries: 0, failures: 0 }]);
    }
    // A quiet instance: no key watched, so a refresh is a `READ` of no key and the counts' flush.
    const before = a.counted.commands;
    await sleep(1_000);
    const refreshes = 10;
    expect(a.counted.commands - before).toBeLessThanOrEqual(2 * (refreshes + 1));
  } finally {
    a.close();
    b.close();
  }
});

/** COUNT calls' key counts, read from what the store sends (`EVALSHA sha n key...`). */
function countCalls(args: readonly string[]): number | undefined {
  if (!/^EVAL/.test(args[0] ?? '') || !(args[3] ?? '').includes('count:')) return undefined;
  return Number(args[2]);
}

it('a flush of many counts goes in short script calls of at most 64 counts, each count reaching the others', async () => {
  const sizes: number[] = [];
  const a = await countingStore('chunks:', {
    intercept: (args) => {
      const n = countCalls(args);
      if (n !== undefined) sizes.push(n);
    },
  });
  const b = await countingStore('chunks:');
  const names = Array.from({ length: 300 }, (_, i) => `budget:https://api${i}.example`);
  try {
    for (const name of names) a.store.counter(name, 10_000).add('calls');
    for (const name of names) b.store.counter(name, 10_000).add('calls');
    await until(() => names.every((name) => b.store.counter(name, 10_000).others().length === 1), 3_000);
    expect(sizes.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(COUNTS_PER_CALL);
  } finally {
    a.close();
    b.close();
  }
});

it("a COUNT call that fails drops only its own counts' increments: the next ones arrive once Redis answers", async () => {
  let failed = false;
  const a = await countingStore('late:', {
    timeoutMs: 50,
    intercept: (args) => {
      if (countCalls(args) === undefined || failed) return;
      failed = true;
      throw new Error('Connection is closed.');
    },
  });
  const b = await countingStore('late:');
  const names = Array.from({ length: 200 }, (_, i) => `budget:https://api${i}.example`);
  try {
    for (const name of names) a.store.counter(name, 10_000).add('calls');
    for (const name of names) b.store.counter(name, 10_000).add('calls');
    const seen = (name: string) => b.store.counter(name, 10_000).others().length === 1;
    await until(() => names.slice(COUNTS_PER_CALL).every(seen), 3_000);
    expect(failed).toBe(true);
    for (const name of names.slice(COUNTS_PER_CALL)) {
      expect(b.store.counter(name, 10_000).others()).toEqual([{ calls: 1, retries: 0, failures: 0 }]);
    }
    // The failed call's own increments are dropped (the local windows still hold them).
    for (const name of names.slice(0, COUNTS_PER_CALL))
      expect(b.store.counter(name, 10_000).others()).toEqual([]);
  } finally {
    a.close();
    b.close();
  }
});

it('an instance that starts counting on a key is known to the fleet at once, not a refresh later', async () => {
  // A throttle soon after the fleet starts cuts the fleet's rate from this instance's share times the
  // instances it knows: one not yet seen shrinks the whole fleet's pace (bench fleet: 44/64 calls).
  const slow = () => countingStore('joining:', { refreshMs: 60_000 });
  const a = await slow();
  const b = await slow();
  try {
    a.store.counter('budget:k', 10_000).add('calls');
    await sleep(100);
    b.store.counter('budget:k', 10_000).add('calls');
    await until(() => b.store.instances?.('k') === 2, 500);
    expect(b.store.instances?.('k')).toBe(2);
  } finally {
    a.close();
    b.close();
  }
});

it('a count that counted nothing here for its window is no longer read at each refresh, and comes back with its next count', async () => {
  const a = await countingStore('idle:', { refreshMs: 50, timeoutMs: 1_000 });
  const b = await countingStore('idle:', { refreshMs: 50, timeoutMs: 1_000 });
  try {
    const names = Array.from({ length: 100 }, (_, i) => `budget:https://api${i}.example`);
    for (const name of names) a.store.counter(name, 300).add('calls');
    // Past the window and a refresh: nothing counted on any of them since.
    await sleep(500);
    const before = a.counted.commands;
    await sleep(500);
    // About ten refreshes, a READ each; the 100 counts would add two COUNT calls to each.
    expect(a.counted.commands - before).toBeLessThanOrEqual(15);
    const [name = ''] = names;
    // A first count is flushed at once: b's reaches Redis within a round trip.
    b.store.counter(name, 300).add('calls');
    await sleep(100);
    a.store.counter(name, 300).add('calls');
    await until(() => a.store.counter(name, 300).others().length === 1, 1_000);
  } finally {
    a.close();
    b.close();
  }
});
