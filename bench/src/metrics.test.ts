import { describe, expect, it } from 'vitest';
import type { Arrival } from './fault-server.ts';
import type { CallRecord } from './load.ts';
import { computeMetrics, earlyPerCoolDown, percentile } from './metrics.ts';
import type { Scenario } from './scenarios.ts';

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([3], 99)).toBe(3);
    expect(percentile([], 50)).toBeNaN();
    expect(() => percentile(values, 101)).toThrow(RangeError);
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('computeMetrics', () => {
  const scenario: Scenario = {
    name: 't',
    description: 't',
    durationMs: 20_000,
    seed: 1,
    routes: [
      {
        name: 'r',
        path: '/r',
        match: 'GET */r',
        rps: 1,
        phases: [
          { at: 0, label: 'healthy' },
          { at: 1_000, label: 'outage', down: true, status: 500 },
          { at: 12_000, label: 'recovered' },
        ],
      },
    ],
  };
  const call = (start: number, end: number, outcome: CallRecord['outcome'], attempts = 1): CallRecord => ({
    route: 'r',
    start,
    end,
    outcome,
    status: outcome === 'ok' ? 200 : outcome === 'server-error' ? 500 : 0,
    attempts,
  });
  const arrival = (t: number, attempt = 1): Arrival => ({
    t,
    route: 'r',
    status: 500,
    down: t >= 1_000 && t < 12_000,
    attempt,
  });

  it('measures fail-fast, recovery, probes and latency while open', () => {
    const records = [
      call(0, 2, 'ok'),
      call(1_000, 1_001, 'server-error'),
      call(1_100, 1_101, 'server-error'),
      call(1_200, 1_200.5, 'fail-fast', 0),
      call(5_000, 5_000.2, 'fail-fast', 0),
      call(12_399.5, 12_400, 'ok'),
      call(12_500, 12_501, 'ok'),
    ];
    const m = computeMetrics({
      scenario,
      started: 8,
      records,
      counts: { r: { requests: 6, whileDown: 4, throttled: 0, coolDowns: 0, early: 1, earlyAfterSeen: 0 } },
      arrivals: [arrival(0), arrival(1_000), arrival(1_100), arrival(1_150), arrival(6_150), arrival(12_400)],
      runs: [
        { key: 'r', state: 'open', from: 1_120, to: 6_150 },
        { key: 'r', state: 'half-open', from: 6_150, to: 6_152 },
        { key: 'r', state: 'open', from: 6_152, to: 12_399 },
        { key: 'r', state: 'half-open', from: 12_399, to: 12_401 },
        { key: 'r', state: 'closed', from: 12_401, to: 20_000 },
      ],
    });
    expect(m.logical).toBe(8);
    expect(m.unfinished).toBe(1);
    expect(m.successRate).toBeCloseTo(3 / 8);
    expect(m.amplification).toBeCloseTo(6 / 8);
    expect([m.whileDown, m.early, m.earlyAfterSeen]).toEqual([4, 1, 0]);
    expect(m.failFastMs).toBe(200);
    expect(m.recoveryMs).toBe(400);
    expect(m.whileOpen).toEqual({ calls: 2, p99: 0.5 });
    expect(m.probes).toEqual({
      requestsAfterOpen: 2,
      beforeFirstHalfOpen: 1,
      halfOpenEntries: 1,
      maxPerInterval: 1,
    });
    expect(m.breakerOpened).toBe(true);
    expect(m.outcomes['fail-fast']).toBe(2);
    expect(m.routes.r?.logical).toBe(7);
  });

  it('reports no fail-fast, recovery or probes for a client without a breaker that never recovers', () => {
    const m = computeMetrics({
      scenario,
      started: 1,
      records: [call(2_000, 2_001, 'server-error')],
      counts: { r: { requests: 1, whileDown: 1, throttled: 0, coolDowns: 0, early: 0, earlyAfterSeen: 0 } },
      arrivals: [arrival(2_000)],
      runs: [],
    });
    expect([m.failFastMs, m.recoveryMs, m.whileOpen, m.probes, m.breakerOpened]).toEqual([
      null,
      null,
      null,
      null,
      false,
    ]);
  });

  it('tells first attempts from retries during the down phase', () => {
    const m = computeMetrics({
      scenario,
      started: 3,
      records: [call(500, 501, 'ok'), call(1_000, 3_000, 'server-error', 3), call(11_900, 12_100, 'ok', 2)],
      counts: { r: { requests: 7, whileDown: 5, throttled: 0, coolDowns: 0, early: 0, earlyAfterSeen: 0 } },
      // 999 is before the phase, 12 000 after it: neither counts.
      arrivals: [
        arrival(500),
        arrival(1_000),
        arrival(1_400, 2),
        arrival(2_900, 3),
        arrival(11_900),
        arrival(11_999, 2),
        arrival(12_000, 3),
      ],
      runs: [],
    });
    expect(m.downPhase).toEqual({
      durationMs: 11_000,
      requests: 5,
      firstAttempts: 2,
      firstAttemptsBefore: 1,
      amplification: 2.5,
    });
  });

  it('measures each tenant against its own counts', () => {
    const tenantCall = (tenant: string, outcome: CallRecord['outcome'], ms: number): CallRecord => ({
      ...call(0, ms, outcome),
      tenant,
    });
    const m = computeMetrics({
      scenario,
      started: 4,
      records: [
        tenantCall('a', 'throttled', 10),
        tenantCall('a', 'ok', 20),
        tenantCall('b', 'ok', 1),
        tenantCall('b', 'ok', 2),
      ],
      counts: {
        r: {
          requests: 5,
          whileDown: 0,
          throttled: 0,
          coolDowns: 0,
          early: 2,
          earlyAfterSeen: 1,
          tenants: {
            a: { requests: 3, throttled: 0, coolDowns: 0, early: 2, earlyAfterSeen: 1 },
            b: { requests: 2, throttled: 0, coolDowns: 0, early: 0, earlyAfterSeen: 0 },
          },
        },
      },
      arrivals: [],
      runs: [],
    });
    expect(m.tenants.a).toMatchObject({
      logical: 2,
      successRate: 0.5,
      upstream: 3,
      early: 2,
      earlyAfterSeen: 1,
    });
    expect(m.tenants.b).toMatchObject({
      logical: 2,
      successRate: 1,
      upstream: 2,
      early: 0,
      earlyAfterSeen: 0,
    });
    expect(m.tenants.b?.latency.p99).toBe(2);
  });

  it('has no tenants or down phase where the scenario has none', () => {
    const m = computeMetrics({
      scenario: {
        ...scenario,
        routes: [{ ...(scenario.routes[0] as Scenario['routes'][number]), phases: [{ at: 0, label: 'ok' }] }],
      },
      started: 1,
      records: [call(0, 1, 'ok')],
      counts: { r: { requests: 1, whileDown: 0, throttled: 0, coolDowns: 0, early: 0, earlyAfterSeen: 0 } },
      arrivals: [arrival(0)],
      runs: [],
    });
    expect([m.tenants, m.downPhase]).toEqual([{}, null]);
  });

  it('measures goodput through the one limiter: successes over burst + rate x busy seconds', () => {
    const limited = (phase: Scenario['routes'][number]['phases'][number]): Scenario => ({
      ...scenario,
      durationMs: 6_000,
      routes: [{ ...(scenario.routes[0] as Scenario['routes'][number]), phases: [phase] }],
    });
    const records = [
      ...Array.from({ length: 99 }, (_, i) => call(i * 10, i * 10 + 5, 'ok')),
      call(0, 9_000, 'ok'),
    ];
    const counts = {
      r: { requests: 130, whileDown: 0, throttled: 30, coolDowns: 4, early: 10, earlyAfterSeen: 0 },
    };
    const input = {
      started: 101,
      records: [...records, call(0, 1, 'throttled')],
      counts,
      arrivals: [],
      runs: [],
    };
    const bucket = computeMetrics({
      ...input,
      scenario: limited({ at: 0, label: 'b', bucket: { perSecond: 20, burst: 10 } }),
    });
    // Busy until the last call ended (9 s): the bucket admits 10 + 20 x 9 = 190 in that time.
    expect(bucket.limiter).toEqual({ perSecond: 20, burst: 10, busyMs: 9_000, goodput: 100 / 190 });
    expect([bucket.throttled, bucket.coolDowns, earlyPerCoolDown(bucket)]).toEqual([30, 4, 2.5]);
    // A sliding-second limit admits its whole rate at once.
    const throttle = computeMetrics({
      ...input,
      scenario: limited({ at: 0, label: 't', throttle: { perSecond: 20, retryAfterS: 1 } }),
    });
    expect(throttle.limiter?.goodput).toBeCloseTo(100 / 200);
    // No limiter (or several routes, or tenants): no goodput.
    expect(computeMetrics({ ...input, scenario }).limiter).toBeNull();
    expect(earlyPerCoolDown({ early: 0, coolDowns: 0 })).toBe(0);
  });
});
