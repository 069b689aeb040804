/**
 * The issue's targets, checked against one run. Each says what was measured and, when missed, by how
 * much; nothing here changes a scenario to make a target pass.
 */
import { DEFAULT_POLICY, type RetryBudgetPolicy } from '@breakwater/policies';
import type { Metrics } from './metrics.ts';
import type { OverheadResult } from './overhead.ts';
import type { ScenarioResult } from './run-scenario.ts';

export interface TargetCheck {
  readonly target: string;
  /** null when the run did not include what the target needs. */
  readonly met: boolean | null;
  readonly measured: string;
  /** By how much it was missed, when it was. */
  readonly miss?: string;
}

/** The client the targets are about. */
export const TARGET_CLIENT = 'breakwater';
/** breakwater's default first half-open interval (ms). */
const HALF_OPEN_MS = 5_000;

const fmt = (n: number, digits = 2): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

function lane(results: readonly ScenarioResult[], scenario: string) {
  return results.find((r) => r.name === scenario)?.lanes.find((l) => l.client === TARGET_CLIENT)?.metrics;
}

/** The peers of a scenario: every client that ran and is not a breakwater configuration. */
function peers(results: readonly ScenarioResult[], scenario: string): { client: string; metrics: Metrics }[] {
  return (results.find((r) => r.name === scenario)?.lanes ?? []).flatMap((l) =>
    l.metrics && !l.client.startsWith(TARGET_CLIENT) ? [{ client: l.client, metrics: l.metrics }] : [],
  );
}

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

/** The share of calls under which a tenant counts as unaffected by the others' throttling. */
const UNAFFECTED_SUCCESS = 0.99;

function check(target: string, met: boolean | null, measured: string, miss: string): TargetCheck {
  return met === false ? { target, met, measured, miss } : { target, met, measured };
}

