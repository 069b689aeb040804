/**
 * The issue's targets, checked against one run. Each says what was measured and, when missed, by how
 * much; nothing here changes a scenario to make a target pass. The targets are two tables, in report
 * order: one row per scenario target, one per overhead comparison.
 */
import { DEFAULT_POLICY, type RetryBudgetPolicy } from '@breakwater/policies';
import type { FleetResult } from './fleet/run-fleet.ts';
import { fleetTargets } from './fleet/targets.ts';
import { fmt, percent, withInterval } from './format.ts';
import { earlyPerCoolDown, type Metrics } from './metrics.ts';
import { ORACLE } from './oracle.ts';
import type { OverheadResult } from './overhead.ts';
import type { ScenarioResult } from './run-scenario.ts';
import { type Estimate, type Verdict, verdict } from './stats.ts';
import { check } from './target-check.ts';

export interface TargetCheck {
  readonly target: string;
  /** null when the run did not include what the target needs. */
  readonly met: boolean | null;
  readonly measured: string;
  /** By how much it was missed, when it was. */
  readonly miss?: string;
  /**
   * Overhead targets only: the three-valued verdict; 'no difference' (with `met` null) when the
   * figure's interval straddles the threshold, i.e. is wider than the difference it would claim.
   */
  readonly verdict?: Verdict;
}

/** The client the targets are about. */
export const TARGET_CLIENT = 'breakwater';
/** breakwater's default first half-open interval (ms): the targets are about breakwater with defaults. */
const HALF_OPEN_MS = DEFAULT_POLICY.breaker.halfOpenAfterMs;
/** The share of calls under which a tenant counts as unaffected by the others' throttling. */
const UNAFFECTED_SUCCESS = 0.99;

/**
 * The most requests a retry budget lets through during a down phase: every first attempt, and as
 * retries `ratio` of the first attempts its window holds plus `minRetries` per window the phase spans.
 * At the start of the phase the window still holds the first attempts made just before it
 * (`firstAttemptsBefore`: the caller passes those within one window of the phase start), and they
 * count toward the budget as much as the phase's own.
 */
export function budgetBound(
  firstAttempts: number,
  firstAttemptsBefore: number,
  phaseMs: number,
  budget: RetryBudgetPolicy,
): number {
  return (
    firstAttempts +
    budget.ratio * (firstAttempts + firstAttemptsBefore) +
    budget.minRetries * Math.ceil(phaseMs / budget.windowMs)
  );
}

/** What a scenario target is checked against: breakwater's lane and the whole scenario, for its peers. */
interface TargetRun {
  readonly metrics: Metrics;
  readonly result: ScenarioResult;
}

/** One target of a scenario; checked only when the run includes the scenario with breakwater in it. */
interface ScenarioTarget {
  readonly scenario: string;
  readonly check: (run: TargetRun) => TargetCheck;
}

/**
 * One overhead target: a paired ratio (median and interval over the batches) against a threshold. The
 * figure is picked from the run's overhead result; a run without it skips the target.
 */
interface OverheadTarget {
  readonly target: string;
  readonly figure: (overhead: OverheadResult) => Estimate | undefined;
  readonly relation: 'at most' | 'at least';
  readonly threshold: number;
  /** The figure's unit as printed. Default `x` (a ratio). */
  readonly unit?: 'x' | ' µs';
}

/** The peers of a scenario: every client that ran and is neither a breakwater configuration nor the oracle. */
function peers(result: ScenarioResult): { client: string; metrics: Metrics }[] {
  return result.lanes.flatMap((l) =>
    l.metrics && !l.client.startsWith(TARGET_CLIENT) && l.client !== ORACLE
      ? [{ client: l.client, metrics: l.metrics }]
      : [],
  );
}

/** One figure of every other client of the scenario (peers and the oracle), for a target's "measured". */
function others(result: ScenarioResult, figure: (m: Metrics) => string): string {
  return result.lanes
    .flatMap((l) => (l.metrics && l.client !== TARGET_CLIENT ? [`${l.client} ${figure(l.metrics)}`] : []))
    .join(', ');
}

