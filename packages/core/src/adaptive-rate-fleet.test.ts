import { describe, expect, it } from 'vitest';
import { AdaptiveRate } from './adaptive-rate.ts';

const none = (): void => {};

/** Sends `perSecond` accepted calls in the second before `until` (ms), as the upstream answered them. */
function accept(rate: AdaptiveRate, perSecond: number, until: number): void {
  for (let i = 0; i < perSecond; i++) {
    const at = until - 900 + (i * 900) / perSecond;
    rate.onSend(at);
    rate.onAnswer(at, true, at);
  }
}

/** The calls a backlogged key sends over `ms` from `from`, one slot at a time at the rate of each slot. */
function sends(rate: AdaptiveRate, from: number, ms: number): number {
  let count = 0;
  for (let at = from; at < from + ms; count++) {
    const pace = rate.rate(at, true) ?? Number.POSITIVE_INFINITY;
    rate.onSend(at);
    at += 1_000 / pace;
  }
  return count;
}

describe('an adaptive rate shared by a fleet', () => {
  it('instances that adopt the published cut send, together, what one instance alone sends', () => {
    // One instance carrying all the calls: 12 accepted in the last second, then a 429.
    const alone = new AdaptiveRate(30_000, none, () => 1);
    accept(alone, 12, 10_000);
    alone.onThrottle(10_000, 11_000);
    const expected = sends(alone, 11_000, 6_000);

    // Three instances sharing the calls: the throttled one saw a third of them.
    const fleet = [0, 1, 2].map(() => new AdaptiveRate(30_000, none, () => 3));
    const [first, ...others] = fleet as [AdaptiveRate, ...AdaptiveRate[]];
    accept(first, 4, 10_000);
    first.onThrottle(10_000, 11_000);
    // Its own accepted rate (a third) times the 3 instances: the fleet's, as the lone instance measured it.
    expect(first.cut?.known).toBe(true);
    expect(first.cut?.wMax).toBeCloseTo(alone.cut?.wMax ?? 0, 5);
    // The others heard the closure with the cut, having sent nothing themselves in the last second.
    for (const other of others) other.onThrottle(10_000, 11_000, first.cut);
    const sent = fleet.reduce((sum, rate) => sum + sends(rate, 11_000, 6_000), 0);

    expect(expected).toBeGreaterThan(40);
    expect(Math.abs(sent - expected)).toBeLessThanOrEqual(3);
  });

  it('a lone instance (1 instance) paces exactly as before stores: the cut is its own', () => {
    const rate = new AdaptiveRate(30_000, none, () => 1);
    accept(rate, 10, 5_000);
    rate.onThrottle(5_000, 6_000);
    const wMax = rate.cut?.wMax ?? 0;
    expect(wMax).toBeGreaterThan(9);
    // The cut: BETA (0.7) x its own accepted rate, undivided.
    expect(rate.rate(6_000, true)).toBeCloseTo(0.7 * wMax, 5);
  });
});
