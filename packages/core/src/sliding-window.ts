/**
 * Counters over the last `windowMs`, kept in ten time buckets (as Polly's sliding window) so memory
 * stays constant however many events the window sees. Used by the breaker's failure ratio and by the
 * retry budget.
 */
export class SlidingWindow<C extends Record<string, number>> {
  private readonly windowMs: number;
  private readonly bucketMs: number;
  private readonly zero: () => C;
  private readonly buckets: { start: number; counts: C }[] = [];

  constructor(windowMs: number, zero: () => C) {
    this.windowMs = windowMs;
    this.bucketMs = Math.max(1, Math.ceil(windowMs / 10));
    this.zero = zero;
  }

  /**
   * The counters of the bucket that holds the present moment, to increment. `now`: epoch ms, if the
   * caller just read it. Default now.
   */
  current(now?: number): C {
    // One clock read for the prune and the bucket, none when the caller has one: read on every call.
    const t = now ?? Date.now();
    this.prune(t);
    const start = t - (t % this.bucketMs);
    let last = this.buckets.at(-1);
    if (!last || last.start !== start) {
      last = { start, counts: this.zero() };
      this.buckets.push(last);
    }
    return last.counts;
  }

  /** The sums over the window. */
  total(): C {
    this.prune(Date.now());
    const sum = this.zero() as Record<string, number>;
    for (const { counts } of this.buckets) {
      // for...in, not Object.entries: no array of pairs per bucket on every breaker or budget read.
      for (const k in counts) sum[k] = (sum[k] ?? 0) + (counts[k] as number);
    }
    return sum as C;
  }

  clear(): void {
    this.buckets.length = 0;
  }

  private prune(now: number): void {
    const horizon = now - this.windowMs;
    while (this.buckets.length > 0 && (this.buckets[0]?.start ?? 0) + this.bucketMs <= horizon) {
      this.buckets.shift();
    }
  }
}
