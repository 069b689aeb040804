import { DEFAULT_POLICY } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';
import { fleetRunOpens } from './fleet-runs.ts';
import { OpeningRule } from './opening-rule.ts';
import type { FleetCounter } from './store.ts';

/** Fleet runs whose other instances are the test's; what this instance tells is kept. */
function runs(others: number[], instances: number): FleetCounter & { told: number[] } {
  const told: number[] = [];
  return {
    told,
    add: () => {},
    others: () => [],
    run: (run) => told.push(run),
    opens: (own, threshold) => fleetRunOpens(own, others, instances, threshold),
  };
}

const breaker = { ...DEFAULT_POLICY.breaker, consecutiveFailures: 5, minimumCalls: 1_000 };
const failed = { failed: true, slow: false };
const ok = { failed: false, slow: false };

describe('opening rule with the fleet failure runs (issue 14)', () => {
  it('an outage seen by all 4 instances opens after about the threshold fleet-wide, not per instance', () => {
    // Each of the 3 others has failed once: this instance's 2nd failure makes 2 + 1 + 1 + 1 = 5.
    const rule = new OpeningRule(breaker, runs([1, 1, 1], 4));
    expect(rule.record(failed, false)).toBe(false);
    expect(rule.record(failed, false)).toBe(true);
  });

  it('one sick instance, however long its run, does not open a healthy one (no majority)', () => {
    const rule = new OpeningRule(breaker, runs([500], 4));
    for (let i = 0; i < 4; i++) expect(rule.record(failed, false)).toBe(false);
  });

  it("a sick instance's run weighs no more than this instance's own in a fleet of 3", () => {
    // 2 of 3 in a run is a majority; the sick run counts for 1 beside a single failure here.
    const rule = new OpeningRule(breaker, runs([500], 3));
    expect(rule.record(ok, false)).toBe(false);
    expect(rule.record(failed, false)).toBe(false);
  });

  it('tells the fleet each failure and the success that ends a run, nothing on a healthy call', () => {
    const fleet = runs([], 1);
    const rule = new OpeningRule(breaker, fleet);
    rule.record(ok, false);
    rule.record(failed, false);
    rule.record(failed, false);
    rule.record(ok, false);
    rule.record(ok, false);
    expect(fleet.told).toEqual([1, 2, 0]);
  });

  it('fleetRunOpens: quorum of at least two and a strict majority, and the threshold', () => {
    expect(fleetRunOpens(0, [5, 5], 3, 5)).toBe(false);
    expect(fleetRunOpens(3, [3], 2, 5)).toBe(true);
    expect(fleetRunOpens(3, [3], 4, 5)).toBe(false);
    expect(fleetRunOpens(2, [2, 2], 4, 5)).toBe(true);
    expect(fleetRunOpens(1, [1, 1], 4, 5)).toBe(false);
    // Peers not yet counted by a refresh: those heard in a run count as active.
    expect(fleetRunOpens(3, [3], 1, 5)).toBe(true);
    expect(fleetRunOpens(4, [], 1, 5)).toBe(false);
  });
});
