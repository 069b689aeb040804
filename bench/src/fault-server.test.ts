import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { FaultServer, type FaultServerOptions, parseThrottleToken, throttleToken } from './fault-server.ts';
import { callContext, instrumentFetch } from './instrument.ts';

const servers: FaultServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(routes: FaultServerOptions['routes']): Promise<FaultServer> {
  const server = await FaultServer.start({ routes, seed: 1 });
  servers.push(server);
  return server;
}

describe('FaultServer', () => {
  it('answers like Partner Center and counts requests while down', async () => {
    const server = await start([
      {
        name: 'customers',
        path: '/v1/customers',
        phases: [{ at: 0, label: 'outage', down: true, status: 500 }],
      },
    ]);
    const response = await fetch(`${server.origin}/v1/customers`);
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ code: '800003', source: 'PartnerFD' });
    await (await fetch(`${server.origin}/v1/customers`)).arrayBuffer();
    expect(server.counts().customers).toEqual({
      requests: 2,
      whileDown: 2,
      throttled: 0,
      coolDowns: 0,
      early: 0,
      earlyAfterSeen: 0,
    });
    expect(server.arrivals.map((a) => [a.route, a.status, a.down])).toEqual([
      ['customers', 500, true],
      ['customers', 500, true],
    ]);
  });

  it('throttles with the gateway payload and counts requests sent before Retry-After elapsed', async () => {
    const server = await start([
      {
        name: 'customers',
        path: '/v1/customers',
        phases: [{ at: 0, label: 'limit', throttle: { perSecond: 2, retryAfterS: 5 } }],
      },
    ]);
    const now = () => performance.now();
    const f = instrumentFetch(globalThis.fetch, server, now);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await f(`${server.origin}/v1/customers`);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('5');
        expect(await res.json()).toEqual({
          statusCode: 429,
          message: 'Rate limit is exceeded. Try again in 5 seconds.',
        });
      } else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 429]);
    // The client ignores the Retry-After it has just received: both of these are early.
    await (await f(`${server.origin}/v1/customers`)).arrayBuffer();
    await (await fetch(`${server.origin}/v1/customers`)).arrayBuffer(); // no send stamp: strict count only
    // The 429 opened one cool-down; the two early requests were refused inside it.
    expect(server.counts().customers).toMatchObject({
      requests: 5,
      throttled: 3,
      coolDowns: 1,
      early: 2,
      earlyAfterSeen: 1,
    });
  });

  it('limits with a token bucket: Retry-After is the whole seconds to the next token, windows are counted', async () => {
    let clock = 0;
    const server = await FaultServer.start({
      routes: [
        {
          name: 'customers',
          path: '/v1/customers',
          phases: [{ at: 0, label: 'bucket', bucket: { perSecond: 4, burst: 2 } }],
        },
      ],
      seed: 1,
      now: () => clock,
    });
    servers.push(server);
    server.begin(0);
    const get = async (at: number): Promise<[number, string | null]> => {
      clock = at;
      const res = await fetch(`${server.origin}/v1/customers`);
      await res.arrayBuffer();
      return [res.status, res.headers.get('retry-after')];
    };
    // Two tokens at once, then one every 250 ms; the refused request is told 1 s (250 ms rounded up).
    expect(await get(0)).toEqual([200, null]);
    expect(await get(1)).toEqual([200, null]);
    expect(await get(2)).toEqual([429, '1']);
    // Inside the announced window (until 1 002): counted, though a token has come back by 260.
    expect(await get(260)).toEqual([200, null]);
    expect(await get(270)).toEqual([429, '1']);
    // After every window: a new cool-down.
    expect(await get(1_500)).toEqual([200, null]);
    expect(await get(1_510)).toEqual([200, null]);
    expect(await get(1_520)).toEqual([429, '1']);
    expect(server.counts().customers).toMatchObject({ requests: 8, throttled: 3, coolDowns: 2, early: 2 });
  });

  it('resets connections, and the instrumented fetch counts every attempt of a logical call', async () => {
    const server = await start([
      { name: 'r', path: '/r', phases: [{ at: 0, label: 'resets', faults: [{ p: 1, reset: true }] }] },
    ]);
    const f = instrumentFetch(globalThis.fetch, server, () => performance.now());
    const context = { attempts: 0 };
    await callContext.run(context, async () => {
      await expect(f(`${server.origin}/r`)).rejects.toThrow(TypeError);
      await expect(f(`${server.origin}/r`)).rejects.toThrow(TypeError);
    });
    expect(context.attempts).toBe(2);
    expect(server.arrivals.map((a) => [a.status, a.attempt])).toEqual([
      [0, 1],
      [0, 2],
    ]);
  });

  it("limits each tenant on its own and counts early requests against that tenant's Retry-After only", async () => {
    const server = await start([
      {
        name: 'customers',
        path: '/v1/customers',
        tenantHeader: 'x-tenant-id',
        phases: [{ at: 0, label: 'limit', throttle: { perSecond: 1, retryAfterS: 5 } }],
      },
    ]);
    const f = instrumentFetch(globalThis.fetch, server, () => performance.now());
    const get = async (tenant: string): Promise<number> => {
      const res = await f(`${server.origin}/v1/customers`, { headers: { 'x-tenant-id': tenant } });
      await res.arrayBuffer();
      return res.status;
    };
    // a: served, then throttled (Retry-After 5 s), then early (a has seen its 429).
    expect([await get('a'), await get('a'), await get('a')]).toEqual([200, 429, 429]);
    // b has its own limit and its own windows: served at once, and never early because of a's 429.
    expect(await get('b')).toBe(200);
    const counts = server.counts().customers;
    expect(counts?.tenants).toEqual({
      a: { requests: 3, throttled: 2, coolDowns: 1, early: 1, earlyAfterSeen: 1 },
      b: { requests: 1, throttled: 0, coolDowns: 0, early: 0, earlyAfterSeen: 0 },
    });
    expect(counts).toMatchObject({ requests: 4, throttled: 2, coolDowns: 1, early: 1, earlyAfterSeen: 1 });
    expect(server.arrivals.map((a) => a.tenant)).toEqual(['a', 'a', 'a', 'b']);
  });

  it('names a Retry-After by path, tenant and id in a token it can read back', () => {
    const token = throttleToken('/v1/customers', 'con toso:1', 7);
    expect(parseThrottleToken(token)).toEqual({ path: '/v1/customers', tenant: 'con toso:1', id: 7 });
    expect(parseThrottleToken(throttleToken('/r', '', 1))).toEqual({ path: '/r', tenant: '', id: 1 });
    expect(parseThrottleToken('/r:1')).toBeUndefined();
    expect(parseThrottleToken('/r a x')).toBeUndefined();
    expect(parseThrottleToken('%E0 a 1')).toBeUndefined();
  });

  it('answers unknown paths with 404 without counting them against a route', async () => {
    const server = await start([{ name: 'r', path: '/r', phases: [{ at: 0, label: 'healthy' }] }]);
    const res = await fetch(`${server.origin}/nope`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
    expect(server.counts().r?.requests).toBe(0);
  });
});
