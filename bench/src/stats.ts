/**
 * Statistics of the overhead section: the median of independent samples with a distribution-free
 * interval from order statistics, and the three-valued verdict of a figure against a threshold. The
 * interval is where the median of a repeated run (as many samples, taken the same way) falls with at
 * least the stated probability: issue 16 asks that a second run land within the first run's brackets,
 * which a confidence interval of the median does not promise (with 9 samples, [x(2), x(8)] covers the
 * true median 96 % of the time but a repeat's median only 87 %). Order statistics, not a bootstrap:
 * with the ~9 samples a run's time allows, the bootstrap's interval undercovers, while these
 * coverages are exact for any continuous distribution (timings are skewed and heavy-tailed).
 */

/** A median with the interval a repeated run's median falls in, in the unit of the samples. */
export interface Estimate {
  readonly median: number;
  readonly low: number;
  readonly high: number;
}

/** The coverage the intervals aim for. Default of {@link medianInterval}'s `confidence`. */
export const CONFIDENCE = 0.95;

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new Error('stats: no samples');
  if (samples.some((x) => !Number.isFinite(x))) throw new Error(`stats: non-finite sample in [${samples}]`);
  return [...samples].sort((a, b) => a - b);
}

export function median(samples: readonly number[]): number {
  const xs = sorted(samples);
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

function choose(n: number, k: number): number {
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/**
 * The probability that the median of a repeated run of `n` samples lies within [x(k+1), x(n-k)]
 * (1-based) of this run's sorted `n`, both runs drawing independently from one continuous
 * distribution. All interleavings of the 2n samples are equally likely; the repeat's median has t of
 * this run's samples below it with probability C(t+h-1, t) C(2n-t-h, n-t) / C(2n, n), h = (n+1)/2.
 * `n` must be odd: the median of an odd number of samples is one of them.
 */
export function repeatCoverage(n: number, k: number): number {
  checkOdd(n);
  const h = (n + 1) / 2;
  let p = 0;
  for (let t = k + 1; t <= n - k - 1; t++) p += choose(t + h - 1, t) * choose(2 * n - t - h, n - t);
  return p / choose(2 * n, n);
}

function checkOdd(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n % 2 === 0) {
    throw new Error(`stats: an odd number of samples is needed for a repeat's interval, got ${n}`);
  }
}

/**
 * How many samples to drop at each end for an interval a repeat's median falls in with at least
 * `confidence`; 0 when n is too small for it (the interval is then the full range, covering
 * {@link repeatCoverage}(n, 0)).
 */
export function trimFor(n: number, confidence: number): number {
  let k = 0;
  while (2 * (k + 1) + 1 <= n && repeatCoverage(n, k + 1) >= confidence) k++;
  return k;
}

/**
 * The median of `samples` (an odd number) and the order-statistics interval the median of a repeated
 * run falls in with probability at least `confidence` (Default {@link CONFIDENCE}), whatever the
 * samples' distribution, as long as they are independent (one per process here).
 */
export function medianInterval(samples: readonly number[], confidence = CONFIDENCE): Estimate {
  const xs = sorted(samples);
  const k = trimFor(xs.length, confidence);
  return { median: median(xs), low: xs[k] as number, high: xs[xs.length - 1 - k] as number };
}

/** Per-sample ratios a[i] / b[i] of paired samples (measured in the same process), as an estimate. */
export function pairedRatio(a: readonly number[], b: readonly number[], confidence = CONFIDENCE): Estimate {
  return paired(a, b, (x, y) => x / y, confidence);
}

/** Per-sample differences a[i] - b[i] of paired samples (measured in the same process), as an estimate. */
export function pairedDifference(
  a: readonly number[],
  b: readonly number[],
  confidence = CONFIDENCE,
): Estimate {
  return paired(a, b, (x, y) => x - y, confidence);
}

function paired(
  a: readonly number[],
  b: readonly number[],
  combine: (x: number, y: number) => number,
  confidence: number,
): Estimate {
  if (a.length !== b.length) throw new Error(`stats: ${a.length} samples paired with ${b.length}`);
  return medianInterval(
    a.map((x, i) => combine(x, b[i] as number)),
    confidence,
  );
}

/** What a figure says about a threshold: a verdict only when its whole interval is on one side. */
export type Verdict = 'met' | 'missed' | 'no difference';

/**
 * `at most`: met when the whole interval is <= threshold, missed when the whole interval is above it.
 * `at least`: the mirror. An interval that straddles the threshold is wider than the difference the
 * figure would claim: "no difference". So a verdict is one a repeated run would keep.
 */
export function verdict(estimate: Estimate, relation: 'at most' | 'at least', threshold: number): Verdict {
  const [good, bad] =
    relation === 'at most'
      ? [estimate.high <= threshold, estimate.low > threshold]
      : [estimate.low >= threshold, estimate.high < threshold];
  return good ? 'met' : bad ? 'missed' : 'no difference';
}
