import { describe, expect, it } from 'vitest';
import { mulberry32 } from './prng.ts';
import {
  median,
  medianInterval,
  pairedDifference,
  pairedRatio,
  repeatCoverage,
  trimFor,
  verdict,
} from './stats.ts';

describe('median and its order-statistics interval', () => {
  it('takes the middle sample, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("states where a repeated run's median falls: the full range of 9 (97.1 %), 1 dropped of 13", () => {
    expect(repeatCoverage(9, 0)).toBeCloseTo(0.9706, 4);
    // The confidence interval of the median a run of 9 used to state holds a repeat's median only 87 %.
    expect(repeatCoverage(9, 1)).toBeCloseTo(0.8688, 4);
    expect(repeatCoverage(3, 0)).toBeCloseTo(0.6, 10);
    expect(trimFor(9, 0.95)).toBe(0);
    expect(trimFor(13, 0.95)).toBe(1);
    expect(repeatCoverage(13, 1)).toBeGreaterThanOrEqual(0.95);
    expect(trimFor(15, 0.95)).toBe(1);
    expect(repeatCoverage(15, 2)).toBeLessThan(0.95);
  });

  it('holds the repeat it promises: simulated pairs of runs from a skewed distribution', () => {
    const random = mulberry32(16);
    // Log-normal-ish timings with a heavy right tail, as a preempted batch gives.
    const sample = (): number =>
      Math.exp(Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
    const run = (): number[] => Array.from({ length: 13 }, sample);
    let within = 0;
    const pairs = 20_000;
    for (let i = 0; i < pairs; i++) {
      const { low, high } = medianInterval(run());
      const repeat = median(run());
      if (repeat >= low && repeat <= high) within++;
    }
    expect(within / pairs).toBeCloseTo(repeatCoverage(13, 1), 2);
  });

  it('gives the median of fixed samples between their 2nd and 12th of 13, whatever their order', () => {
    const xs = [13, 1, 12, 2, 11, 3, 10, 4, 9, 5, 8, 6, 7];
    expect(medianInterval(xs)).toEqual({ median: 7, low: 2, high: 12 });
    // One wild sample (a preempted process) moves neither the median much nor the interval's other end.
    expect(medianInterval([...xs.slice(0, 12), 500])).toEqual({ median: 8, low: 2, high: 13 });
  });

  it('pairs ratios per sample, so a batch that is slow for every client cancels out', () => {
    const fetch = [1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1];
    const client = fetch.map((x) => 2 * x);
    expect(pairedRatio(client, fetch)).toEqual({ median: 2, low: 2, high: 2 });
  });

  it('pairs differences per sample, so a batch that is slow for both by as much cancels out', () => {
    const fetch = [1, 10, 1, 10, 1, 10, 1, 10, 1, 10, 1];
    expect(
      pairedDifference(
        fetch.map((x) => x + 3),
        fetch,
      ),
    ).toEqual({ median: 3, low: 3, high: 3 });
    expect(() => pairedDifference([1, 2, 3], [1])).toThrow('3 samples paired with 1');
  });

  it('refuses what it cannot summarise, saying what', () => {
    expect(() => median([])).toThrow('stats: no samples');
    expect(() => medianInterval([1, Number.NaN])).toThrow('non-finite sample');
    expect(() => pairedRatio([1, 2], [1])).toThrow('2 samples paired with 1');
    expect(() => medianInterval([1, 2, 3, 4])).toThrow('an odd number of samples is needed');
  });
});

describe('verdict against a threshold', () => {
  it('is met or missed only when the whole interval is on one side', () => {
    expect(verdict({ median: 1.1, low: 1.0, high: 1.2 }, 'at most', 1.3)).toBe('met');
    expect(verdict({ median: 1.5, low: 1.4, high: 1.6 }, 'at most', 1.3)).toBe('missed');
    expect(verdict({ median: 0.97, low: 0.96, high: 1.0 }, 'at least', 0.95)).toBe('met');
    expect(verdict({ median: 0.8, low: 0.7, high: 0.9 }, 'at least', 0.95)).toBe('missed');
  });

  it('is "no difference" when the interval is wider than the difference it would claim', () => {
    // The median says met (1.2 <= 1.3), the interval says it could as well be 1.5.
    expect(verdict({ median: 1.2, low: 0.9, high: 1.5 }, 'at most', 1.3)).toBe('no difference');
    expect(verdict({ median: 0.9, low: 0.6, high: 1.4 }, 'at least', 0.95)).toBe('no difference');
  });
});
