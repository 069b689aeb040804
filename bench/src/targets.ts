/**
 * The targets, checked against one run. Each says what was measured and, when missed, by how
 * much; nothing here changes a scenario to make a target pass.
 */
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