function outageProbes({ metrics }: TargetRun): TargetCheck {
  const p = metrics.probes;
  return check(
    'outage: at most one probe per half-open interval while down',
    p ? p.maxPerInterval <= 1 : null,
    p
      ? `${p.requestsAfterOpen} requests reached the down server after the breaker opened (${p.beforeFirstHalfOpen} before the first half-open, already in flight), ${p.halfOpenEntries} half-open entries, at most ${p.maxPerInterval} per interval`
      : 'the breaker never opened during the outage',
    p ? `${p.maxPerInterval - 1} extra request(s) in one interval` : 'never opened',
  );
}

function outageFailsFast({ metrics }: TargetRun): TargetCheck {
  const open = metrics.whileOpen;
  return check(
    'outage: fails fast while open (p99 < 5 ms)',
    open ? open.p99 < 5 : null,
    open ? `p99 ${fmt(open.p99)} ms over ${open.calls} calls started while open` : 'no call while open',
    open ? `${fmt(open.p99 - 5)} ms over` : '',
  );
}

function outageRecovers({ metrics }: TargetRun): TargetCheck {
  const { recoveryMs } = metrics;
  return check(
    `outage: first success within one half-open interval (${HALF_OPEN_MS / 1000} s) of recovery`,
    recoveryMs === null ? false : recoveryMs <= HALF_OPEN_MS,
    recoveryMs === null ? 'no success after recovery' : `${fmt(recoveryMs, 0)} ms`,
    recoveryMs === null ? 'never' : `${fmt(recoveryMs - HALF_OPEN_MS, 0)} ms late`,
  );
}

function throttleNeverEarly({ metrics: m }: TargetRun): TargetCheck {
  return check(
    'throttle: zero requests sent before a Retry-After elapsed',
    m.earlyAfterSeen === 0,
    `${m.earlyAfterSeen} sent after the 429 was received (${m.early} arrived inside a Retry-After window in all) of ${m.upstream} requests`,
    `${m.earlyAfterSeen} early request(s)`,
  );
}

function throttleBeatsPeers({ metrics: m, result }: TargetRun): TargetCheck {
  const others = peers(result);
  const best = others.reduce<{ client: string; metrics: Metrics } | undefined>(
    (a, b) => (a && a.metrics.outcomes.ok >= b.metrics.outcomes.ok ? a : b),
    undefined,
  );
  return check(
    'throttle: completes more calls than any peer',
    best ? m.outcomes.ok > best.metrics.outcomes.ok : null,
    best
      ? `${m.outcomes.ok} of ${m.logical} calls succeeded; best peer ${best.client} ${best.metrics.outcomes.ok} (${others.map((p) => `${p.client} ${p.metrics.outcomes.ok}`).join(', ')})`
      : 'no peer ran',
    best ? `${best.metrics.outcomes.ok - m.outcomes.ok + 1} call(s)` : '',
  );
}

/** Every call of the throttle scenario succeeds (240/240). */
function throttleAllSucceed({ metrics: m }: TargetRun): TargetCheck {
  return check(
    'throttle: every call succeeds',
    m.outcomes.ok === m.logical,
    `${m.outcomes.ok}/${m.logical}`,
    `${m.logical - m.outcomes.ok} call(s)`,
  );
}

/** Arrivals inside the server's announced Retry-After windows, in-flight included, per cool-down. */
function windowArrivals(scenario: string) {
  return ({ metrics: m, result }: TargetRun): TargetCheck => {
    const per = earlyPerCoolDown(m);
    return check(
      `${scenario}: arrivals inside announced Retry-After windows (in-flight included) <= 1 per cool-down`,
      per <= 1,
      `${m.early} in ${m.coolDowns} cool-down(s) = ${fmt(per)} per cool-down; ${others(result, (o) => fmt(earlyPerCoolDown(o)))}`,
      `${fmt(per - 1)} per cool-down over`,
    );
  };
}

