/**
 * Breaker state over time: samples taken every 50 ms are folded into runs (key, state, from, to), which
 * is all a chart or a metric needs and keeps the JSON small. Outcome counts are binned by start time.
 */
import type { BreakerSample, BreakerState, Transition } from './client.ts';
import { percentile } from './metrics.ts';

/** A stretch of time during which one breaker stayed in one state. Times in ms from the start. */
export interface StateRun {
  readonly key: string;
  readonly state: BreakerState;
  readonly from: number;
  to: number;
}

/** Folds periodic samples into runs. Feed samples in time order; call `finish` once at the end. */
export class StateTimeline {
  readonly #open = new Map<string, StateRun>();
  readonly #runs: StateRun[] = [];
  #last = Number.NEGATIVE_INFINITY;
  samples = 0;

  sample(t: number, states: readonly BreakerSample[]): void {
    if (t < this.#last) throw new RangeError(`samples must come in time order: ${t} < ${this.#last}`);
    this.#last = t;
    this.samples++;
    const seen = new Set<string>();
    for (const { key, state } of states) {
      seen.add(key);
      const run = this.#open.get(key);
      if (run && run.state === state) {
        run.to = t;
        continue;
      }
      if (run) run.to = t;
      const next: StateRun = { key, state, from: t, to: t };
      this.#open.set(key, next);
      this.#runs.push(next);
    }
    for (const [key, run] of this.#open) {
      if (!seen.has(key)) {
        run.to = t;
        this.#open.delete(key);
      }
    }
  }

  /** Closes every run at `t` and returns all runs, in start order. */
  finish(t: number): StateRun[] {
    for (const run of this.#open.values()) run.to = Math.max(run.to, t);
    this.#open.clear();
    return [...this.#runs];
  }
}

/** Runs rebuilt from exact transitions (library events), clipped to [0, end]. */
export function runsFromTransitions(
  transitions: readonly Transition[],
  startAt: number,
  end: number,
): StateRun[] {
  const runs: StateRun[] = [];
  const open = new Map<string, StateRun>();
  for (const tr of transitions) {
    const t = Math.min(Math.max(tr.at - startAt, 0), end);
    const prev = open.get(tr.key);
    if (prev?.state === tr.state) continue;
    if (prev) prev.to = t;
    const run: StateRun = { key: tr.key, state: tr.state, from: t, to: end };
    open.set(tr.key, run);
    runs.push(run);
  }
  return runs;
}

/** The state of `key` at `t` according to `runs` (`closed` where no run covers it). */
export function stateAt(runs: readonly StateRun[], key: string, t: number): BreakerState {
  let state: BreakerState = 'closed';
  for (const run of runs) {
    if (run.key === key && run.from <= t && t <= run.to) state = run.state;
  }
  return state;
}

/** Counts of `items` per `bucketMs` bucket of `time(item)` over [0, durationMs), per category. */
export function bin<T, C extends string>(
  items: readonly T[],
  time: (item: T) => number,
  category: (item: T) => C,
  categories: readonly C[],
  bucketMs: number,
  durationMs: number,
): Record<C, number[]> {
  if (!(bucketMs > 0)) throw new RangeError(`bucketMs must be > 0, got ${bucketMs}`);
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const out = {} as Record<C, number[]>;
  for (const c of categories) out[c] = new Array<number>(n).fill(0);
  for (const item of items) {
    const t = time(item);
    if (!(t >= 0 && t < durationMs)) continue;
    const counts = out[category(item)];
    if (!counts) continue;
    const i = Math.floor(t / bucketMs);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  return out;
}

/** p50 and p99 latency (ms) per bucket; null where the bucket has no call. */
export interface LatencyBins {
  readonly p50: (number | null)[];
  readonly p99: (number | null)[];
}

/**
 * Latency of the calls started in each `bucketMs` bucket over [0, durationMs): by start time, like the
 * outcome bins, so a bucket's latency sits above the calls it belongs to.
 */
export function latencyBins(
  calls: readonly { readonly start: number; readonly end: number }[],
  bucketMs: number,
  durationMs: number,
): LatencyBins {
  if (!(bucketMs > 0)) throw new RangeError(`bucketMs must be > 0, got ${bucketMs}`);
  const n = Math.max(1, Math.ceil(durationMs / bucketMs));
  const buckets = Array.from({ length: n }, (): number[] => []);
  for (const c of calls) {
    if (c.start >= 0 && c.start < durationMs) buckets[Math.floor(c.start / bucketMs)]?.push(c.end - c.start);
  }
  const at = (p: number) => buckets.map((b) => (b.length === 0 ? null : percentile(b, p)));
  return { p50: at(50), p99: at(99) };
}
