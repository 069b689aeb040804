import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { MAX_WATCHED } from './bounded.ts';
import { redisStore } from './redis-store.ts';
import { until } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

/** A store whose refresh's `READ` sizes (gate keys read per call, past the instance's heartbeat) are recorded. */
function store(prefix: string) {
  const reads: number[] = [];
  const made = redisStore({
    client: {
      sendCommand: (args, options) => {
        if (/^EVAL/.test(args[0] ?? '') && (args[3] ?? '').includes(`${prefix}gate:`))
          reads.push(Number(args[2]) - 1);
        return redis.client.sendCommand(args, options);
      },
      duplicate: () => redis.client.duplicate(),
    },
    prefix,
    refreshMs: 100,
    // Many closures at once from one instance: slow on a loaded machine, not a Redis outage.
    timeoutMs: 1_000,
  });
  return { store: made, reads };
}

const counts = { calls: 1, retries: 0, failures: 0 };

it('a counter still in use outlives newer ones past the bound, and keeps being refreshed', async () => {
  const { store: a } = store('lru:');
  const { store: b } = store('lru:');
  try {
    const live = a.counter('budget:https://live.example', 10_000);
    live.add('calls');
    b.counter('budget:https://live.example', 10_000).add('calls');
    await until(() => live.others().length === 1, 2_000);
    // The retry budget asks for its counter once, when its pipeline is built: the key stays in use by
    // counting on it, which the refresh flushes, while new keys come.
    for (let i = 0; i < 2 * MAX_WATCHED; i++) {
      a.counter(`budget:https://other${i}.example`, 10_000);
      if (i % 500 === 0) {
        live.add('calls');
        await sleep(250);
      }
    }
    expect(a.counter('budget:https://live.example', 10_000)).toBe(live);
    b.counter('budget:https://live.example', 10_000).add('calls');
    await until(() => live.others()[0]?.calls === 2, 3_000);
  } finally {
    a.close();
    b.close();
  }
});

it('a counter forgotten past the bound answers no other instance, not counts that never change again', async () => {
  const { store: a } = store('evict:');
  const { store: b } = store('evict:');
  try {
    const old = a.counter('budget:https://old.example', 10_000);
    old.add('calls');
    b.counter('budget:https://old.example', 10_000).add('calls');
    await until(() => old.others().length === 1, 2_000);
    expect(old.others()).toEqual([counts]);
    for (let i = 0; i < 2 * MAX_WATCHED; i++) a.counter(`budget:https://new${i}.example`, 10_000);
    expect(old.others()).toEqual([]);
  } finally {
    a.close();
    b.close();
  }
});

it("closures heard for keys not in use here do not push out this instance's keys nor enlarge its refresh", async () => {
  const { store: a, reads } = store('heard:');
  const { store: b } = store('heard:');
  let heard = 0;
  a.attach({ closed: () => heard++, probeClosed: () => {}, status: () => {} });
  try {
    const mine = 'https://mine.example';
    a.closures(mine);
    // a's subscriber is connected once it hears a first closure.
    await until(() => {
      b.closeUntil('https://first.example', 5_000, true);
      return heard > 0;
    }, 2_000);
    for (let i = 0; i < MAX_WATCHED + 10; i++) b.closeUntil(`https://elsewhere${i}.example`, 5_000, true);
    await until(() => heard >= MAX_WATCHED + 11, 3_000);
    reads.length = 0;
    await until(() => reads.length >= 2, 2_000);
    // The refresh reads this instance's one key (its strict and loose closures), as before the news.
    expect(Math.max(...reads)).toBe(2);
    // Still watched: a closure of it made while pub/sub is not heard is read back by the refresh.
    await redis.client.sendCommand(['SET', `heard:gate:strict:${mine}`, 'x', 'PX', '5000']);
    await until(() => a.closures(mine).length === 1, 2_000);
    // A key heard before its first use here starts with the fleet's closure.
    expect(a.closures(`https://elsewhere${MAX_WATCHED + 9}.example`)).toHaveLength(1);
  } finally {
    a.close();
    b.close();
  }
});
