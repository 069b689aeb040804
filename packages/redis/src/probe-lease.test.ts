import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { MAX_WATCHED } from './bounded.ts';
import { RedisConnection } from './connection.ts';
import { ProbeLeases } from './probe-lease.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

/** One instance's leases, on the shared client (each instance is told apart by its id). */
function instance(id: string, prefix: string): ProbeLeases {
  return new ProbeLeases(new RedisConnection(redis.client, 1_000, () => {}), prefix, id);
}

/** The names an instance remembers as leased elsewhere (its memory, which must stay bounded). */
function remembered(leases: ProbeLeases): number {
  return (leases as unknown as { leasedElsewhere: Map<string, number> }).leasedElsewhere.size;
}

it('the holder of a lease asking for it again is granted it, not refused by itself', async () => {
  const a = instance('a', 'again:');
  expect(await a.tryLease('probe', 5_000)).toBe(true);
  expect(await a.tryLease('probe', 5_000)).toBe(true);
});

it("a late free leaves another instance's lease alone", async () => {
  const a = instance('a', 'late:');
  const b = instance('b', 'late:');
  const c = instance('c', 'late:');
  expect(await a.tryLease('probe', 60)).toBe(true);
  await sleep(100);
  // a's lease expired before its probe answered: b took the next one.
  expect(await b.tryLease('probe', 5_000)).toBe(true);
  a.free('probe');
  await redis.client.sendCommand(['PING']);
  const refused = await c.tryLease('probe', 5_000);
  expect(typeof refused).toBe('number');
  expect(refused).toBeGreaterThan(4_000);
});

it('a lease remembered as held elsewhere is forgotten once it ended', async () => {
  const holder = instance('holder', 'ended:');
  const asker = instance('asker', 'ended:');
  expect(await holder.tryLease('short', 50)).toBe(true);
  expect(typeof (await asker.tryLease('short', 50))).toBe('number');
  await sleep(80);
  expect(await asker.tryLease('short', 50)).toBe(true);
  expect(remembered(asker)).toBe(0);
});

it('the leases remembered as held elsewhere are bounded', async () => {
  const holder = instance('holder', 'many:');
  const asker = instance('asker', 'many:');
  const names = Array.from({ length: 2 * MAX_WATCHED + 50 }, (_, i) => `breaker-${i}`);
  await Promise.all(names.map((name) => holder.tryLease(name, 10_000)));
  await Promise.all(names.map((name) => asker.tryLease(name, 10_000)));
  expect(remembered(asker)).toBeLessThanOrEqual(2 * MAX_WATCHED);
  // The most recently refused are the ones kept: no second round trip for them.
  expect(typeof asker.tryLease(names.at(-1) ?? '', 10_000)).toBe('number');
});

it("a breaker's lease runs twice the fleet's last, whoever takes it, up to the longest wait; a probe that closed the breaker starts afresh", async () => {
  const a = instance('a', 'backoff:');
  const b = instance('b', 'backoff:');
  const left = (): Promise<number> => redis.client.pTTL('backoff:probe:k');
  // Each lease runs out before the next is asked for, as the fleet's probes fail one after another.
  const ranOut = (): Promise<number> => redis.client.del('backoff:probe:k');
  const granted: number[] = [];
  for (const asker of [a, b, a, b, a]) {
    // Each asks with its own wait, 100 ms: neither has seen its own probe fail twice.
    expect(await asker.tryLease('k', 100, 1_000)).toBe(true);
    granted.push(await left());
    await ranOut();
  }
  expect(granted.map((ms) => Math.ceil(ms / 100) * 100)).toEqual([100, 200, 400, 800, 1_000]);
  // The holder too waits for its lease: its own wait is shorter than the fleet's.
  expect(await b.tryLease('k', 100, 1_000)).toBe(true);
  expect(typeof (await b.tryLease('k', 100, 1_000))).toBe('number');
  b.closed('k');
  expect(await a.tryLease('k', 100, 1_000)).toBe(true);
  expect(await left()).toBeLessThanOrEqual(100);
});
