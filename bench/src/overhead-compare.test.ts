import { describe, expect, it } from 'vitest';
import type { OverheadResult, OverheadRow } from './overhead.ts';
import { compareOverhead } from './overhead-compare.ts';

const e = (median: number, low: number, high: number) => ({ median, low, high });
const row = (client: string, value: number): OverheadRow => ({
  client,
  value: e(value, value * 0.9, value * 1.1),
  vsFetch: e(1, 0.95, 1.05),
  vsBreakwater: null,
});
const run = (memory: OverheadRow[], redis?: OverheadResult['redis']): OverheadResult =>
  ({ method: {}, memory, loopback: [], telemetry: [], redis }) as unknown as OverheadResult;

describe('compareOverhead', () => {
  it("checks every median of the second run against the first run's interval", () => {
    const rows = compareOverhead(
      run([row('fetch', 10), row('ky', 50)]),
      run([row('fetch', 10.9), row('ky', 56)]),
    );
    expect(rows.map((r) => [r.figure, r.within])).toEqual([
      ['memory fetch', true],
      ['memory fetch vs fetch', true],
      ['memory ky', false],
      ['memory ky vs fetch', true],
    ]);
  });

  it('checks the loopback pairs too, when both runs have them', () => {
    const paired = (ratio: number): OverheadResult => ({
      ...run([]),
      loopbackPairs: [{ client: 'breakwater', vsFetch: e(ratio, ratio - 0.02, ratio + 0.02) }],
    });
    expect(compareOverhead(paired(0.97), paired(0.9)).map((r) => [r.figure, r.within])).toEqual([
      ['loopback pairs breakwater vs fetch', false],
    ]);
    expect(compareOverhead(paired(0.97), run([]))).toEqual([]);
  });

  it('checks the sustained loopback runs too, when both runs have them', () => {
    const sustained = (ratio: number): OverheadResult => ({
      ...run([]),
      loopbackSustained: [{ client: 'breakwater', vsFetch: e(ratio, ratio - 0.05, ratio + 0.05) }],
    });
    expect(compareOverhead(sustained(1.1), sustained(1.12)).map((r) => [r.figure, r.within])).toEqual([
      ['loopback sustained breakwater vs fetch', true],
    ]);
    expect(compareOverhead(sustained(1.1), run([]))).toEqual([]);
  });

  it('checks the Redis store lane too, when both runs have it', () => {
    const lane = (value: number, ratio: number) => ({
      client: 'breakwater-redis',
      value: e(value, value * 0.9, value * 1.1),
      vsInMemory: e(ratio, ratio - 0.05, ratio + 0.05),
    });
    const rows = compareOverhead(run([], lane(40, 1.02)), run([], lane(41, 1.2)));
    expect(rows.map((r) => [r.figure, r.within])).toEqual([
      ['breakwater-redis', true],
      ['breakwater-redis vs the in-memory store', false],
    ]);
    expect(compareOverhead(run([], lane(40, 1)), run([], { unavailable: 'no redis-server' }))).toEqual([]);
  });
});