/** The token-bucket target on 429s: at most 5 % of breakwater's own requests. */
function bucketFew429s({ metrics: m, result }: TargetRun): TargetCheck {
  const share = m.throttled / m.upstream;
  return check(
    'token-bucket: 429s <= 5 % of requests',
    share <= 0.05,
    `${m.throttled} of ${m.upstream} = ${percent(share)}; ${others(result, (o) => percent(o.throttled / o.upstream))}`,
    `${fmt((share - 0.05) * 100, 1)} points over`,
  );
}

function bucketSucceeds({ metrics: m, result }: TargetRun): TargetCheck {
  return check(
    'token-bucket: success >= 99 %',
    m.successRate >= 0.99,
    `${percent(m.successRate)}; ${others(result, (o) => percent(o.successRate))}`,
    `${fmt((0.99 - m.successRate) * 100, 1)} points short`,
  );
}

function bucketGoodput({ metrics: m, result }: TargetRun): TargetCheck {
  const goodput = m.limiter?.goodput;
  return check(
    "token-bucket: goodput >= 90 % of the limiter's rate",
    goodput === undefined ? null : goodput >= 0.9,
    goodput === undefined
      ? 'no limiter'
      : `${percent(goodput)} over ${fmt((m.limiter?.busyMs ?? 0) / 1000, 1)} s; ${others(result, (o) => (o.limiter ? percent(o.limiter.goodput) : 'n/a'))}`,
    goodput === undefined ? '' : `${fmt((0.9 - goodput) * 100, 1)} points short`,
  );
}

/** breakwater's share of successful calls in `scenario` is at least `min`. */
function successAtLeast(scenario: string, min: number) {
  return ({ metrics: m }: TargetRun): TargetCheck =>
    check(
      `${scenario}: success rate >= ${min * 100} %`,
      m.successRate >= min,
      `${fmt(m.successRate * 100)} %`,
      `${fmt((min - m.successRate) * 100)} points short`,
    );
}

/** flap: the 503s with Retry-After must not stall the endpoint: p50 within 2x of the best peer's. */
function flapP50({ metrics: m, result }: TargetRun): TargetCheck {
  const best = peers(result).reduce<{ client: string; metrics: Metrics } | undefined>(
    (a, b) => (a && a.metrics.latency.p50 <= b.metrics.latency.p50 ? a : b),
    undefined,
  );
  const bound = best ? 2 * best.metrics.latency.p50 : Number.NaN;
  return check(
    "flap: p50 within 2x of the best peer's p50",
    best ? m.latency.p50 <= bound : null,
    best
      ? `${fmt(m.latency.p50)} ms; best peer ${best.client} ${fmt(best.metrics.latency.p50)} ms (${peers(
          result,
        )
          .map((p) => `${p.client} ${fmt(p.metrics.latency.p50)}`)
          .join(', ')})`
      : 'no peer ran',
    best ? `${fmt(m.latency.p50 - bound)} ms over` : '',
  );
}

/** A lane of the target's scenario other than breakwater's default one, when it ran. */
function lane(result: ScenarioResult, client: string): Metrics | undefined {
  return result.lanes.find((l) => l.client === client)?.metrics;
}

/** Issue 13: on a slow upstream the slow-call breaker opens (a lane with `breaker.slowCallMs` set). */
function slowCallBreakerOpens({ result }: TargetRun): TargetCheck {
  const m = lane(result, 'breakwater-slowcall');
  return check(
    'slow: the slow-call breaker opens (breakwater-slowcall)',
    m ? m.breakerOpened : null,
    m
      ? `${m.breakerOpened ? 'opened' : 'stayed closed'}; success ${fmt(100 * m.successRate, 1)} %, amplification ${fmt(m.amplification)}`
      : 'lane not run',
    'stayed closed',
  );
}

