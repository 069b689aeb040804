import { describe, expect, it } from 'vitest';
import { lane } from './metrics.test-util.ts';
import { readingOf } from './readings.ts';
import { markdownReport } from './report.ts';
import type { LaneResult, ScenarioResult } from './run-scenario.ts';
import { ratio, vsOracleRows } from './vs-oracle.ts';

const outage = (lanes: LaneResult[]): ScenarioResult => ({
  name: 'outage',
  description: 'healthy, down, back',
  scale: 1,
  durationMs: 16_000,
  attemptTimeoutMs: 10_000,
  breakers: true,
  bucketMs: 250,
  loopDelayP99Ms: 1,
  routes: [{ name: 'customers', rps: 40, phases: [] }],
  lanes,
});

const lanes = [
  lane('fetch', { successRate: 0.45, amplification: 1, latency: { p50: 3, p95: 5, p99: 8 } }),
  lane('breakwater', { successRate: 0.3, amplification: 0.12, latency: { p50: 2, p95: 4, p99: 40 } }),
  lane('oracle', { successRate: 1, amplification: 1, latency: { p50: 400, p95: 6_000, p99: 8_000 } }),
];

describe('every client beside the oracle', () => {
  it("gives success, amplification, p50 and p99 as ratios to the oracle's, one row per client", () => {
    expect(vsOracleRows(outage(lanes))).toEqual([
      ['fetch', '0.45x', '1.00x', '0.01x', '0.00x'],
      ['breakwater', '0.30x', '0.12x', '0.01x', '0.01x'],
    ]);
    expect([ratio(3, 0), ratio(250, 2), ratio(25, 2)]).toEqual(['–', '125x', '12.5x']);
  });

  it("puts the ratios in the report's scenario section, and the oracle in the reading", () => {
    const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };
    const report = markdownReport([outage(lanes)], null, [], meta);
    expect(report).toContain("Against the oracle (each figure ÷ the oracle's: success 100.0 %");
    expect(report).toContain('| client | success | amplif. | p50 | p99 |');
    expect(report).toContain('| breakwater | 0.30x | 0.12x | 0.01x | 0.01x |');
    expect(readingOf(outage(lanes))).toContain(
      'the oracle, which knows the fault script, 100.0 % (p99 8.0 s, x1.00), so breakwater got 0.30x the success of the limit.',
    );
  });

  it('is left out where the oracle did not run', () => {
    expect(vsOracleRows(outage(lanes.slice(0, 2)))).toEqual([]);
    const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };
    expect(markdownReport([outage(lanes.slice(0, 2))], null, [], meta)).not.toContain('Against the oracle');
  });
});
