import { DEFAULT_POLICY } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';
import { SCENARIOS, scenarioNamed } from './scenarios.ts';
import { downIntervals } from './schedule.ts';

describe('the scenarios table', () => {
  it('scripts at most 72 s in all, so scenarios and overhead fit in about 90 s of a two-minute run', () => {
    const total = SCENARIOS.reduce((sum, s) => sum + s.durationMs, 0);
    expect(total).toBeLessThanOrEqual(72_000);
  });

  it("outage: breakwater's probe comes while down, and the next one within one interval of the heal, inside the run", () => {
    const outage = scenarioNamed('outage');
    const [down] = downIntervals(outage.routes[0]?.phases ?? [], outage.durationMs);
    const [from = 0, to = 0] = down ?? [];
    const interval = DEFAULT_POLICY.breaker.halfOpenAfterMs;
    // The breaker opens as the outage begins; after a failed probe the interval doubles.
    const firstProbe = from + interval;
    const secondProbe = firstProbe + 2 * interval;
    expect(firstProbe).toBeLessThan(to);
    expect(secondProbe - to).toBeLessThanOrEqual(interval);
    expect(outage.durationMs).toBeGreaterThan(secondProbe + 500);
  });
});
