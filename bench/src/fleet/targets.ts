/**
 * Issue 14's "Done when" as targets of the fleet part, one per line: met or missed from the figures of
 * one run, n/a (met null) when the fleet part could not run. Rows only for the runs that ran.
 */
import { fmt } from '../format.ts';
import { check } from '../target-check.ts';
import type { TargetCheck } from '../targets.ts';
import type { FleetResult } from './run-fleet.ts';

/** The most p99 latency Redis's absence may add (ms). */
const ADDED_P99_MS = 50;
/** The longest time from Redis's return to shared behaviour again (ms). */
const RESUME_MS = 5_000;
/** The healthy instances' success rate that counts as kept, on a healthy upstream. */
const HEALTHY_SUCCESS = 0.99;

const T_PROBES =
  'fleet outage: requests to the down upstream after the breakers opened <= 1 per half-open interval (shared)';
const T_BEFORE = 'fleet outage: failures before opening <= threshold + in-flight calls (shared)';
const T_WINDOWS = 'fleet throttle: arrivals inside announced Retry-After windows <= 1 per cool-down (shared)';
const T_BROKEN = `fleet broken network: the three healthy instances keep their breakers closed and success >= ${HEALTHY_SUCCESS * 100} %`;
const T_FAILED = 'fleet Redis killed: 0 calls fail because of Redis';
const T_P99 = `fleet Redis killed: p99 added while Redis is down <= ${ADDED_P99_MS} ms`;
const T_RESUME = `fleet Redis killed: shared behaviour resumes within ${RESUME_MS / 1000} s of Redis returning`;

/** The shared run's store-down events, when there were any: Redis was too slow for the store's timeout. */
const downs = (n: number): string => (n > 0 ? ` (${n} store-down event(s))` : '');

function outageTargets(fleet: FleetResult): TargetCheck[] {
  const o = fleet.outage;
  if (!o) return [];
  const { shared: s, independent: i } = o;
  const per = (f: typeof s): string =>
    f.maxPerInterval === null
      ? 'a breaker never opened'
      : `at most ${f.maxPerInterval} in any ${fleet.halfOpenMs} ms (mean ${fmt(f.meanPerInterval, 2)})`;
  const bound = (f: typeof s): number => fleet.threshold + f.inFlightAtOpen;
  return [
    check(
      T_PROBES,
      s.maxPerInterval !== null && s.maxPerInterval <= 1,
      `shared ${per(s)}${downs(s.storeDowns)}; independent ${per(i)}`,
      s.maxPerInterval === null ? 'never opened' : `${s.maxPerInterval - 1} extra request(s) in one interval`,
    ),
    check(
      T_BEFORE,
      s.failuresBeforeOpen <= bound(s),
      `shared ${s.failuresBeforeOpen} (bound ${fleet.threshold} + ${s.inFlightAtOpen} in flight = ${bound(s)}); independent ${i.failuresBeforeOpen} (bound ${bound(i)})`,
      `${s.failuresBeforeOpen - bound(s)} failure(s)`,
    ),
  ];
}

function throttleTargets(fleet: FleetResult): TargetCheck[] {
  const t = fleet.throttle;
  if (!t) return [];
  const { shared: s, independent: i } = t;
  return [
    check(
      T_WINDOWS,
      s.perCoolDown <= 1,
      `shared ${s.inWindow} in ${s.coolDowns} cool-down(s) = ${fmt(s.perCoolDown, 2)}${downs(s.storeDowns)}; independent ${i.inWindow} in ${i.coolDowns} = ${fmt(i.perCoolDown, 2)}`,
      `${fmt(s.perCoolDown - 1, 2)} per cool-down over`,
    ),
  ];
}

function brokenTargets(fleet: FleetResult): TargetCheck[] {
  const b = fleet.broken;
  if (!b) return [];
  const healthy = b.instances.filter((x) => !x.broken);
  const opened = healthy.reduce((n, x) => n + x.breaks, 0);
  const worst = Math.min(...healthy.map((x) => x.successRate));
  const sick = b.instances.find((x) => x.broken);
  return [
    check(
      T_BROKEN,
      // Every healthy instance reported, each with calls: none at all would read as "closed, 100 %".
      healthy.length === fleet.instances - 1 &&
        healthy.every((x) => x.calls > 0) &&
        opened === 0 &&
        worst >= HEALTHY_SUCCESS,
      `healthy: ${opened} breaker opening(s), lowest success ${fmt(worst * 100, 1)} %; broken instance: ${sick ? `${sick.breaks} opening(s), success ${fmt(sick.successRate * 100, 1)} %` : 'n/a'}`,
      opened > 0 ? `${opened} opening(s)` : `${fmt((HEALTHY_SUCCESS - worst) * 100, 1)} points short`,
    ),
  ];
}

function redisTargets(fleet: FleetResult): TargetCheck[] {
  const r = fleet.redisKill?.figures;
  if (!r) return [];
  return [
    check(
      T_FAILED,
      r.calls > 0 && r.failed === 0,
      `${r.failed} of ${r.calls} calls failed; ${r.sawDown} of ${fleet.instances} instances saw store-down`,
      `${r.failed} call(s)`,
    ),
    check(
      T_P99,
      r.addedP99 <= ADDED_P99_MS,
      `${fmt(r.addedP99, 1)} ms (p99 ${fmt(r.p99Down, 1)} ms while down, ${fmt(r.p99Before, 1)} ms before)`,
      `${fmt(r.addedP99 - ADDED_P99_MS, 1)} ms over`,
    ),
    check(
      T_RESUME,
      r.resumedMs !== null && r.resumedMs <= RESUME_MS,
      `${r.resumedMs === null ? 'never' : `${fmt(r.resumedMs, 0)} ms`} (every instance's store-up after ${fmt(r.storeUpMs, 0)} ms, first closure shared again after ${fmt(r.closureSharedMs, 0)} ms)`,
      r.resumedMs === null ? 'never' : `${fmt(r.resumedMs - RESUME_MS, 0)} ms late`,
    ),
  ];
}

/** The fleet targets of a run that included the fleet part. */
export function fleetTargets(fleet: FleetResult): TargetCheck[] {
  if (fleet.unavailable !== undefined) {
    const measured = `not run: ${fleet.unavailable}`;
    return [T_PROBES, T_BEFORE, T_WINDOWS, T_BROKEN, T_FAILED, T_P99, T_RESUME].map((target) => ({
      target,
      met: null,
      measured,
    }));
  }
  return [
    ...outageTargets(fleet),
    ...throttleTargets(fleet),
    ...brokenTargets(fleet),
    ...redisTargets(fleet),
  ];
}
