import { expect, it } from 'vitest';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

// Redis can lose the store's keys while it stays up (a FLUSHALL, an eviction, a restart quicker than a
// refresh): the closures still holding were written back only after an outage, so an instance that
// started meanwhile, or whose messages were missed, sent into the fleet's cool-down.

const redis = useRedis();

/** Polls the async `condition` every 20 ms, for at most `ms`. */
async function eventually(condition: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

it('after a FLUSHALL, the closures an instance knows to hold are written back at its next refresh', async () => {
  const client = await connectClient(redis);
  const store = redisStore({ client, prefix: 'flushed:', refreshMs: 50, timeoutMs: 1_000 });
  const key = 'default https://api.example';
  const strictKey = `flushed:gate:strict:${key}`;
  try {
    store.closures(key);
    store.closeUntil(key, 5_000, true, { wMax: 8, known: true });
    store.closeUntil(key, 5_000, false);
    await eventually(async () => (await redis.client.pTTL(strictKey)) > 0, 1_000, 'not written');

    await redis.client.flushAll();
    const ttls = async () => [
      await redis.client.pTTL(strictKey),
      await redis.client.pTTL(`flushed:gate:loose:${key}`),
    ];
    await eventually(async () => (await ttls()).every((ms) => ms > 0), 2_000, 'not written back');
    // Written back for what was left of them, not afresh.
    for (const ms of await ttls()) expect(ms).toBeLessThan(5_000);
    // Another instance starting now finds the fleet's closure at its first read.
    const late = await connectClient(redis);
    const other = redisStore({ client: late, prefix: 'flushed:', refreshMs: 60_000 });
    try {
      other.closures(key);
      await until(() => other.closures(key).some((c) => c.strict), 1_000);
    } finally {
      other.close();
      late.destroy();
    }
  } finally {
    store.close();
    client.destroy();
  }
});