/** Issue 13: hedging cuts the tail, at the amplification it costs, beside the retry-only lane. */
function hedgingCutsTail({ metrics: retryOnly, result }: TargetRun): TargetCheck {
  const m = lane(result, 'breakwater-hedge');
  return check(
    "slow: hedging's p99 below the retry-only lane's (breakwater-hedge vs breakwater)",
    m ? m.latency.p99 < retryOnly.latency.p99 : null,
    m
      ? `p99 ${fmt(m.latency.p99, 0)} vs ${fmt(retryOnly.latency.p99, 0)} ms; amplification ${fmt(m.amplification)} vs ${fmt(retryOnly.amplification)}`
      : 'lane not run',
    m ? `${fmt(m.latency.p99 - retryOnly.latency.p99, 0)} ms slower` : '',
  );
}

function tenantNeverEarly({ metrics: m }: TargetRun): TargetCheck {
  const perTenant = Object.entries(m.tenants);
  return check(
    "throttle-tenant: zero requests sent before their tenant's Retry-After elapsed",
    perTenant.length > 0 ? m.earlyAfterSeen === 0 : null,
    perTenant.length > 0
      ? `${perTenant.map(([id, t]) => `${id} ${t.earlyAfterSeen} (${t.early})`).join(', ')} of ${m.upstream} requests`
      : 'no tenant recorded',
    `${m.earlyAfterSeen} early request(s)`,
  );
}

function tenantUnaffected({ metrics: m, result }: TargetRun): TargetCheck {
  const route = result.routes.find((r) => r.tenants);
  const under = (route?.tenants ?? []).filter((t) => t.underLimit).map((t) => t.id);
  const worst = Math.min(...under.map((id) => m.tenants[id]?.successRate ?? 0));
  const describe = (id: string): string => {
    const t = m.tenants[id];
    return `${id} ${t ? `${fmt(t.successRate * 100, 1)} %, p99 ${fmt(t.latency.p99, 0)} ms` : 'no calls'}`;
  };
  return check(
    `throttle-tenant: tenants under their limit unaffected (success >= ${UNAFFECTED_SUCCESS * 100} %)`,
    under.length > 0 ? worst >= UNAFFECTED_SUCCESS : null,
    under.length > 0 ? under.map(describe).join('; ') : 'no tenant under its limit',
    `${fmt((UNAFFECTED_SUCCESS - worst) * 100, 1)} points short`,
  );
}

function budgetHolds({ metrics, result }: TargetRun): TargetCheck {
  const down = metrics.downPhase;
  const policy = DEFAULT_POLICY.retryBudget;
  // The scenario's healthy lead (1 s) is shorter than the budget's window (10 s): every first attempt
  // before the phase is still in the window when it starts.
  const bound = down
    ? budgetBound(down.firstAttempts, down.firstAttemptsBefore, down.durationMs, policy)
    : Number.NaN;
  const all = result.lanes.flatMap((l) =>
    l.metrics?.downPhase ? [`${l.client} ${fmt(l.metrics.downPhase.amplification)}`] : [],
  );
  return check(
    `budget: requests during the 503 phase (breaker off) <= first attempts + ${policy.ratio} x first attempts in the budget's window + ${policy.minRetries} per ${policy.windowMs / 1000} s window`,
    down ? down.requests <= bound : null,
    down
      ? `${down.requests} requests for ${down.firstAttempts} first attempts in ${fmt(down.durationMs / 1000, 1)} s, with ${down.firstAttemptsBefore} more in the window before the phase (bound ${fmt(bound, 1)}): amplification ${fmt(down.amplification)}; every client: ${all.join(', ')}`
      : 'no down phase',
    down ? `${fmt(down.requests - bound, 1)} request(s)` : '',
  );
}

