/**
 * What the report says about one client in one scenario, computed from the call records, the server's
 * counts and arrivals, and the breaker timeline.
 */
import type { Arrival, RouteCounts } from './fault-server.ts';
import { type CallRecord, OUTCOMES, type Outcome } from './load.ts';
import type { Scenario } from './scenarios.ts';
import { downIntervals } from './schedule.ts';
import type { StateRun } from './timeline.ts';

/** Nearest-rank percentile (p in [0, 100]) of unsorted values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1] as number;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export function latencies(records: readonly CallRecord[]): LatencySummary {
  const values = records.map((r) => r.end - r.start);
  return { p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99) };
}

/** Half-open behaviour while the upstream was down, after the breaker first opened. */
export interface ProbeSummary {
  /** Requests that reached the down route after the breaker first opened, before it recovered. */
  readonly requestsAfterOpen: number;
  /** ...of which arrived before the first half-open (already in flight when it opened). */
  readonly beforeFirstHalfOpen: number;
  /** Half-open entries while down. */
  readonly halfOpenEntries: number;
  /** Most requests that reached the route within one half-open interval. Target: at most 1. */
  readonly maxPerInterval: number;
}

export interface RouteMetrics {
  readonly logical: number;
  readonly successRate: number;
  readonly upstream: number;
  readonly latency: LatencySummary;
}

/** One tenant of a route with tenants. */
export interface TenantMetrics {
  readonly logical: number;
  readonly successRate: number;
  readonly upstream: number;
  /** Requests for this tenant that arrived before a Retry-After given to this tenant had elapsed. */
  readonly early: number;
  /** ...sent after the client had received that Retry-After. */
  readonly earlyAfterSeen: number;
  readonly latency: LatencySummary;
}

/** What reached the route during its first down phase, first attempts told from retries. */
export interface DownPhaseSummary {
  readonly durationMs: number;
  readonly requests: number;
  /** Requests that were the first attempt of their logical call. */
  readonly firstAttempts: number;
  /**
   * First attempts on the route before the phase started. A retry budget whose window reaches back
   * before the phase counts them too, so they explain retries beyond `firstAttempts` alone.
   */
  readonly firstAttemptsBefore: number;
  /** requests / firstAttempts: what retries multiplied the load by while the upstream was failing. */
  readonly amplification: number;
}

/**
 * A scenario whose one route is limited by one limiter (a throttle phase or a token bucket, no
 * tenants): what a client got through it.
 */
export interface LimiterSummary {
  /** The limiter's rate, requests per second. */
  readonly perSecond: number;
  /** Requests it admits at once from rest: a bucket's burst; a sliding-second limit's own rate. */
  readonly burst: number;
  /** The busy period: from the scenario start to the end of the client's last call (ms), at least the load period. */
  readonly busyMs: number;
  /**
   * Successful calls over what the limiter admits in the busy period from rest (burst + rate x busy
   * seconds): 1 for a client that gets every token, lower for one that leaves tokens unused.
   */
  readonly goodput: number;
}

export interface Metrics {
  /** Logical calls started. */
  readonly logical: number;
  /** Started but never settled, even after the run's abort. */
  readonly unfinished: number;
  /** Share of logical calls that ended with a 2xx. */
  readonly successRate: number;
  readonly upstream: number;
  /** Upstream requests per logical call. */
  readonly amplification: number;
  readonly whileDown: number;
  /** Requests that arrived before a Retry-After the server gave had elapsed. */
  readonly early: number;
  /** ...sent after the client had received that Retry-After. */
  readonly earlyAfterSeen: number;
  /** Requests the server answered 429. */
  readonly throttled: number;
  /** Retry-After windows the server announced while none was running (per tenant). */
  readonly coolDowns: number;
  /** On a scenario with one limited route; null otherwise. */
  readonly limiter: LimiterSummary | null;
  readonly latency: LatencySummary;
  /** From the first outage start to the first call rejected without an upstream attempt (ms). */
  readonly failFastMs: number | null;
  /** From the end of the first outage to the first 2xx on that route (ms). */
  readonly recoveryMs: number | null;
  /** Latency of calls started while the route's breaker was open. */
  readonly whileOpen: { readonly calls: number; readonly p99: number } | null;
  readonly probes: ProbeSummary | null;
  readonly breakerOpened: boolean;
  readonly outcomes: Readonly<Record<Outcome, number>>;
  readonly routes: Readonly<Record<string, RouteMetrics>>;
  /** Per tenant (on routes with tenants; empty otherwise). */
  readonly tenants: Readonly<Record<string, TenantMetrics>>;
  /** The first down phase of the first route that has one; null without. */
  readonly downPhase: DownPhaseSummary | null;
}