export function checkTargets(
  results: readonly ScenarioResult[],
  overhead: OverheadResult | null,
): TargetCheck[] {
  const out: TargetCheck[] = [];
  const outage = lane(results, 'outage');
  if (outage) {
    const p = outage.probes;
    out.push(
      check(
        'outage: at most one probe per half-open interval while down',
        p ? p.maxPerInterval <= 1 : null,
        p
          ? `${p.requestsAfterOpen} requests reached the down server after the breaker opened (${p.beforeFirstHalfOpen} before the first half-open, already in flight), ${p.halfOpenEntries} half-open entries, at most ${p.maxPerInterval} per interval`
          : 'the breaker never opened during the outage',
        p ? `${p.maxPerInterval - 1} extra request(s) in one interval` : 'never opened',
      ),
    );
    const open = outage.whileOpen;
    out.push(
      check(
        'outage: fails fast while open (p99 < 5 ms)',
        open ? open.p99 < 5 : null,
        open ? `p99 ${fmt(open.p99)} ms over ${open.calls} calls started while open` : 'no call while open',
        open ? `${fmt(open.p99 - 5)} ms over` : '',
      ),
    );
    out.push(
      check(
        `outage: first success within one half-open interval (${HALF_OPEN_MS / 1000} s) of recovery`,
        outage.recoveryMs === null ? false : outage.recoveryMs <= HALF_OPEN_MS,
        outage.recoveryMs === null ? 'no success after recovery' : `${fmt(outage.recoveryMs, 0)} ms`,
        outage.recoveryMs === null ? 'never' : `${fmt(outage.recoveryMs - HALF_OPEN_MS, 0)} ms late`,
      ),
    );
  }
  const throttle = lane(results, 'throttle');
  if (throttle) {
    out.push(
      check(
        'throttle: zero requests sent before a Retry-After elapsed',
        throttle.earlyAfterSeen === 0,
        `${throttle.earlyAfterSeen} sent after the 429 was received (${throttle.early} arrived inside a Retry-After window in all) of ${throttle.upstream} requests`,
        `${throttle.earlyAfterSeen} early request(s)`,
      ),
    );
    const others = peers(results, 'throttle');
    const best = others.reduce<{ client: string; metrics: Metrics } | undefined>(
      (a, b) => (a && a.metrics.outcomes.ok >= b.metrics.outcomes.ok ? a : b),
      undefined,
    );
    out.push(
      check(
        'throttle: completes more calls than any peer',
        best ? throttle.outcomes.ok > best.metrics.outcomes.ok : null,
        best
          ? `${throttle.outcomes.ok} of ${throttle.logical} calls succeeded; best peer ${best.client} ${best.metrics.outcomes.ok} (${others.map((p) => `${p.client} ${p.metrics.outcomes.ok}`).join(', ')})`
          : 'no peer ran',
        best ? `${best.metrics.outcomes.ok - throttle.outcomes.ok + 1} call(s)` : '',
      ),
    );
  }
  const tenant = lane(results, 'throttle-tenant');
  if (tenant) {
    const perTenant = Object.entries(tenant.tenants);
    out.push(
      check(
        "throttle-tenant: zero requests sent before their tenant's Retry-After elapsed",
        perTenant.length > 0 ? tenant.earlyAfterSeen === 0 : null,
        perTenant.length > 0
          ? `${perTenant.map(([id, t]) => `${id} ${t.earlyAfterSeen} (${t.early})`).join(', ')} of ${tenant.upstream} requests`
          : 'no tenant recorded',
        `${tenant.earlyAfterSeen} early request(s)`,
      ),
    );
    const route = results.find((r) => r.name === 'throttle-tenant')?.routes.find((r) => r.tenants);
    const under = (route?.tenants ?? []).filter((t) => t.underLimit).map((t) => t.id);
    const worst = Math.min(...under.map((id) => tenant.tenants[id]?.successRate ?? 0));
    out.push(
      check(
        `throttle-tenant: tenants under their limit unaffected (success >= ${UNAFFECTED_SUCCESS * 100} %)`,
        under.length > 0 ? worst >= UNAFFECTED_SUCCESS : null,
        under.length > 0
          ? under
              .map((id) => {
                const t = tenant.tenants[id];
                return `${id} ${t ? `${fmt(t.successRate * 100, 1)} %, p99 ${fmt(t.latency.p99, 0)} ms` : 'no calls'}`;
              })
              .join('; ')
          : 'no tenant under its limit',
        `${fmt((UNAFFECTED_SUCCESS - worst) * 100, 1)} points short`,
      ),
    );
  }
  const budget = lane(results, 'budget');
  if (budget) {
    const down = budget.downPhase;
    const policy = DEFAULT_POLICY.retryBudget;
    // The scenario's healthy lead (1 s) is shorter than the budget's window (10 s): every first attempt
    // before the phase is still in the window when it starts.
    const bound = down
      ? budgetBound(down.firstAttempts, down.firstAttemptsBefore, down.durationMs, policy)
      : Number.NaN;
    const all = (results.find((r) => r.name === 'budget')?.lanes ?? []).flatMap((l) =>
      l.metrics?.downPhase ? [`${l.client} ${fmt(l.metrics.downPhase.amplification)}`] : [],
    );
    out.push(
      check(
        `budget: requests during the 503 phase (breaker off) <= first attempts + ${policy.ratio} x first attempts in the budget's window + ${policy.minRetries} per ${policy.windowMs / 1000} s window`,
        down ? down.requests <= bound : null,
        down
          ? `${down.requests} requests for ${down.firstAttempts} first attempts in ${fmt(down.durationMs / 1000, 1)} s, with ${down.firstAttemptsBefore} more in the window before the phase (bound ${fmt(bound, 1)}): amplification ${fmt(down.amplification)}; every client: ${all.join(', ')}`
          : 'no down phase',
        down ? `${fmt(down.requests - bound, 1)} request(s)` : '',
      ),
    );
  }
  const clientErrors = lane(results, 'client-errors');
  if (clientErrors) {
    out.push(
      check(
        'client-errors: amplification exactly 1.00',
        clientErrors.upstream === clientErrors.logical,
        `${clientErrors.upstream} upstream / ${clientErrors.logical} calls = ${fmt(clientErrors.amplification, 3)}`,
        `${clientErrors.upstream - clientErrors.logical} extra request(s)`,
      ),
    );
    out.push(
      check(
        'client-errors: the breaker never opens',
        !clientErrors.breakerOpened,
        clientErrors.breakerOpened ? 'opened' : 'stayed closed',
        'opened',
      ),
    );
  }
  const flaky = lane(results, 'flaky');
  if (flaky) {
    out.push(
      check(
        'flaky: success rate >= 99.5 %',
        flaky.successRate >= 0.995,
        `${fmt(flaky.successRate * 100)} %`,
        `${fmt((0.995 - flaky.successRate) * 100)} points short`,
      ),
    );
    out.push(
      check(
        'flaky: amplification <= 1.15',
        flaky.amplification <= 1.15,
        fmt(flaky.amplification, 3),
        `${fmt(flaky.amplification - 1.15, 3)} over`,
      ),
    );
  }
  if (overhead) {
    const row = (name: string) => overhead.memory.find((r) => r.client === name);
    const bw = row(TARGET_CLIENT);
    const cockatiel = row('cockatiel (retry+breaker only)');
    const ky = row('ky');
    if (bw && cockatiel) {
      const ratio = bw.meanMs / cockatiel.meanMs;
      out.push(
        check(
          "overhead: per call over in-memory fetch <= 1.3x cockatiel's retry+breaker",
          ratio <= 1.3,
          `${fmt(bw.meanMs * 1000, 1)} µs vs ${fmt(cockatiel.meanMs * 1000, 1)} µs = ${fmt(ratio)}x`,
          `${fmt(ratio - 1.3)}x over (${fmt((bw.meanMs - 1.3 * cockatiel.meanMs) * 1000, 1)} µs per call)`,
        ),
      );
    }
    if (bw && ky) {
      out.push(
        check(
          "overhead: per call over in-memory fetch lower than ky's",
          bw.meanMs < ky.meanMs,
          `${fmt(bw.meanMs * 1000, 1)} µs vs ky ${fmt(ky.meanMs * 1000, 1)} µs`,
          `${fmt((bw.meanMs - ky.meanMs) * 1000, 1)} µs slower`,
        ),
      );
    }
  }
  return out;
}
