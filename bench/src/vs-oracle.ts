/**
 * Every client's figures as a ratio to the oracle's in the same scenario: the oracle knows the fault
 * script and shows the limit (oracle.ts), so the ratios say how close each client came to it, where
 * the raw figures only compare clients with one another.
 */
import type { Metrics } from './metrics.ts';
import { ORACLE } from './oracle.ts';
import type { ScenarioResult } from './run-scenario.ts';

/** The oracle's metrics in a scenario, when it ran there. */
export function oracleMetrics(result: ScenarioResult): Metrics | undefined {
  return result.lanes.find((l) => l.client === ORACLE)?.metrics;
}

/** `value / base` as `0.31x`, two significant digits or more; '–' when the base is zero or unknown. */
export function ratio(value: number, base: number): string {
  if (!(Number.isFinite(value) && Number.isFinite(base)) || base === 0) return '–';
  const r = value / base;
  return `${r >= 100 ? r.toFixed(0) : r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

export const VS_ORACLE_HEADER = ['client', 'success', 'amplif.', 'p50', 'p99'];

/** One row per client that ran (the oracle aside): success, amplification, p50 and p99 ÷ the oracle's. */
export function vsOracleRows(result: ScenarioResult): string[][] {
  const oracle = oracleMetrics(result);
  if (!oracle) return [];
  return result.lanes.flatMap((lane) => {
    const m = lane.metrics;
    if (!m || lane.client === ORACLE) return [];
    return [
      [
        lane.client,
        ratio(m.successRate, oracle.successRate),
        ratio(m.amplification, oracle.amplification),
        ratio(m.latency.p50, oracle.latency.p50),
        ratio(m.latency.p99, oracle.latency.p99),
      ],
    ];
  });
}

/** The sentence above the table: what the oracle got, so the ratios can be read back to figures. */
export function vsOracleIntro(result: ScenarioResult): string {
  const o = oracleMetrics(result);
  if (!o) return '';
  return (
    `Against the oracle (each figure ÷ the oracle's: success ${(o.successRate * 100).toFixed(1)} %, ` +
    `amplification ${o.amplification.toFixed(2)}, p50 ${o.latency.p50.toFixed(0)} ms, p99 ` +
    `${o.latency.p99.toFixed(0)} ms). Success near 1.00x is the most that could get through; ` +
    'latency below 1.00x answered sooner than the oracle, which waits where waiting gets a call through ' +
    '(an outage, a limiter): read it beside success.'
  );
}