export interface MetricsInput {
  readonly scenario: Scenario;
  readonly started: number;
  readonly records: readonly CallRecord[];
  readonly counts: Readonly<Record<string, RouteCounts>>;
  readonly arrivals: readonly Arrival[];
  /** Breaker runs: exact ones (from events) when the library reports them, else the sampled ones. */
  readonly runs: readonly StateRun[];
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

export function computeMetrics(input: MetricsInput): Metrics {
  const { records, runs } = input;
  const counts = Object.values(input.counts);
  const total = (
    field: 'requests' | 'whileDown' | 'early' | 'earlyAfterSeen' | 'throttled' | 'coolDowns',
  ): number => counts.reduce((s, c) => s + c[field], 0);
  const upstream = total('requests');
  const outcomes = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const r of records) outcomes[r.outcome]++;
  const openRuns = runs.filter((r) => r.state === 'open');
  const inOpen = records.filter((r) =>
    openRuns.some((run) => run.key === r.route && run.from <= r.start && r.start < run.to),
  );
  const { failFastMs, recoveryMs, probes, downPhase } = downRouteMetrics(input, openRuns);
  return {
    logical: input.started,
    unfinished: input.started - records.length,
    successRate: ratio(outcomes.ok, input.started),
    upstream,
    amplification: ratio(upstream, input.started),
    whileDown: total('whileDown'),
    early: total('early'),
    earlyAfterSeen: total('earlyAfterSeen'),
    throttled: total('throttled'),
    coolDowns: total('coolDowns'),
    limiter: limiterSummary(input.scenario, records, outcomes.ok),
    latency: latencies(records),
    failFastMs,
    recoveryMs,
    whileOpen: inOpen.length > 0 ? { calls: inOpen.length, p99: latencies(inOpen).p99 } : null,
    probes,
    breakerOpened: openRuns.length > 0,
    outcomes,
    routes: routeMetrics(input),
    tenants: tenantMetrics(input),
    downPhase,
  };
}

/** Arrivals inside announced Retry-After windows per cool-down (0 when there was none). */
export function earlyPerCoolDown(m: Pick<Metrics, 'early' | 'coolDowns'>): number {
  return m.coolDowns > 0 ? m.early / m.coolDowns : m.early;
}

/** The goodput through the scenario's one limiter, when it has exactly one limited route without tenants. */
function limiterSummary(
  scenario: Scenario,
  records: readonly CallRecord[],
  ok: number,
): LimiterSummary | null {
  const [route, ...others] = scenario.routes;
  if (!route || others.length > 0 || route.tenants) return null;
  const limits = route.phases.flatMap((p) =>
    p.bucket
      ? [p.bucket]
      : p.throttle
        ? [{ perSecond: p.throttle.perSecond, burst: p.throttle.perSecond }]
        : [],
  );
  const [limit, ...more] = limits;
  if (!limit || more.length > 0) return null;
  const busyMs = Math.max(scenario.durationMs, ...records.map((r) => r.end));
  const admissible = limit.burst + (limit.perSecond * busyMs) / 1000;
  return { perSecond: limit.perSecond, burst: limit.burst, busyMs, goodput: ok / admissible };
}

const successRate = (records: readonly CallRecord[]): number =>
  ratio(records.filter((r) => r.outcome === 'ok').length, records.length);

function routeMetrics({ scenario, records, counts }: MetricsInput): Record<string, RouteMetrics> {
  const routes: Record<string, RouteMetrics> = {};
  for (const route of scenario.routes) {
    const mine = records.filter((r) => r.route === route.name);
    routes[route.name] = {
      logical: mine.length,
      successRate: successRate(mine),
      upstream: counts[route.name]?.requests ?? 0,
      latency: latencies(mine),
    };
  }
  return routes;
}