const SCENARIO_TARGETS: readonly ScenarioTarget[] = [
  { scenario: 'outage', check: outageProbes },
  { scenario: 'outage', check: outageFailsFast },
  { scenario: 'outage', check: outageRecovers },
  { scenario: 'throttle', check: throttleNeverEarly },
  { scenario: 'throttle', check: throttleBeatsPeers },
  { scenario: 'throttle', check: throttleAllSucceed },
  { scenario: 'throttle', check: windowArrivals('throttle') },
  { scenario: 'token-bucket', check: bucketFew429s },
  { scenario: 'token-bucket', check: windowArrivals('token-bucket') },
  { scenario: 'token-bucket', check: bucketSucceeds },
  { scenario: 'token-bucket', check: bucketGoodput },
  { scenario: 'throttle-tenant', check: tenantNeverEarly },
  { scenario: 'throttle-tenant', check: tenantUnaffected },
  { scenario: 'budget', check: budgetHolds },
  {
    scenario: 'client-errors',
    check: ({ metrics: m }) =>
      check(
        'client-errors: amplification exactly 1.00',
        m.upstream === m.logical,
        `${m.upstream} upstream / ${m.logical} calls = ${fmt(m.amplification, 3)}`,
        `${m.upstream - m.logical} extra request(s)`,
      ),
  },
  {
    scenario: 'client-errors',
    check: ({ metrics: m }) =>
      check(
        'client-errors: the breaker never opens',
        !m.breakerOpened,
        m.breakerOpened ? 'opened' : 'stayed closed',
        'opened',
      ),
  },
  { scenario: 'flaky', check: successAtLeast('flaky', 0.995) },
  {
    scenario: 'flaky',
    check: ({ metrics: m }) =>
      check(
        'flaky: amplification <= 1.15',
        m.amplification <= 1.15,
        fmt(m.amplification, 3),
        `${fmt(m.amplification - 1.15, 3)} over`,
      ),
  },
  { scenario: 'flap', check: flapP50 },
  { scenario: 'flap', check: successAtLeast('flap', 0.995) },
  { scenario: 'slow', check: slowCallBreakerOpens },
  { scenario: 'slow', check: hedgingCutsTail },
];

/** x / y from the estimate of y / x: order statistics map through 1/r exactly (bounds swap). */
const inverse = (e: Estimate): Estimate => ({ median: 1 / e.median, low: 1 / e.high, high: 1 / e.low });

const memoryRow = (o: OverheadResult, client: string) => o.memory.find((r) => r.client === client);

/** breakwater's in-memory per-call cost over `peer`'s, paired per batch. */
function memoryVs(peer: string): (o: OverheadResult) => Estimate | undefined {
  return (o) => {
    const vsBreakwater = memoryRow(o, peer)?.vsBreakwater;
    return vsBreakwater ? inverse(vsBreakwater) : undefined;
  };
}

/** breakwater timed back to back with `base` in-memory, where the run paired them. */
const memoryPair = (o: OverheadResult, base: string) =>
  o.memoryPairs?.find((r) => r.base === base && r.client === TARGET_CLIENT);

/**
 * breakwater's in-memory per-call cost over `peer`'s: back to back where the run paired them (issue
 * 17's targets), else from the fastest rounds of every client (earlier runs).
 */
function memoryPairedVs(peer: string): (o: OverheadResult) => Estimate | undefined {
  return (o) => memoryPair(o, peer)?.vsBase ?? memoryVs(peer)(o);
}

export const REDIS_OVERHEAD_TARGET = 'overhead: Redis store per call <= 1.2x the in-memory store (issue 14)';

