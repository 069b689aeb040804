import { type BreakwaterEvent, type WrappedFetch, wrapFetch } from '@breakwater/core';
import { isConfigError } from '@breakwater/policies';
import { createCluster } from 'redis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisStoreOptions } from './options.ts';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';
import { type RedisStore, redisStore } from './redis-store.ts';
import { until, upstream } from './upstream.test-util.ts';

let redis: RedisServer;
let server: Awaited<ReturnType<typeof upstream>>;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

beforeAll(async () => {
  redis = await startRedis();
  let throttled = 0;
  server = await upstream((path, res) => {
    if (path === '/throttled' && throttled++ === 0) res.writeHead(429, { 'retry-after': '1' }).end();
    else if (path === '/throttled-while-down') res.writeHead(429, { 'retry-after': '3' }).end();
    else if (path === '/down') res.writeHead(503).end();
    else if (path === '/throttled-after-restart') res.writeHead(429, { 'retry-after': '1' }).end();
    else if (path === '/slow-ok') setTimeout(() => res.writeHead(200).end('ok'), 150);
    else res.writeHead(200).end('ok');
  });
});
afterAll(async () => {
  await server.close();
  await redis.stop();
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * One "instance": its own node-redis client, store and wrapped fetch, as a process of a fleet has.
 * `storeOptions`: the store's own, over the test's defaults.
 */
async function instance(
  prefix: string,
  options: Parameters<typeof wrapFetch>[1] = {},
  storeOptions: Partial<RedisStoreOptions> = {},
) {
  const client = await connectClient(redis);
  const store = redisStore({ client, prefix, refreshMs: 100, ...storeOptions });
  cleanups.push(
    () => client.destroy(),
    () => store.close(),
  );
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, { ...options, store, onEvent: (e) => events.push(e) });
  return { fetch, store, events };
}

const key = (fetch: WrappedFetch) => fetch.breakers()[0];

describe('redisStore', () => {
  it('never echoes a connection URL passed where the client or the options go (its password stays out)', () => {
    const url = 'redis://default:hunter2@cache.internal:6379';
    for (const bad of [() => redisStore({ client: url as never }), () => redisStore(url as never)]) {
      expect(bad).toThrow(/a string/);
      expect(bad).not.toThrow(/hunter2|redis:\/\//);
    }
  });

  it('refuses bad options, naming them', () => {
    expect(() => redisStore({} as never)).toThrow(/client/);
    expect(() => redisStore({ client: {} as never })).toThrow(/client: must be a node-redis client/);
    let error: unknown;
    try {
      redisStore({ client: { sendCommand: () => {}, duplicate: () => {} } as never, timeoutMs: 0 });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect(String(error)).toMatch(/timeoutMs/);
  });

  it.each(['timeoutMs', 'refreshMs'])(
    'refuses a %s no timer can hold (past 2^31-1 ms a timer fires after 1 ms: audit s24)',
    (option) => {
      const client = { sendCommand: () => {}, duplicate: () => {} } as never;
      expect(() => redisStore({ client, [option]: 2 ** 31 })).toThrow(
        new RegExp(`${option}: must be at most 2147483647`),
      );
    },
  );

  it('refuses a Redis Cluster client at once, saying what to pass instead, without its URL', () => {
    const cluster = createCluster({ rootNodes: [{ url: 'redis://default:hunter2@127.0.0.1:1' }] });
    let error: unknown;
    try {
      redisStore({ client: cluster as never });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect(String(error)).toMatch(/client: is a Redis Cluster client .*createClient\(\) of one Redis/);
    expect(String(error)).not.toMatch(/hunter2|redis:\/\//);
  });

  it("a 429 seen by one instance holds the other's calls for its Retry-After, fleet-wide", async () => {
    const a = await instance('t1:', { random: () => 0 });
    const b = await instance('t1:', { random: () => 0 });
    const url = `${server.origin}/throttled`;
    const first = a.fetch(url);
    await until(() => a.events.some((e) => e.type === 'throttled'), 2_000);
    const throttledAt = server.arrivals('/throttled')[0]?.at ?? 0;
    // B never called this key: it learns the closure from A through Redis, not from the upstream.
    await until(() => b.store.closures(`default ${server.origin}`).length > 0, 2_000);
    const second = await b.fetch(url);
    expect(second.status).toBe(200);
    expect((await first).status).toBe(200);
    const fromB = server.arrivals('/throttled').slice(1);
    // Nothing reached the upstream inside the announced second, from either instance.
    for (const { at } of fromB) expect(at - throttledAt).toBeGreaterThanOrEqual(900);
    expect(key(b.fetch)).toMatchObject({ sharing: 'shared' });
  });

  it('one half-open probe per interval for both instances', async () => {
    const policy = {
      breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 300 },
      retry: { maxAttempts: 1 },
      throttle: { enabled: false },
    };
    // A reply later than the default 50 ms (a loaded machine) would count the store as down, and each
    // instance would then probe on its own, as it should while Redis is down: not this test's case.
    const store = { timeoutMs: 5_000 };
    const a = await instance('t2:', { policy }, store);
    const b = await instance('t2:', { policy }, store);
    const url = `${server.origin}/down`;
    await a.fetch(url);
    await b.fetch(url);
    expect([key(a.fetch)?.state, key(b.fetch)?.state]).toEqual(['open', 'open']);
    // Until both breakers' probes are due, as their snapshots say (rather than a sleep's guess).
    const due = () =>
      [a, b].every(({ fetch }) => {
        const at = key(fetch)?.nextProbeAt;
        return typeof at === 'number' && Date.now() >= at;
      });
    await until(due, 5_000);
    const before = server.arrivals('/down').length;
    const results = await Promise.allSettled([a.fetch(url), b.fetch(url), a.fetch(url), b.fetch(url)]);
    expect(server.arrivals('/down').length - before).toBe(1);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    for (const r of results) {
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ name: 'BrokenCircuitError' });
    }
    // The store answered throughout: the one probe was the fleet's lease, not a lone instance's call.
    expect([...a.events, ...b.events].filter((e) => e.type === 'store-down')).toEqual([]);
  });

  it('Redis killed: calls go on without added wait, store-down then store-up, sharing local meanwhile', async () => {
    const policy = {
      breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 200 },
      retry: { maxAttempts: 1 },
    };
    // Two keys: the healthy one's calls, and the down one's probe.
    const a = await instance('t3:', { policy, endpoints: [{ name: 'down', match: '*/down' }] });
    const ok = `${server.origin}/ok`;
    const down = `${server.origin}/down`;
    await a.fetch(ok);
    await a.fetch(down);
    expect(a.fetch.breakers().find((s) => s.key.startsWith('down'))?.state).toBe('open');
    await redis.kill();
    await until(() => a.events.some((e) => e.type === 'store-down'), 2_000);
    expect(a.fetch.breakers().every((s) => s.sharing === 'local')).toBe(true);

    // The probe of an open breaker goes out on the local breaker's word: no lease to wait for.
    await new Promise((resolve) => setTimeout(resolve, 250));
    const before = server.arrivals('/down').length;
    const started = Date.now();
    expect((await a.fetch(down)).status).toBe(503);
    expect(server.arrivals('/down').length - before).toBe(1);
    const durations: number[] = [Date.now() - started];
    for (let i = 0; i < 10; i++) {
      const t = Date.now();
      expect((await a.fetch(ok)).status).toBe(200);
      durations.push(Date.now() - t);
    }
    // Loopback calls take a few ms; the store's 50 ms command timeout must not be among them (a
    // loaded 2-core machine can stretch one call, hence the bound on the median and the max apart).
    durations.sort((x, y) => x - y);
    expect(durations[Math.floor(durations.length / 2)]).toBeLessThan(50);
    expect(durations.at(-1)).toBeLessThan(500);

    // A 429 while Redis is down closes the gate here; no one else can be told until Redis is back.
    expect((await a.fetch(`${server.origin}/throttled-while-down`)).status).toBe(429);

    await redis.restart();
    await until(() => a.events.some((e) => e.type === 'store-up'), 5_000);
    // Down once, whatever the causes (the connection reset, the client reconnecting), up once.
    const told = a.events.flatMap((e) =>
      e.type === 'store-down' ? ['store-down'] : e.type === 'store-up' ? [e.type] : [],
    );
    expect(told).toEqual(['store-down', 'store-up']);
    expect(a.fetch.breakers().every((s) => s.sharing === 'shared')).toBe(true);

    // The restarted Redis lost its scripts: the next probe's lease is taken all the same (EVAL after
    // NOSCRIPT), and is in Redis for the other instances to see.
    const probeAt = a.fetch.breakers().find((s) => s.key.startsWith('down'))?.nextProbeAt ?? 0;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, probeAt - Date.now()) + 20));
    await a.fetch(down);
    const raw = await connectClient(redis);
    cleanups.push(() => raw.destroy());
    expect(await raw.pTTL(`t3:probe:down ${server.origin}`)).toBeGreaterThan(0);
    // The closure made while Redis was down was written back when it returned.
    expect(await raw.pTTL(`t3:gate:strict:default ${server.origin}`)).toBeGreaterThan(0);
  });

  it('after Redis returns, a 429 seen by one instance holds the other again: sharing resumes', async () => {
    const a = await instance('t9:');
    const b = await instance('t9:');
    const ok = `${server.origin}/ok`;
    await a.fetch(ok);
    await b.fetch(ok);
    const saw = (type: string) => (x: { events: BreakwaterEvent[] }) => x.events.some((e) => e.type === type);
    await redis.kill();
    await until(() => [a, b].every(saw('store-down')), 2_000);
    await redis.restart();
    await until(() => [a, b].every(saw('store-up')), 5_000);

    expect((await a.fetch(`${server.origin}/throttled-after-restart`)).status).toBe(429);
    await until(() => key(b.fetch)?.throttledUntil != null, 1_000);
    const before = server.arrivals('/ok').length;
    const held = b.fetch(ok);
    await sleep(500);
    // Inside the 1 s Retry-After that A was told: B sends nothing.
    expect(server.arrivals('/ok').length).toBe(before);
    expect((await held).status).toBe(200);
  }, 15_000);

  it('a closure that pub/sub did not carry reaches the instances by the periodic refresh', async () => {
    const b = await instance('t4:');
    await b.fetch(`${server.origin}/ok`);
    expect(key(b.fetch)?.throttledUntil).toBeNull();
    // Written as an instance whose message was lost would have left it: the key, no PUBLISH.
    const raw = await connectClient(redis);
    cleanups.push(() => raw.destroy());
    const written = Date.now();
    await raw.set(`t4:gate:strict:default ${server.origin}`, 'elsewhere', { PX: 1_500 });
    await until(() => key(b.fetch)?.throttledUntil != null, 1_000);
    const until_ = key(b.fetch)?.throttledUntil ?? 0;
    expect(until_ - written).toBeGreaterThan(1_000);
    expect(until_ - written).toBeLessThanOrEqual(1_600);
  });

  it('an instance that starts during a closure reads it at its first call of the key, not a refresh later', async () => {
    // Left by another instance before this one started: no message will come.
    const raw = await connectClient(redis);
    cleanups.push(() => raw.destroy());
    await raw.set(`t5:gate:strict:default ${server.origin}`, 'elsewhere', { PX: 3_000 });
    const client = await connectClient(redis);
    // A refresh far off: only the read at the key's first use can tell the closure in time.
    const store = redisStore({ client, prefix: 't5:', refreshMs: 60_000 });
    cleanups.push(
      () => client.destroy(),
      () => store.close(),
    );
    const fetch = wrapFetch(globalThis.fetch, { store });
    await fetch(`${server.origin}/ok`);
    await until(() => key(fetch)?.throttlePhase === 'closed', 1_000);
    expect(key(fetch)?.throttledUntil).toBeGreaterThan(Date.now() + 1_000);
  });
});

