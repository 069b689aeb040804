import { inspect } from 'node:util';
import { type BreakwaterEvent, wrapFetch } from '@breakwater/core';
import { expect, it } from 'vitest';
import { RedisConnection } from './connection.ts';
import { FleetCountBook } from './fleet-counts.ts';
import { connectClient } from './redis-server.test-util.ts';
import { redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A Lua script that holds Redis itself for `ms`. */
const spin = (ms: number): string => `local s = redis.call('TIME')
  repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > ${ms * 1000}
  return 1`;

it('a reply error marks the store down with its code and message, once per outage whatever the causes, never its arguments', async () => {
  const client = await connectClient(redis);
  const seen: [boolean, string | undefined][] = [];
  const c = new RedisConnection(client, 1_000, (up, cause) => seen.push([up, cause]));
  try {
    const readOnly = [
      'EVAL',
      "return redis.error_reply('READONLY replica ' .. ARGV[1])",
      '0',
      'secret-value',
    ];
    expect(await c.command(readOnly)).toBeUndefined();
    // The same error again, as every refresh of a store on a replica would meet it, then another
    // cause in the same outage: one outage, told once, with the cause that began it.
    expect(await c.command(readOnly, true)).toBeUndefined();
    const lua = ['EVAL', "return redis.error_reply('ERR refused ' .. ARGV[1])", '0', 'token-abc123'];
    expect(await c.command(lua, true)).toBeUndefined();
    expect(seen).toEqual([[false, 'READONLY replica …']]);
    // Scripts refused: a PING that passes does not bring the store back; a script that runs does.
    expect(await c.command(['PING'], true)).toBe('PONG');
    expect(c.up).toBe(false);
    expect(await c.command(['EVAL', 'return 1', '0'], true)).toBe(1);
    // A new outage is told again, with its own cause.
    expect(await c.command(lua)).toBeUndefined();
    expect(seen.slice(1)).toEqual([
      [true, undefined],
      [false, 'ERR refused …'],
    ]);
    expect(JSON.stringify(seen)).not.toMatch(/secret|token-abc123/);
  } finally {
    client.destroy();
  }
});

it("a WRONGTYPE reply (another app's key under the prefix) leaves the store up and is told once, without the key", async () => {
  const client = await connectClient(redis);
  const seen: [boolean, string | undefined][] = [];
  const refused: string[] = [];
  const c = new RedisConnection(
    client,
    1_000,
    (up, cause) => seen.push([up, cause]),
    (cause) => refused.push(cause),
  );
  try {
    await client.sendCommand(['SET', 'clash:secret-key', 'secret-value']);
    const wrongType = ['EVAL', "return redis.call('HGET', KEYS[1], 'f')", '1', 'clash:secret-key'];
    expect(await c.command(wrongType)).toBeUndefined();
    expect(await c.command(wrongType)).toBeUndefined();
    expect(c.up).toBe(true);
    expect(seen).toEqual([]);
    expect(refused).toEqual([
      expect.stringMatching(/^WRONGTYPE Operation against a key holding the wrong kind of value/),
    ]);
    expect(refused.join()).not.toMatch(/secret/);
  } finally {
    client.destroy();
  }
});

it('a Redis that does not answer in time marks the store down with cause timeout', async () => {
  const client = await connectClient(redis);
  const seen: [boolean, string | undefined][] = [];
  const c = new RedisConnection(client, 50, (up, cause) => seen.push([up, cause]));
  try {
    expect(await c.command(['EVAL', spin(300), '0'])).toBeUndefined();
    expect(seen).toEqual([[false, 'timeout']]);
  } finally {
    client.destroy();
  }
});

it('a store whose scripts an ACL refuses stays down, told once with NOPERM, and no secret is in the event', async () => {
  const admin = await connectClient(redis);
  await admin.sendCommand([
    'ACL',
    'SETUSER',
    'app',
    'on',
    '>pw-Hunter2',
    '~*',
    '&*',
    '+@all',
    '-evalsha',
    '-eval',
  ]);
  const url = `redis://app:pw-Hunter2@127.0.0.1:${redis.port}`;
  const client = await connectClient({ url });
  const server = await upstream((_, res) => res.writeHead(200).end('ok'));
  // A loaded machine's slow answer is a `timeout` cause, not the ACL's refusal this test is about.
  const store = redisStore({ client, prefix: 'acl:', refreshMs: 50, timeoutMs: 1_000 });
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, {
    store,
    endpoints: [{ name: 'api', match: '/v1', keyHeader: 'x-api-key' }],
    onEvent: (e) => events.push(e),
  });
  const statuses = () => events.filter((e) => e.type === 'store-down' || e.type === 'store-up');
  try {
    for (let i = 0; i < 3; i++) {
      await fetch(`${server.origin}/v1`, { headers: { 'x-api-key': 'cred-Secret42' } });
    }
    store.counter('budget:counted', 10_000).add('calls');
    // Ten refreshes: each PINGs or publishes fine, and each script is refused.
    await sleep(600);
    // Down, and told once per refused command (`EVAL`, `EVALSHA`), not once per refresh.
    const causes = statuses().map((e) => (e.type === 'store-down' ? e.cause : e.type));
    expect(causes.length).toBeGreaterThan(0);
    expect(causes.every((cause) => /^NOPERM .*'eval(sha)?' command$/.test(cause ?? ''))).toBe(true);
    expect(new Set(causes).size).toBe(causes.length);
    const printed = [
      inspect(events, { depth: 9 }),
      JSON.stringify(events),
      String(events.map((e) => Object.values(e))),
    ];
    for (const text of printed) expect(text).not.toMatch(/Hunter2|cred-Secret42|redis:\/\//);
    // The ACL fixed: the next refresh's script runs, and the store is up.
    await admin.sendCommand(['ACL', 'SETUSER', 'app', '+evalsha', '+eval']);
    await until(() => statuses().some((e) => e.type === 'store-up'), 2_000);
    expect(statuses().at(-1)?.type).toBe('store-up');
  } finally {
    store.close();
    client.destroy();
    admin.destroy();
    await server.close();
  }
});

it("a counter's first count made while a flush is in flight is flushed right after it, not at the refresh", async () => {
  const admin = await connectClient(redis);
  const client = await connectClient(redis);
  const book = new FleetCountBook(new RedisConnection(client, 1_000, () => {}), 'soon:', 'me');
  try {
    // Redis busy: the first counter's flush waits behind this script, in flight.
    const busy = admin.sendCommand(['EVAL', spin(200), '0']);
    await sleep(20);
    book.counter('budget:a', 10_000).add('calls');
    await sleep(20);
    book.counter('budget:b', 10_000).add('calls');
    await busy;
    // Its bucket: `<prefix>count:<name>:<bucket number>`.
    const flushed = async (): Promise<boolean> =>
      ((await client.sendCommand(['KEYS', 'soon:count:budget:b:*'])) as string[]).length === 1;
    const end = Date.now() + 1_000;
    while (!(await flushed()) && Date.now() < end) await sleep(10);
    expect(await flushed()).toBe(true);
  } finally {
    client.destroy();
    admin.destroy();
  }
});
