import { describe, expect, it } from 'vitest';
import { coverage, median, medianInterval, pairedRatio, trimFor, verdict } from './stats.ts';

describe('median and its order-statistics interval', () => {
  it('takes the middle sample, or the mean of the two middle ones', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('drops one sample at each end of 9 (covering 96.1 %), none of 5 (too few for 95 %)', () => {
    expect(trimFor(9, 0.95)).toBe(1);
    expect(coverage(9, 1)).toBeCloseTo(1 - 20 / 512, 10);
    expect(trimFor(5, 0.95)).toBe(0);
    expect(trimFor(20, 0.95)).toBe(5);
    expect(coverage(20, 5)).toBeGreaterThanOrEqual(0.95);
    expect(coverage(20, 6)).toBeLessThan(0.95);
  });

  it('gives the median of fixed samples between their 2nd and 8th of 9, whatever their order', () => {
    expect(medianInterval([9, 1, 8, 2, 7, 3, 6, 4, 5])).toEqual({ median: 5, low: 2, high: 8 });
    // One wild sample (a preempted process) moves neither the median nor the interval's other end.
    expect(medianInterval([9, 1, 8, 2, 7, 3, 6, 4, 500])).toEqual({ median: 6, low: 2, high: 9 });
  });

  it('pairs ratios per sample, so a batch that is slow for every client cancels out', () => {
    const fetch = [1, 10, 1, 10, 1, 10, 1, 10, 1];
    const client = fetch.map((x) => 2 * x);
    expect(pairedRatio(client, fetch)).toEqual({ median: 2, low: 2, high: 2 });
  });

  it('refuses what it cannot summarise, saying what', () => {
    expect(() => median([])).toThrow('stats: no samples');
    expect(() => medianInterval([1, Number.NaN])).toThrow('non-finite sample');
    expect(() => pairedRatio([1, 2], [1])).toThrow('2 samples paired with 1');
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
