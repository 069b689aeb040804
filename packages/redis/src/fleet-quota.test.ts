import { type BreakwaterEvent, wrapFetch } from '@breakwater/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { NO_CUT } from './scripts.ts';
import { until, upstream } from './upstream.test-util.ts';

/**
 * A spent quota (a 200 saying `r=0`) holds every caller of the fleet until its reset, as a 429 does,
 * but cuts no rate: one answer measures no rate, here or on the instances told of it.
 */
describe('a spent quota shared across a fleet', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis.stop();
  });

  it('holds the other instance until the reset and cuts no rate there', async () => {
    let spend = true;
    const server = await upstream((_path, res) => {
      const r = spend ? 0 : 99;
      spend = false;
      res.writeHead(200, { RateLimit: `"default";r=${r};t=1`, 'RateLimit-Policy': '"default";q=100;w=1' });
      res.end('ok');
    });
    const clients = await Promise.all([connectClient(redis), connectClient(redis)]);
    const stores = clients.map((client) => redisStore({ client, prefix: 'quota:', refreshMs: 100 }));
    const events: BreakwaterEvent[] = [];
    const [a, b] = stores.map((store, i) =>
      wrapFetch(globalThis.fetch, { store, onEvent: (e) => (i === 1 ? events.push(e) : undefined) }),
    );
    try {
      if (!a || !b) throw new Error('no instance');
      const url = `${server.origin}/items`;
      // B has used the key at 20/s, so its pipeline hears A's closure as it comes, with a rate to cut.
      for (let i = 0; i < 10; i++) {
        await (await b(url)).arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      spend = true;
      await (await a(url)).arrayBuffer();
      await until(() => b.breakers()[0]?.throttlePhase === 'closed', 2_000);
      expect(b.breakers()[0]?.rateLimit).toBeNull();
      await (await b(url)).arrayBuffer();
      expect(b.breakers()[0]).toMatchObject({ rateLimit: null, throttlePhase: 'open' });
      expect(events.filter((e) => e.type === 'rate-change')).toEqual([]);
    } finally {
      for (const store of stores) store.close();
      for (const client of clients) client.destroy();
      await server.close();
    }
  });
  it('an instance that reads the closure at its refresh, its message missed, cuts no rate either', async () => {
    const server = await upstream((_path, res) => res.writeHead(200).end('ok'));
    const client = await connectClient(redis);
    const raw = await connectClient(redis);
    const store = redisStore({ client, prefix: 'quota-late:', refreshMs: 100 });
    const events: BreakwaterEvent[] = [];
    const b = wrapFetch(globalThis.fetch, { store, onEvent: (e) => events.push(e) });
    try {
      const url = `${server.origin}/items`;
      // B's own calls give its gate a rate that a 429 would cut.
      for (let i = 0; i < 5; i++) await (await b(url)).arrayBuffer();
      // Written as another instance's spent quota whose message was lost leaves it: the key, no PUBLISH.
      await raw.set(`quota-late:gate:strict:default ${server.origin}`, `elsewhere${NO_CUT}`, { PX: 2_000 });
      await until(() => b.breakers()[0]?.throttlePhase === 'closed', 2_000);
      expect(b.breakers()[0]?.rateLimit).toBeNull();
      expect(events.filter((e) => e.type === 'rate-change')).toEqual([]);
    } finally {
      store.close();
      client.destroy();
      raw.destroy();
      await server.close();
    }
  });
});
