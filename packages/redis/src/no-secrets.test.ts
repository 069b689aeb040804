import { wrapFetch } from '@breakwater/core';
import { expect, it } from 'vitest';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

const SECRETS = /Bearer|tok-Secret99|cred-Key77|q-Token55|session-Cookie31/;

/**
 * What the fleet shares goes to a server the application's operators (and anyone with its MONITOR or
 * a replica) can read: every command the store sends, keys, arguments and published messages, is
 * watched while calls carrying credentials meet every shared path (a throttle published, a failure
 * run, budget counts, the breaker's opening and its probe).
 */
it('no command the store sends to Redis holds a credential header, cookie or token from the URL', async () => {
  const monitor = await connectClient(redis);
  const sent: string[] = [];
  await monitor.monitor((line) => sent.push(String(line)));
  const client = await connectClient(redis);
  let throttled = 1;
  const server = await upstream((path, res) => {
    if (path === '/v1/throttled' && throttled-- > 0) res.writeHead(429, { 'retry-after': '1' }).end();
    else if (path === '/v1/down') res.writeHead(500).end('down');
    else res.writeHead(200).end('ok');
  });
  const store = redisStore({ client, prefix: 'nosecret:', refreshMs: 50 });
  const fetch = wrapFetch(globalThis.fetch, {
    store,
    endpoints: [
      { name: 'by-token', match: '*/v1/throttled', keyHeader: 'authorization' },
      { name: 'by-key', match: '*/v1/*', keyHeader: 'x-api-key' },
    ],
    policy: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 100 } },
  });
  const headers = {
    authorization: 'Bearer tok-Secret99',
    'x-api-key': 'cred-Key77',
    cookie: 'sid=session-Cookie31',
  };
  try {
    await fetch(`${server.origin}/v1/throttled?access_token=q-Token55`, { headers });
    for (let i = 0; i < 5; i++) {
      await fetch(`${server.origin}/v1/down?access_token=q-Token55`, { headers }).catch(() => undefined);
    }
    // Long enough for refreshes, the flush of counts and the breaker's probe after 100 ms.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await fetch(`${server.origin}/v1/ok?access_token=q-Token55`, { headers })).status).toBe(200);
    await until(() => sent.some((line) => line.includes('PUBLISH')), 2_000);
    // The fleet did share: a throttle, failures and counts went to Redis, keyed by the endpoints.
    const all = sent.join('\n');
    expect(all).toMatch(/nosecret:/);
    expect(all).toMatch(/by-token/);
    expect(all).toMatch(/by-key/);
    // Each credential's value is in the keys as its keyed hash, and only so.
    expect(all).toMatch(/authorization=hmac:[0-9a-f]{16}/);
    expect(all).toMatch(/x-api-key=hmac:[0-9a-f]{16}/);
    expect(all).not.toMatch(SECRETS);
  } finally {
    store.close();
    client.destroy();
    monitor.destroy();
    await server.close();
  }
});
