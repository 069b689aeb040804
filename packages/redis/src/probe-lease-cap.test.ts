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
  // b asks with its own longest wait, 2 s: a's 60 s lease may not hold it longer (review s23).
  const refused = await b.tryLease('k', 100, 2_000);
  expect(refused === true || refused <= 2_000).toBe(true);
});
