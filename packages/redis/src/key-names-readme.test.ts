import { readFileSync } from 'node:fs';
import { wrapFetch } from '@breakwater/core';
import { expect, it } from 'vitest';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const MAIN_README = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

/**
 * The metrics hash a `keyHeader`'s value, the fleet cannot: every instance must name a key the same
 * way, so a short plain value is in Redis's key names and messages as it is. Users who partition by
 * an e-mail or a tenant name must learn that from the READMEs, which show it as the store does it.
 */
it("a plain keyHeader value goes into Redis's key names verbatim, a long one as its FNV digest, as both READMEs say", async () => {
  const monitor = await connectClient(redis);
  const sent: string[] = [];
  await monitor.monitor((line) => sent.push(String(line)));
  const client = await connectClient(redis);
  const server = await upstream((_path, res) => res.writeHead(429, { 'retry-after': '1' }).end());
  const store = redisStore({ client, prefix: 'keynames:', refreshMs: 50 });
  const fetch = wrapFetch(globalThis.fetch, {
    store,
    endpoints: [{ name: 'orders', match: '*/v1/*', keyHeader: 'X-User-Email' }],
    policy: { retry: { maxAttempts: 1 } },
  });
  const long = `${'x'.repeat(70)}@example.com`;
  try {
    for (const email of ['alice@example.com', long]) {
      await (await fetch(`${server.origin}/v1/orders`, { headers: { 'x-user-email': email } })).text();
    }
    const plain = `keynames:gate:strict:orders ${server.origin} x-user-email=alice@example.com`;
    const digest = /keynames:gate:strict:orders \S+ x-user-email=#[0-9a-f]{8}/;
    // The closures are written in the background, a round trip or so after each 429.
    await until(
      () => sent.some((line) => line.includes(plain)) && sent.some((line) => digest.test(line)),
      2_000,
    );
    expect(sent.join('\n')).not.toContain(long);
  } finally {
    store.close();
    client.destroy();
    monitor.destroy();
    await server.close();
  }
  const documented = '`<prefix>gate:strict:orders https://api.example.com x-user-email=alice@example.com`';
  expect(README).toContain(documented);
  const fleet = MAIN_README.slice(MAIN_README.indexOf('### Sharing state across instances (Redis)'));
  expect(fleet.slice(0, fleet.indexOf('\n### ', 1))).toContain(documented);
});
