import { expect, it } from 'vitest';
import { RedisConnection } from './connection.ts';
import { ProbeLeases } from './probe-lease.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();
const instance = (id: string) =>
  new ProbeLeases(new RedisConnection(redis.client, 1_000, () => {}), 'cap2:', id);

it("a breaker lease refuses an instance no longer than that instance's own maxHalfOpenAfterMs", async () => {
  const a = instance('a'); // maxHalfOpenAfterMs 60 000 (another service, a config rolling out)
  const b = instance('b'); // maxHalfOpenAfterMs 2 000
  for (let i = 0; i < 12; i++) {
    expect(await a.tryLease('k', 100, 60_000)).toBe(true);
    await redis.client.del('cap2:probe:k');
  }
  expect(await a.tryLease('k', 100, 60_000)).toBe(true);
  // b asks with its own longest wait, 2 s: refused (a's probe is out), for no longer than 2 s from the
  // lease's start (review s23: taken over at once, two probes went out together).
  const refused = await b.tryLease('k', 100, 2_000);
  expect(typeof refused).toBe('number');
  expect(refused).toBeGreaterThan(1_000);
  expect(refused).toBeLessThanOrEqual(2_000);
  // 2.5 s into a's lease (its expiry moved as that much time would), an instance with a 2 s wait takes it.
  await redis.client.pExpire('cap2:probe:k', 57_500);
  expect(await instance('c').tryLease('k', 100, 2_000)).toBe(true);
});