/** Waits `ms`. */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits until `store`'s view of the breaker's fleet count holds `calls` calls of the other instances. */
async function seen(store: RedisStore, calls: number): Promise<void> {
  const counter = store.counter(`breaker:default ${server.origin}`, 10_000);
  const others = () => counter.others().reduce((sum, o) => sum + o.calls, 0);
  await until(() => others() === calls, 2_000);
}

describe('redisStore, fleet counts and the probe', () => {
  const noThrottle = { throttle: { enabled: false } };

  it("the retry budget is the fleet's: the second instance's retries are limited by the first's", async () => {
    const policy = {
      ...noThrottle,
      breaker: { enabled: false },
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 1, maxDelayMs: 2 } },
      retryBudget: { ratio: 0.01, minRetries: 3 },
    };
    const a = await instance('t5:', { policy, random: () => 0 });
    const b = await instance('t5:', { policy, random: () => 0 });
    const down = `${server.origin}/down`;
    await b.fetch(`${server.origin}/ok`);
    const before = server.arrivals('/down').length;
    for (let i = 0; i < 5; i++) expect((await a.fetch(down)).status).toBe(503);
    // 5 first attempts and the 3 retries the budget holds.
    expect(server.arrivals('/down').length - before).toBe(8);
    expect(key(a.fetch)?.retryBudgetLeft).toBe(0);
    // No Redis round trip on B's calls: B's view moves with its refresh, not with A's calls.
    await until(() => key(b.fetch)?.retryBudgetLeft === 0, 2_000);
    for (let i = 0; i < 3; i++) expect((await b.fetch(down)).status).toBe(503);
    expect(server.arrivals('/down').length - before).toBe(11);
  });

  it('an outage seen by every instance opens their breakers sooner than one instance alone', async () => {
    const policy = {
      ...noThrottle,
      breaker: { minimumCalls: 6, failureRatio: 0.5, consecutiveFailures: 100 },
      retry: { maxAttempts: 1 },
    };
    const fleet = [await instance('t6:', { policy }), await instance('t6:', { policy })];
    fleet.push(await instance('t6:', { policy }));
    const alone = wrapFetch(globalThis.fetch, { policy });
    const down = `${server.origin}/down`;
    for (const { fetch } of [...fleet, { fetch: alone }]) {
      await fetch(down);
      await fetch(down);
    }
    for (const { store } of fleet) await seen(store, 4);
    for (const { fetch } of [...fleet, { fetch: alone }]) {
      // A refresh that lands between the first rounds' calls may have opened this instance's breaker
      // already (the last instance's second failure makes 6 for the fleet, all failures): opened
      // sooner still, its third call refused.
      await fetch(down).catch((error: unknown) =>
        expect(error).toMatchObject({ name: 'BrokenCircuitError' }),
      );
    }
    // 3 failures each: under minimumCalls alone, 9 for the fleet, every instance failing.
    expect(fleet.map(({ fetch }) => key(fetch)?.state)).toEqual(['open', 'open', 'open']);
    expect(key(alone)?.state).toBe('closed');
  });

  it("one instance whose network is broken does not open the others' breakers", async () => {
    const policy = {
      ...noThrottle,
      breaker: { minimumCalls: 6, failureRatio: 0.5, consecutiveFailures: 100 },
      retry: { maxAttempts: 1 },
    };
    // Its network is broken: every connection it opens is refused (a loopback port just closed).
    const closed = await upstream(() => {});
    await closed.close();
    const broken = (_: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(closed.origin, init);
    const client = await connectClient(redis);
    const store = redisStore({ client, prefix: 't7:', refreshMs: 100 });
    cleanups.push(
      () => client.destroy(),
      () => store.close(),
    );
    const sick = wrapFetch(broken, { policy, store });
    const b = await instance('t7:', { policy });
    const c = await instance('t7:', { policy });
    for (let i = 0; i < 12; i++) await sick(`${server.origin}/ok`).catch(() => undefined);
    for (const { fetch } of [b, c]) for (let i = 0; i < 3; i++) await fetch(`${server.origin}/ok`);
    await seen(b.store, 9);
    await seen(c.store, 9);
    // The sick instance's breaker opened at its 6th failure. Pooled, B's window would then hold 7
    // failures in 13 calls (a share over 0.5): its own share is 1 in 4, and the sick one's volume is
    // still one vote.
    for (const { fetch } of [b, c]) expect((await fetch(`${server.origin}/down`)).status).toBe(503);
    expect(key(sick)?.state).toBe('open');
    expect([key(b.fetch)?.state, key(c.fetch)?.state]).toEqual(['closed', 'closed']);
    for (const { fetch } of [b, c]) expect((await fetch(`${server.origin}/ok`)).status).toBe(200);
  });

  it("a probe refused for another's lease waits the lease's time; the probe's success closes every breaker", async () => {
    const policy = {
      ...noThrottle,
      breaker: { minimumCalls: 1, failureRatio: 0.5, halfOpenAfterMs: 300 },
      retry: { maxAttempts: 1 },
    };
    const a = await instance('t8:', { policy });
    const b = await instance('t8:', { policy });
    await a.fetch(`${server.origin}/down`);
    await b.fetch(`${server.origin}/down`);
    await sleep(350);
    const before = server.arrivals('/slow-ok').length;
    const probe = a.fetch(`${server.origin}/slow-ok`);
    await until(() => server.arrivals('/slow-ok').length > before, 1_000);
    const refused = await b.fetch(`${server.origin}/ok`).catch((e: unknown) => e);
    expect(refused).toMatchObject({ name: 'BrokenCircuitError' });
    const { retryAfterMs } = refused as { retryAfterMs: number };
    expect(retryAfterMs).toBeGreaterThan(100);
    expect(retryAfterMs).toBeLessThanOrEqual(300);
    expect((await probe).status).toBe(200);
    expect(key(a.fetch)?.state).toBe('closed');
    // B's breaker closes on A's word, before any call of B's.
    await until(() => key(b.fetch)?.state === 'closed', 1_000);
    expect(b.events.some((e) => e.type === 'reset')).toBe(true);
    expect((await b.fetch(`${server.origin}/ok`)).status).toBe(200);
  });
});
