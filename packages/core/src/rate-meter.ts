/** Width of a measuring bucket, ms (botocore's measured send rate counts in half seconds). */
const BUCKET_MS = 500;
/** Weight of the newest bucket in the smoothed rate (botocore's smoothing 0.8). */
const SMOOTHING = 0.8;
/**
 * The shortest span a first estimate divides by, ms: a burst of a few requests in one millisecond is
 * no rate of thousands per second.
 */
const MIN_SPAN_MS = 100;

/**
 * Events per second, counted in 0.5 s buckets and smoothed across them, as botocore measures the send
 * rate of its adaptive mode. Before the first bucket closes, the count so far over the time so far
 * stands in, so a throttle in the first half second still has a rate to cut from.
 */
export class RateMeter {
  private first: number | undefined;
  private bucket = 0;
  private count = 0;
  private smoothed: number | undefined;

  record(now: number): void {
    const bucket = Math.floor(now / BUCKET_MS) * BUCKET_MS;
    this.count++;
    if (this.first === undefined) {
      this.first = now;
      this.bucket = bucket;
    } else if (bucket > this.bucket) {
      const current = (this.count * 1_000) / (bucket - this.bucket);
      this.smoothed = current * SMOOTHING + (this.smoothed ?? current) * (1 - SMOOTHING);
      this.count = 0;
      this.bucket = bucket;
    }
  }

  /** The measured rate in events/s; 0 before any event. */
  perSecond(now: number): number {
    if (this.smoothed !== undefined) return this.smoothed;
    if (this.first === undefined) return 0;
    return (this.count * 1_000) / Math.max(MIN_SPAN_MS, now - this.first);
  }
}
