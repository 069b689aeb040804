/**
 * Statistics of the overhead section: the median of independent samples with a distribution-free
 * confidence interval from order statistics, and the three-valued verdict of a figure against a
 * threshold. Order statistics, not a bootstrap: with the ~9 samples a 30 s budget allows, the
 * bootstrap's interval undercovers, while the binomial interval's coverage is exact for any continuous
 * distribution (timings are skewed and heavy-tailed, so no normal approximation).
 */

/** A median with its confidence interval, in the unit of the samples. */
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

/** P(X <= k) for X ~ Binomial(n, 1/2). */
function binomialHalfCdf(n: number, k: number): number {
  let term = 0.5 ** n;
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += term;
    term = (term * (n - i)) / (i + 1);
  }
  return sum;
}

/** The probability that [x(k+1), x(n-k)] of n sorted samples (1-based) covers their distribution's median. */
export function coverage(n: number, k: number): number {
  return 1 - 2 * binomialHalfCdf(n, k);
}

/**
 * How many samples to drop at each end for an interval of the median covering at least `confidence`;
 * 0 when n is too small for it (the interval is then the full range, covering {@link coverage}(n, 0)).
 */
export function trimFor(n: number, confidence: number): number {
  let k = 0;
  while (2 * (k + 1) + 1 <= n && coverage(n, k + 1) >= confidence) k++;
  return k;
}

/**
 * The median of `samples` and an order-statistics interval covering it with probability at least
 * `confidence` (Default {@link CONFIDENCE}), whatever the samples' distribution, as long as they are
 * independent (one per process here).
 */
export function medianInterval(samples: readonly number[], confidence = CONFIDENCE): Estimate {
  const xs = sorted(samples);
  const k = trimFor(xs.length, confidence);
  return { median: median(xs), low: xs[k] as number, high: xs[xs.length - 1 - k] as number };
}

/** Per-sample ratios a[i] / b[i] of paired samples (measured in the same process), as an estimate. */
export function pairedRatio(a: readonly number[], b: readonly number[], confidence = CONFIDENCE): Estimate {
  if (a.length !== b.length) throw new Error(`stats: ${a.length} samples paired with ${b.length}`);
  return medianInterval(
    a.map((x, i) => x / (b[i] as number)),
    confidence,
  );
}

/** What a figure says about a threshold: a verdict only when its whole interval is on one side. */
export type Verdict = 'met' | 'missed' | 'no difference';

/**
 * `at most`: met when the whole interval is <= threshold, missed when the whole interval is above it.
 * `at least`: the mirror. An interval that straddles the threshold is wider than the difference the
 * figure would claim: "no difference".
 */
export function verdict(estimate: Estimate, relation: 'at most' | 'at least', threshold: number): Verdict {
  const [good, bad] =
    relation === 'at most'
      ? [estimate.high <= threshold, estimate.low > threshold]
      : [estimate.low >= threshold, estimate.high < threshold];
  return good ? 'met' : bad ? 'missed' : 'no difference';
}
