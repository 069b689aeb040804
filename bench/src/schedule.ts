/**
 * A route's scripted behaviour over time. Phases start at a fixed offset from the scenario start, so
 * every client's server walks through the same script at the same moments; which requests fail within
 * a phase is drawn from a seeded PRNG (see prng.ts).
 */
import type { Random } from './prng.ts';

/** A fault drawn per request with probability `p`: an HTTP status (optionally with Retry-After) or a reset. */
export type Fault =
  | { readonly p: number; readonly status: number; readonly retryAfterS?: number }
  | { readonly p: number; readonly reset: true };

/** One stretch of time in a route's script. Fields combine; checks run throttle, status, faults, slow. */
export interface Phase {
  /** Start, in ms from the scenario start (before scaling). The first phase must start at 0. */
  readonly at: number;
  /** Shown in charts and reports: `healthy`, `outage`, `flaky`, ... */
  readonly label: string;
  /** The upstream counts as down: requests arriving now are "requests while down". Default false. */
  readonly down?: boolean;
  /** Every request is answered with this status (a sustained outage). */
  readonly status?: number;
  /** Per-request faults; their probabilities must sum to at most 1. */
  readonly faults?: readonly Fault[];
  /** Answer 429 with Retry-After once more than `perSecond` requests were served in the last second. */
  readonly throttle?: { readonly perSecond: number; readonly retryAfterS: number };
  /**
   * Answer 429 with Retry-After from a token bucket of `burst` tokens refilled at `perSecond` a second
   * (starting full), as gateways do per tenant: Retry-After is the seconds until the next token,
   * rounded up.
   */
  readonly bucket?: { readonly perSecond: number; readonly burst: number };
  /** A share `p` of requests is answered only after `delayMs` (a latency spike). */
  readonly slow?: { readonly p: number; readonly delayMs: number };
}

/** What the server does with one request, before throttling (which needs the server's state). */
export type Decision =
  | {
      readonly kind: 'respond';
      readonly status: number;
      readonly delayMs: number;
      readonly retryAfterS?: number;
    }
  | { readonly kind: 'reset' };

/** Throws unless phases start at 0, ascend, and have sane fault probabilities. */
export function validatePhases(phases: readonly Phase[]): void {
  if (phases.length === 0) throw new TypeError('a route needs at least one phase');
  if (phases[0]?.at !== 0) throw new TypeError(`the first phase must start at 0, got ${phases[0]?.at}`);
  for (let i = 1; i < phases.length; i++) {
    const prev = phases[i - 1] as Phase;
    const cur = phases[i] as Phase;
    if (!(cur.at > prev.at)) {
      throw new TypeError(`phase "${cur.label}" starts at ${cur.at}, not after "${prev.label}" (${prev.at})`);
    }
  }
  for (const phase of phases) {
    if (phase.throttle && phase.bucket) {
      throw new TypeError(`phase "${phase.label}": a throttle and a bucket cannot share a phase`);
    }
    const total = (phase.faults ?? []).reduce((sum, f) => sum + f.p, 0);
    if ((phase.faults ?? []).some((f) => !(f.p >= 0)) || total > 1 + 1e-9) {
      throw new RangeError(`phase "${phase.label}": fault probabilities must be >= 0 and sum to <= 1`);
    }
  }
}

/** Index of the phase in force at `t` ms from the start (the first phase before 0). */
export function phaseIndexAt(phases: readonly Phase[], t: number): number {
  let index = 0;
  for (let i = 0; i < phases.length; i++) {
    if ((phases[i] as Phase).at <= t) index = i;
    else break;
  }
  return index;
}

/** The phase in force at `t` ms from the start. */
export function phaseAt(phases: readonly Phase[], t: number): Phase {
  return phases[phaseIndexAt(phases, t)] as Phase;
}

/** The phases with every start multiplied by `scale` (a 0.15 scale turns a 20 s script into 3 s). */
export function scalePhases(phases: readonly Phase[], scale: number): Phase[] {
  if (!(scale > 0)) throw new RangeError(`scale must be > 0, got ${scale}`);
  return phases.map((p) => ({ ...p, at: Math.round(p.at * scale) }));
}

/**
 * [start, end) intervals (ms from the start) where the route is down, merged. `end` of the last phase is
 * `durationMs`.
 */
export function downIntervals(phases: readonly Phase[], durationMs: number): [number, number][] {
  const out: [number, number][] = [];
  phases.forEach((phase, i) => {
    if (!phase.down) return;
    const end = phases[i + 1]?.at ?? durationMs;
    const last = out[out.length - 1];
    if (last && last[1] === phase.at) last[1] = end;
    else out.push([phase.at, end]);
  });
  return out;
}

/**
 * Draws the answer to one request in `phase` (throttling aside). Exactly one draw from `random` for the
 * faults and one for slowness, whatever the outcome, so the stream stays aligned between runs.
 */
export function decide(phase: Phase, random: Random): Decision {
  const faultDraw = random();
  const slowDraw = random();
  if (phase.status !== undefined) return { kind: 'respond', status: phase.status, delayMs: 0 };
  let acc = 0;
  for (const fault of phase.faults ?? []) {
    acc += fault.p;
    if (faultDraw < acc) {
      if ('reset' in fault) return { kind: 'reset' };
      return fault.retryAfterS === undefined
        ? { kind: 'respond', status: fault.status, delayMs: 0 }
        : { kind: 'respond', status: fault.status, delayMs: 0, retryAfterS: fault.retryAfterS };
    }
  }
  const delayMs = phase.slow && slowDraw < phase.slow.p ? phase.slow.delayMs : 0;
  return { kind: 'respond', status: 200, delayMs };
}
