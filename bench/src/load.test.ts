import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { HttpStatusError } from './client.ts';
import { outcomeOfError, outcomeOfStatus, planCalls, runOpenLoop, tenantRotation } from './load.ts';

describe('planCalls', () => {
  it('starts calls on a fixed schedule per route, merged in time order', () => {
    const plan = planCalls(
      [
        { name: 'a', path: '/a', rps: 10 },
        { name: 'b', path: '/b', rps: 4 },
      ],
      1_000,
    );
    expect(plan.filter((c) => c.route === 'a').map((c) => c.at)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900,
    ]);
    expect(plan.filter((c) => c.route === 'b').map((c) => c.at)).toEqual([0, 250, 500, 750]);
    expect(plan.every((c, i) => i === 0 || (plan[i - 1]?.at ?? 0) <= c.at)).toBe(true);
    expect(() => planCalls([{ name: 'x', path: '/x', rps: 0 }], 1_000)).toThrow(/rps/);
  });
});

describe('tenants', () => {
  const tenants = {
    header: 'x-tenant-id',
    ids: [
      { id: 'contoso', share: 3 },
      { id: 'fabrikam', share: 1 },
      { id: 'northwind', share: 1 },
    ],
  };

  it('deals calls out by share, each tenant spread evenly rather than in bursts', () => {
    expect(tenantRotation(tenants)).toEqual(['contoso', 'fabrikam', 'contoso', 'northwind', 'contoso']);
    expect(tenantRotation({ header: 'h', ids: [{ id: 'only', share: 2 }] })).toEqual(['only', 'only']);
  });

  it('rejects shares that cannot be dealt out', () => {
    expect(() => tenantRotation({ header: 'h', ids: [] })).toThrow(/at least one/);
    expect(() => tenantRotation({ header: 'h', ids: [{ id: 'a', share: 0.5 }] })).toThrow(/tenant a: share/);
  });

  it('puts the tenant header on each planned call of a route with tenants, and none elsewhere', () => {
    const plan = planCalls(
      [
        { name: 'c', path: '/c', rps: 10, tenants },
        { name: 'plain', path: '/p', rps: 2 },
      ],
      1_000,
    );
    const onC = plan.filter((c) => c.route === 'c');
    expect(onC.map((c) => c.tenant)).toEqual([
      'contoso',
      'fabrikam',
      'contoso',
      'northwind',
      'contoso',
      'contoso',
      'fabrikam',
      'contoso',
      'northwind',
      'contoso',
    ]);
    expect(onC[1]?.headers).toEqual({ 'x-tenant-id': 'fabrikam' });
    for (const call of plan.filter((c) => c.route === 'plain')) {
      expect(call).not.toHaveProperty('tenant');
      expect(call).not.toHaveProperty('headers');
    }
  });
});

describe('outcomes', () => {
  it('classifies final statuses', () => {
    expect([200, 304, 404, 429, 500, 503].map(outcomeOfStatus)).toEqual([
      'ok',
      'ok',
      'client-error',
      'throttled',
      'server-error',
      'server-error',
    ]);
  });

  it('classifies rejections: zero attempts is a fail-fast, statuses win, the run abort is not a timeout', () => {
    expect(outcomeOfError(new Error('Breaker is open'), 0, false)).toEqual({
      outcome: 'fail-fast',
      status: 0,
    });
    expect(outcomeOfError(new HttpStatusError(503), 4, false)).toEqual({
      outcome: 'server-error',
      status: 503,
    });
    expect(outcomeOfError({ response: { status: 404 } }, 1, false)).toEqual({
      outcome: 'client-error',
      status: 404,
    });
    expect(outcomeOfError(new DOMException('t', 'TimeoutError'), 2, false).outcome).toBe('timeout');
    expect(outcomeOfError(new Error('Timed out after 1000ms'), 1, false).outcome).toBe('timeout');
    expect(outcomeOfError(new TypeError('fetch failed'), 1, false).outcome).toBe('network');
    expect(outcomeOfError(new TypeError('fetch failed'), 1, true).outcome).toBe('aborted');
  });
});

describe('runOpenLoop: when the next scenario may start', () => {
  it('says so once every call has started and at most `quietCalls` are still running', async () => {
    const held: (() => void)[] = [];
    const client = {
      call: () =>
        new Promise<Response>((resolve) => {
          held.push(() => resolve(new Response('{}')));
        }),
      breakers: () => [],
      transitions: () => [],
      events: () => ({}),
      close() {},
    };
    const lane = { name: 'x', client, origin: 'http://127.0.0.1:1', records: [], started: 0 };
    let told = 0;
    const startAt = performance.now();
    const run = runOpenLoop({
      plan: [0, 1, 2].map((at) => ({ at, route: 'r', path: '/v1/customers' })),
      lanes: [lane],
      now: () => performance.now(),
      startAt,
      drainMs: 5_000,
      onScheduled: () => told++,
      quietCalls: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // All three started, three still running: not yet.
    expect(held).toHaveLength(3);
    expect(told).toBe(0);
    held[0]?.();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(told).toBe(0);
    held[1]?.();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(told).toBe(1);
    held[2]?.();
    await run;
    expect(told).toBe(1);
  });
});