function tenantMetrics(input: MetricsInput): Record<string, TenantMetrics> {
  const counts = Object.values(input.counts);
  const tenants: Record<string, TenantMetrics> = {};
  for (const [tenant, mine] of Map.groupBy(
    input.records.filter((r) => r.tenant !== undefined),
    (r) => r.tenant as string,
  )) {
    const served = counts.flatMap((c) => (c.tenants?.[tenant] ? [c.tenants[tenant]] : []));
    const total = (field: 'requests' | 'early' | 'earlyAfterSeen'): number =>
      served.reduce((s, c) => s + c[field], 0);
    tenants[tenant] = {
      logical: mine.length,
      successRate: successRate(mine),
      upstream: total('requests'),
      early: total('early'),
      earlyAfterSeen: total('earlyAfterSeen'),
      latency: latencies(mine),
    };
  }
  return tenants;
}

/** What happened around the first down phase of the first route that has one. */
type DownRouteMetrics = Pick<Metrics, 'failFastMs' | 'recoveryMs' | 'probes' | 'downPhase'>;

function downRouteMetrics(input: MetricsInput, openRuns: readonly StateRun[]): DownRouteMetrics {
  const { scenario } = input;
  const downRoute = scenario.routes.find((r) => downIntervals(r.phases, scenario.durationMs).length > 0);
  if (!downRoute) return { failFastMs: null, recoveryMs: null, probes: null, downPhase: null };
  const route = downRoute.name;
  const [down0, down1] = downIntervals(downRoute.phases, scenario.durationMs)[0] as [number, number];
  const onRoute = input.records.filter((r) => r.route === route);
  const firstFast = onRoute
    .filter((r) => r.outcome === 'fail-fast' && r.start >= down0 && r.start < down1)
    .sort((a, b) => a.start - b.start)[0];
  const firstOk = onRoute
    .filter((r) => r.outcome === 'ok' && r.end >= down1)
    .sort((a, b) => a.end - b.end)[0];
  const firstOpen = openRuns
    .filter((run) => run.key === route && run.from >= down0 && run.from < down1)
    .sort((a, b) => a.from - b.from)[0];
  return {
    failFastMs: firstFast ? firstFast.start - down0 : null,
    recoveryMs: firstOk ? firstOk.end - down1 : null,
    probes: firstOpen ? probeSummary(input, route, firstOpen.from, down1) : null,
    downPhase: downPhaseSummary(input.arrivals, route, down0, down1),
  };
}

function downPhaseSummary(
  arrivals: readonly Arrival[],
  route: string,
  down0: number,
  down1: number,
): DownPhaseSummary {
  const during = arrivals.filter((a) => a.route === route && a.t >= down0 && a.t < down1);
  const firstAttempts = during.filter((a) => a.attempt === 1).length;
  return {
    durationMs: down1 - down0,
    requests: during.length,
    firstAttempts,
    firstAttemptsBefore: arrivals.filter((a) => a.route === route && a.t < down0 && a.attempt === 1).length,
    amplification: ratio(during.length, firstAttempts),
  };
}

/** The requests that reached the down route from the breaker's first opening (`openedAt`) to recovery. */
function probeSummary(input: MetricsInput, route: string, openedAt: number, down1: number): ProbeSummary {
  const arrivals = input.arrivals
    .filter((a) => a.route === route && a.t > openedAt && a.t < down1)
    .map((a) => a.t);
  const halfOpens = input.runs
    .filter((r) => r.key === route && r.state === 'half-open')
    .map((r) => r.from)
    .filter((t) => t >= openedAt && t < down1)
    .sort((a, b) => a - b);
  let maxPerInterval = 0;
  halfOpens.forEach((from, i) => {
    const to = halfOpens[i + 1] ?? down1;
    maxPerInterval = Math.max(maxPerInterval, arrivals.filter((t) => t >= from && t < to).length);
  });
  const firstHalfOpen = halfOpens[0] ?? down1;
  return {
    requestsAfterOpen: arrivals.length,
    beforeFirstHalfOpen: arrivals.filter((t) => t < firstHalfOpen).length,
    halfOpenEntries: halfOpens.length,
    maxPerInterval,
  };
}