const OVERHEAD_TARGETS: readonly OverheadTarget[] = [
  {
    target: "overhead: per call over in-memory fetch <= 1.3x cockatiel's retry+breaker",
    figure: memoryPairedVs('cockatiel (retry+breaker only)'),
    relation: 'at most',
    threshold: 1.3,
  },
  {
    target: "overhead: per call over in-memory fetch within 1.5x cockatiel's retry+breaker (issue 17)",
    figure: memoryPairedVs('cockatiel (retry+breaker only)'),
    relation: 'at most',
    threshold: 1.5,
  },
  {
    target: "overhead: per call at most 3 µs above raw fetch's, in-memory (issue 17)",
    figure: (o) => memoryPair(o, 'fetch')?.aboveBase ?? memoryRow(o, TARGET_CLIENT)?.aboveFetch,
    relation: 'at most',
    threshold: 3,
    unit: ' µs',
  },
  {
    target: "overhead: per call over in-memory fetch lower than ky's",
    figure: memoryVs('ky'),
    relation: 'at most',
    threshold: 1,
  },
  {
    target: 'overhead: loopback throughput >= 0.95x raw fetch (issue 17)',
    // Throughput held for seconds, each lane in its own process (GC counted), where the run measured
    // it; else back to back with fetch in short rounds; in earlier runs, the rounds of every client.
    figure: (o) =>
      (o.loopbackSustained ?? o.loopbackPairs ?? o.loopback).find((r) => r.client === TARGET_CLIENT)?.vsFetch,
    relation: 'at least',
    threshold: 0.95,
  },
  {
    target: 'overhead: telemetry on, no SDK, per call within 5 % of telemetry off (issue 15)',
    figure: (o) => o.telemetry.find((r) => r.client === 'breakwater telemetry: no SDK')?.vsOff,
    relation: 'at most',
    threshold: 1.05,
  },
  {
    target: 'overhead: telemetry with the in-memory SDK, per call <= 2x telemetry off (issue 15)',
    figure: (o) => o.telemetry.find((r) => r.client === 'breakwater telemetry: in-memory SDK')?.vsOff,
    relation: 'at most',
    threshold: 2,
  },
  {
    target: REDIS_OVERHEAD_TARGET,
    figure: (o) => (o.redis && 'vsInMemory' in o.redis ? o.redis.vsInMemory : undefined),
    relation: 'at most',
    threshold: 1.2,
  },
];

function overheadCheck(t: OverheadTarget, figure: Estimate): TargetCheck {
  const v = verdict(figure, t.relation, t.threshold);
  const unit = t.unit ?? 'x';
  const measured = withInterval(figure, 2, unit);
  if (v === 'missed') {
    const by = t.relation === 'at most' ? figure.low - t.threshold : t.threshold - figure.high;
    return {
      target: t.target,
      met: false,
      measured,
      miss: `${fmt(by)}${unit} beyond the whole interval`,
      verdict: v,
    };
  }
  return { target: t.target, met: v === 'met' ? true : null, measured, verdict: v };
}

/** breakwater's lane of a scenario, when the run includes both. */
function targetRun(results: readonly ScenarioResult[], scenario: string): TargetRun | undefined {
  const result = results.find((r) => r.name === scenario);
  const metrics = result?.lanes.find((l) => l.client === TARGET_CLIENT)?.metrics;
  return result && metrics ? { metrics, result } : undefined;
}

function overheadChecks(overhead: OverheadResult): TargetCheck[] {
  return OVERHEAD_TARGETS.flatMap((t) => {
    const figure = t.figure(overhead);
    if (figure) return [overheadCheck(t, figure)];
    // A lane the run tried and could not measure (no redis-server) is said, never left out silently.
    const redis = overhead.redis;
    if (t.target === REDIS_OVERHEAD_TARGET && redis && 'unavailable' in redis) {
      return [{ target: t.target, met: null, measured: `not run: ${redis.unavailable}` }];
    }
    return [];
  });
}

/** Every target the run has what it needs for, in table order. */
export function checkTargets(
  results: readonly ScenarioResult[],
  overhead: OverheadResult | null,
  fleet?: FleetResult,
): TargetCheck[] {
  const scenarios = SCENARIO_TARGETS.flatMap(({ scenario, check }) => {
    const run = targetRun(results, scenario);
    return run ? [check(run)] : [];
  });
  const withFleet = fleet ? [...scenarios, ...fleetTargets(fleet)] : scenarios;
  return overhead ? [...withFleet, ...overheadChecks(overhead)] : withFleet;
}
