/**
 * A cut read from a handful of accepted answers is a guess: at a limiter's first 429 the answers of the
 * requests it admitted just before are often still on their way (it refuses at once, serves in tens of
 * ms), and audit s22 saw a 20/s limiter read as 1/s from the one answer back, the key then held there
 * until `quietMs`. A guess keeps the whole cubic curve, which outgrows it; a cut from enough answers
 * recovers only to just under the rate they showed.
 */
import { describe, expect, it } from 'vitest';
import { AdaptiveRate } from './adaptive-rate.ts';

const none = (): void => {};

/** `answers` accepted answers spread over the second before `until` (ms), then a 429 at `until`. */
function throttledAfter(answers: number, until: number, instances = 1): AdaptiveRate {
  const rate = new AdaptiveRate(30_000, none, () => instances);
  for (let i = 0; i < answers; i++) {
    const at = until - 900 + (i * 900) / answers;
    rate.onSend(at);
    rate.onAccepted(at);
  }
  rate.onThrottle(until, until + 1_000);
  return rate;
}

describe('an adaptive rate cut from few accepted answers', () => {
  it('one answer back: a guess, whose curve outgrows the cut within seconds while calls queue', () => {
    const rate = throttledAfter(1, 10_000);
    const cut = rate.cut?.wMax ?? 0;
    expect(rate.cut?.known).toBe(false);
    expect(cut).toBeLessThan(2);
    // Ten seconds after the cool-down, calls still queued for slots: well above the 1/s it was read as.
    expect(rate.rate(21_000, true)).toBeGreaterThan(20);
  });

  it('enough answers: the known rate, recovered to just under it and held there', () => {
    const rate = throttledAfter(20, 10_000);
    const cut = rate.cut?.wMax ?? 0;
    expect(rate.cut?.known).toBe(true);
    expect(cut).toBeGreaterThan(15);
    expect(rate.rate(21_000, true)).toBeLessThanOrEqual(0.95 * cut + 1e-9);
  });

  it("in a fleet, the instance's answers count times the instances on the key", () => {
    expect(throttledAfter(2, 10_000, 3).cut?.known).toBe(true);
    expect(throttledAfter(1, 10_000, 3).cut?.known).toBe(false);
  });
});
