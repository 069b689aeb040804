/**
 * The fleet figures, one per line of issue 14's "Done when", from what the shared server recorded
 * (arrivals, pulses) and what the instances reported (call records, breakwater's events). Pure: every
 * input is recorded data, every time in ms from the run's start.
 */
import type { CallRecord } from '../load.ts';
import { percentile } from '../metrics.ts';
import type { InstanceEvent } from './instance.ts';
import type { FleetArrival, Pulse } from './server.ts';

/** What the figures need of one instance. */
export interface InstanceRecord {
  readonly id: number;
  readonly broken: boolean;
  readonly records: readonly CallRecord[];
  readonly events: readonly InstanceEvent[];
}

/** The load's endpoint, as the instances' events name it. */
const MAIN_KEY = 'customers';

/** When the instance's breaker on the load's endpoint first opened at or after `from`; null: never. */
export function openedAt(instance: InstanceRecord, from: number): number | null {
  const opened = instance.events.find((e) => e.type === 'break' && e.key === MAIN_KEY && e.t >= from);
  return opened ? opened.t : null;
}

/**
 * `store-down` events of the instances during the run (from its start): Redis answered later than the
 * store's timeout, and the instance went on alone until the next `store-up`. On a loaded machine they
 * explain shared figures that look independent.
 */
export function storeDowns(instances: readonly InstanceRecord[]): number {
  return instances.reduce(
    (n, i) => n + i.events.filter((e) => e.type === 'store-down' && e.t >= 0).length,
    0,
  );
}

export interface OutageFigures {
  /** When each instance's breaker opened (null: never), by instance. */
  readonly openedAt: readonly (number | null)[];
  /**
   * The most requests reaching the down upstream within any one half-open interval (a sliding window
   * of its length) after every breaker had opened; null when one never opened.
   */
  readonly maxPerInterval: number | null;
  /** Those requests per half-open interval on average over the same stretch; null as above. */
  readonly meanPerInterval: number | null;
  /** Requests reaching the down upstream, fleet-wide, each from an instance whose breaker had not opened yet. */
  readonly failuresBeforeOpen: number;
  /** Calls in flight at their instance when its breaker opened, fleet-wide. */
  readonly inFlightAtOpen: number;
  /** All requests reaching the down upstream. */
  readonly downRequests: number;
  readonly storeDowns: number;
}

/**
 * The most of the sorted times `ts` within any window [t, t + width) that ends by `end`: the busiest
 * window starts at one of them.
 */
export function maxInWindow(ts: readonly number[], width: number, end: number): number {
  let most = 0;
  let j = 0;
  for (let i = 0; i < ts.length; i++) {
    const from = ts[i] as number;
    if (from + width > end) break;
    j = Math.max(j, i);
    while (j < ts.length && (ts[j] as number) < from + width) j++;
    most = Math.max(most, j - i);
  }
  return most;
}

/**
 * The outage figures, from the moment the last instance's breaker opened until the upstream heals:
 * while down, a fleet that shares its probe sends at most one request per half-open interval,
 * independent instances one each. The window slides, so that probes of instances out of step are not
 * split between two fixed intervals.
 */
export function outageFigures(
  arrivals: readonly FleetArrival[],
  instances: readonly InstanceRecord[],
  down: { readonly from: number; readonly to: number },
  halfOpenMs: number,
): OutageFigures {
  const downArrivals = arrivals.filter((a) => a.route === 'main' && a.down);
  const opened = instances.map((i) => openedAt(i, down.from));
  const allOpen = opened.every((t) => t !== null) ? Math.max(...(opened as number[])) : null;
  const after = allOpen === null ? [] : downArrivals.filter((a) => a.t >= allOpen).map((a) => a.t);
  const span = allOpen === null ? 0 : down.to - allOpen;
  const open = allOpen !== null && span >= halfOpenMs;
  const openOf = (id: number): number => opened[instances.findIndex((i) => i.id === id)] ?? down.to;
  const failuresBeforeOpen = downArrivals.filter((a) => a.t < openOf(a.instance)).length;
  const inFlightAtOpen = instances.reduce((sum, instance, k) => {
    const at = opened[k];
    if (at === null || at === undefined) return sum;
    return sum + instance.records.filter((r) => r.start < at && r.end > at).length;
  }, 0);
  return {
    openedAt: opened,
    maxPerInterval: open ? maxInWindow(after, halfOpenMs, down.to) : null,
    meanPerInterval: open ? (after.length * halfOpenMs) / span : null,
    failuresBeforeOpen,
    inFlightAtOpen,
    downRequests: downArrivals.length,
    storeDowns: storeDowns(instances),
  };
}

export interface ThrottleFigures {
  readonly requests: number;
  readonly throttled: number;
  readonly coolDowns: number;
  /** Arrivals inside an announced Retry-After window, in-flight included. */
  readonly inWindow: number;
  /** inWindow / coolDowns (0 without cool-downs). */
  readonly perCoolDown: number;
  readonly calls: number;
  readonly ok: number;
  readonly storeDowns: number;
}

export function throttleFigures(
  arrivals: readonly FleetArrival[],
  coolDowns: number,
  instances: readonly InstanceRecord[],
): ThrottleFigures {
  const main = arrivals.filter((a) => a.route === 'main');
  const inWindow = main.filter((a) => a.early).length;
  const records = instances.flatMap((i) => i.records);
  return {
    requests: main.length,
    throttled: main.filter((a) => a.status === 429).length,
    coolDowns,
    inWindow,
    perCoolDown: coolDowns > 0 ? inWindow / coolDowns : 0,
    calls: records.length,
    ok: records.filter((r) => r.outcome === 'ok').length,
    storeDowns: storeDowns(instances),
  };
}

