import { DEFAULT_POLICY } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OpeningRule } from './opening-rule.ts';
import { RetryBudget } from './retry-budget.ts';
import type { FleetCounter, FleetCounts } from './store.ts';

/** A fleet counter whose other instances' counts are the test's; what this instance adds is kept. */
function counter(others: FleetCounts[]): FleetCounter & { added: string[] } {
  const added: string[] = [];
  return { added, add: (name) => added.push(name), others: () => others };
}

const breaker = { ...DEFAULT_POLICY.breaker, minimumCalls: 6, failureRatio: 0.5, consecutiveFailures: 100 };
const failed = { failed: true, slow: false };
const ok = { failed: false, slow: false };
const failing = (calls: number): FleetCounts => ({ calls, failures: calls, retries: 0 });
const healthy = (calls: number): FleetCounts => ({ calls, failures: 0, retries: 0 });

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('opening rule with fleet counts (a quorum of instances)', () => {
  it('opens on a failure seen by a majority of the instances once their calls reach minimumCalls', () => {
    const rule = new OpeningRule(breaker, counter([failing(3), failing(2)]));
    expect(rule.record(failed, false)).toBe(true);
  });

  it('one failing instance, whatever its volume, is one vote: no majority, no opening', () => {
    // Pooled, 1 001 failures in 1 007 calls; by instance, 2 failing of 4.
    const rule = new OpeningRule(breaker, counter([failing(1_000), healthy(3), healthy(3)]));
    expect(rule.record(failed, false)).toBe(false);
  });

  it("does not open here on the others' word when this instance's own share is below the ratio", () => {
    const rule = new OpeningRule(breaker, counter([failing(10), failing(10)]));
    for (let i = 0; i < 3; i++) rule.record(ok, false);
    expect(rule.record(failed, false)).toBe(false);
  });

  it('counts its calls and failures for the fleet, not a probe', () => {
    const fleet = counter([]);
    const rule = new OpeningRule(breaker, fleet);
    rule.record(ok, false);
    rule.record(failed, false);
    rule.record(failed, true);
    expect(fleet.added).toEqual(['calls', 'calls', 'failures']);
  });
});

describe('retry budget with fleet counts', () => {
  const policy = { enabled: true, ratio: 0.1, minRetries: 2, windowMs: 10_000 };

  it("spends the others' retries and counts their calls", () => {
    const fleet = counter([{ calls: 30, retries: 4, failures: 0 }]);
    const budget = new RetryBudget(policy, fleet);
    // floor(2 + 0.1 * 30) - 4 = 1.
    expect(budget.left()).toBe(1);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    budget.recordCall();
    expect(fleet.added).toEqual(['retries', 'calls']);
  });
});
