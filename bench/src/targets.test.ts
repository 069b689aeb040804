import { DEFAULT_POLICY } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';
import type { Outcome } from './load.ts';
import type { Metrics, TenantMetrics } from './metrics.ts';
import type { LaneResult, RouteResult, ScenarioResult } from './run-scenario.ts';
import { budgetBound, checkTargets, type TargetCheck } from './targets.ts';

function metrics(over: Partial<Metrics> & { ok?: number }): Metrics {
  const outcomes = { ok: over.ok ?? 0 } as Record<Outcome, number>;
  return {
    logical: 100,
    upstream: 100,
    early: 0,
    earlyAfterSeen: 0,
    tenants: {},
    downPhase: null,
    outcomes,
    ...over,
  } as Metrics;
}

function scenario(name: string, lanes: [string, Metrics][], routes: RouteResult[] = []): ScenarioResult {
  return {
    name,
    routes,
    breakers: true,
    lanes: lanes.map(([client, m]): LaneResult => ({ client, description: client, metrics: m })),
  } as unknown as ScenarioResult;
}

const find = (checks: readonly TargetCheck[], prefix: string): TargetCheck | undefined =>
  checks.find((c) => c.target.startsWith(prefix));

describe('throttle targets', () => {
  const run = (bw: number, bwEarly: number, peers: [string, number][]) =>
    checkTargets(
      [
        scenario('throttle', [
          ...peers.map(([c, ok]): [string, Metrics] => [c, metrics({ ok })]),
          ['breakwater', metrics({ ok: bw, earlyAfterSeen: bwEarly, early: bwEarly + 2 })],
          ['breakwater-pc', metrics({ ok: 1_000 })],
        ]),
      ],
      null,
    );

  it('needs zero early requests and more completed calls than every peer, other breakwaters aside', () => {
    const checks = run(240, 0, [
      ['p-retry', 214],
      ['ky', 160],
    ]);
    expect(find(checks, 'throttle: zero')?.met).toBe(true);
    const more = find(checks, 'throttle: completes more');
    expect(more?.met).toBe(true);
    expect(more?.measured).toContain('best peer p-retry 214');
  });

  it('misses when a peer completes as many calls, or one request went early', () => {
    const checks = run(214, 1, [
      ['p-retry', 214],
      ['ky', 160],
    ]);
    expect(find(checks, 'throttle: zero')).toMatchObject({ met: false, miss: '1 early request(s)' });
    expect(find(checks, 'throttle: completes more')).toMatchObject({ met: false, miss: '1 call(s)' });
  });

  it('cannot judge the comparison when no peer ran', () => {
    expect(find(run(240, 0, []), 'throttle: completes more')?.met).toBeNull();
  });
});

describe('throttle-tenant targets', () => {
  const tenant = (successRate: number, early: number, earlyAfterSeen: number): TenantMetrics => ({
    logical: 50,
    successRate,
    upstream: 50,
    early,
    earlyAfterSeen,
    latency: { p50: 1, p95: 2, p99: 3 },
  });
  const routes: RouteResult[] = [
    {
      name: 'customers',
      rps: 25,
      phases: [],
      tenants: [
        { id: 'contoso', rps: 15, underLimit: false },
        { id: 'fabrikam', rps: 5, underLimit: true },
      ],
    },
  ];
  const run = (contoso: TenantMetrics, fabrikam: TenantMetrics) =>
    checkTargets(
      [
        scenario(
          'throttle-tenant',
          [
            [
              'breakwater',
              metrics({
                earlyAfterSeen: contoso.earlyAfterSeen + fabrikam.earlyAfterSeen,
                tenants: { contoso, fabrikam },
              }),
            ],
          ],
          routes,
        ),
      ],
      null,
    );

  it('is met with no early request for any tenant and the under-limit tenants all served', () => {
    const checks = run(tenant(0.8, 3, 0), tenant(1, 0, 0));
    expect(find(checks, 'throttle-tenant: zero')?.met).toBe(true);
    // The over-limit tenant's own throttling does not count against "unaffected".
    const unaffected = find(checks, 'throttle-tenant: tenants under');
    expect(unaffected?.met).toBe(true);
    expect(unaffected?.measured).toBe('fabrikam 100.0 %, p99 3 ms');
  });

  it('misses on an early request of any tenant, or an under-limit tenant below 99 %', () => {
    const checks = run(tenant(1, 1, 1), tenant(0.9, 0, 0));
    expect(find(checks, 'throttle-tenant: zero')).toMatchObject({ met: false });
    expect(find(checks, 'throttle-tenant: zero')?.measured).toContain('contoso 1 (1)');
    expect(find(checks, 'throttle-tenant: tenants under')).toMatchObject({
      met: false,
      miss: '9.0 points short',
    });
  });
});

describe('budget target', () => {
  const budget = DEFAULT_POLICY.retryBudget;

  it('bounds the requests of a down phase by the default budget', () => {
    expect(budgetBound(200, 0, 10_000, budget)).toBe(250);
    // First attempts still in the window when the phase starts earn retries too.
    expect(budgetBound(200, 20, 10_000, budget)).toBe(254);
    // A phase longer than one window earns the floor once per window it spans.
    expect(budgetBound(200, 0, 10_001, budget)).toBe(260);
  });

  const run = (requests: number) =>
    checkTargets(
      [
        scenario('budget', [
          [
            'p-retry',
            metrics({
              downPhase: {
                durationMs: 10_000,
                requests: 780,
                firstAttempts: 200,
                firstAttemptsBefore: 20,
                amplification: 3.9,
              },
            }),
          ],
          [
            'breakwater',
            metrics({
              downPhase: {
                durationMs: 10_000,
                requests,
                firstAttempts: 200,
                firstAttemptsBefore: 20,
                amplification: requests / 200,
              },
            }),
          ],
        ]),
      ],
      null,
    );

  it('is met within the bound and shows every client side by side', () => {
    const check = find(run(254), 'budget:');
    expect(check?.met).toBe(true);
    expect(check?.measured).toContain('with 20 more in the window before the phase (bound 254.0)');
    expect(check?.measured).toContain('every client: p-retry 3.90, breakwater 1.27');
  });

  it('misses above the bound, by how much', () => {
    expect(find(run(257), 'budget:')).toMatchObject({ met: false, miss: '3.0 request(s)' });
  });
});