export interface InstanceHealth {
  readonly id: number;
  readonly broken: boolean;
  readonly calls: number;
  readonly successRate: number;
  /** Times its breaker on the load's endpoint opened. */
  readonly breaks: number;
  readonly storeDowns: number;
}

/** Per instance: success and breaker openings (the broken-network run). */
export function healthFigures(instances: readonly InstanceRecord[]): InstanceHealth[] {
  return instances.map((i) => ({
    id: i.id,
    broken: i.broken,
    calls: i.records.length,
    successRate: i.records.filter((r) => r.outcome === 'ok').length / Math.max(1, i.records.length),
    breaks: i.events.filter((e) => e.type === 'break' && e.key === MAIN_KEY).length,
    storeDowns: storeDowns([i]),
  }));
}

/** A 429 pulse and whether the other instances respected its window. */
export interface PulseFigure extends Pulse {
  /** Pulse requests from the other instances that arrived inside the window after the grace. */
  readonly others: number;
  /** The other instances' pulse calls in progress inside the window (after the grace): they had calls to send. */
  readonly waiting: number;
  /** None of them inside the window, while they had calls to send in it. */
  readonly shared: boolean;
}

/**
 * Grace after a pulse's 429 for requests the other instances had already sent (in flight) or sent
 * before the closure's message reached them: ms.
 */
export const PULSE_GRACE_MS = 100;

/**
 * Each pulse with the other instances' requests inside its window. It counts as shared only when
 * they held back inside it: calls of theirs were in progress in the window, and none of their
 * requests arrived in it. Silence from instances that had nothing to send proves nothing. Whether
 * they sent soon after the window does not count: a fleet pacing its recovery at one shared rate
 * (one probe, then each instance its share) may well send nothing from the others for a second.
 */
export function pulseFigures(
  arrivals: readonly FleetArrival[],
  pulses: readonly Pulse[],
  instances: readonly InstanceRecord[],
): PulseFigure[] {
  return pulses.map((p) => {
    const from = p.at + PULSE_GRACE_MS;
    const others = arrivals.filter(
      (a) => a.route === 'pulse' && a.instance !== p.instance && a.t > from && a.t < p.until,
    ).length;
    const waiting = instances
      .filter((i) => i.id !== p.instance)
      .flatMap((i) => i.records)
      .filter((r) => r.route === 'pulse' && r.start < p.until && r.end > from).length;
    return { ...p, others, waiting, shared: others === 0 && waiting > 0 };
  });
}

export interface RedisKillFigures {
  readonly killAt: number;
  readonly restartAt: number;
  readonly calls: number;
  /** Calls on the load's endpoint that did not succeed, on a healthy upstream: failed because of Redis. */
  readonly failed: number;
  /** p99 of the calls started in as long a stretch as Redis's absence, just before the kill. */
  readonly p99Before: number;
  /** p99 of the calls started while Redis was down. */
  readonly p99Down: number;
  /** p99Down - p99Before. */
  readonly addedP99: number;
  /** Instances that emitted `store-down` after the kill. */
  readonly sawDown: number;
  /** From the restart to the last instance's `store-up`; null when one never said it. */
  readonly storeUpMs: number | null;
  readonly pulses: readonly PulseFigure[];
  /**
   * From the restart to the first pulse after it whose window the others respected; null: none, or no
   * pulse while Redis was down showed the others sending (nothing then tells sharing from holding back).
   */
  readonly closureSharedMs: number | null;
  /** The later of the two: shared behaviour is back once both are; null when either never was. */
  readonly resumedMs: number | null;
}

export function redisKillFigures(
  arrivals: readonly FleetArrival[],
  pulses: readonly Pulse[],
  instances: readonly InstanceRecord[],
  killAt: number,
  restartAt: number,
): RedisKillFigures {
  const records = instances.flatMap((i) => i.records).filter((r) => r.route === 'customers');
  const latency = (from: number, to: number): number =>
    percentile(
      records.filter((r) => r.start >= from && r.start < to).map((r) => r.end - r.start),
      99,
    );
  // Before: as long a stretch as the outage, just before it: as many calls, past the run's warm-up.
  const p99Before = latency(Math.max(0, killAt - (restartAt - killAt)), killAt);
  const p99Down = latency(killAt, restartAt);
  const firstAfter = (i: InstanceRecord, type: string, from: number): number | null =>
    i.events.find((e) => e.type === type && e.t >= from)?.t ?? null;
  const ups = instances.map((i) => firstAfter(i, 'store-up', restartAt));
  const storeUpMs = ups.every((t) => t !== null) ? Math.max(...(ups as number[])) - restartAt : null;
  const pulseList = pulseFigures(arrivals, pulses, instances);
  // The control: while Redis was down a closure cannot be shared, so some pulse then must show the
  // others sending into its window; if none does, holding back proves nothing and no time is claimed.
  const controlled = pulseList.some((p) => p.at >= killAt && p.until <= restartAt && p.others > 0);
  const shared = controlled ? pulseList.find((p) => p.at >= restartAt && p.shared) : undefined;
  const closureSharedMs = shared ? shared.at - restartAt : null;
  return {
    killAt,
    restartAt,
    calls: records.length,
    failed: records.filter((r) => r.outcome !== 'ok').length,
    p99Before,
    p99Down,
    addedP99: p99Down - p99Before,
    sawDown: instances.filter((i) => firstAfter(i, 'store-down', killAt) !== null).length,
    storeUpMs,
    pulses: pulseList,
    closureSharedMs,
    resumedMs: storeUpMs === null || closureSharedMs === null ? null : Math.max(storeUpMs, closureSharedMs),
  };
}
