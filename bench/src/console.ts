/**
 * The summary a run prints when it ends: per scenario a narrow table, then the targets, every line at
 * most CONSOLE_WIDTH columns (the wide tables are in the report file), and last the count of targets
 * met and missed. Built from the metrics, not the report's rows, so the report's columns can change.
 */
import { fleetConsoleLines } from './fleet/report.ts';
import type { FleetResult } from './fleet/run-fleet.ts';
import { mark, ms } from './report.ts';
import type { ScenarioResult } from './run-scenario.ts';
import type { TargetCheck } from './targets.ts';

/** The widest line the summary prints. */
export const CONSOLE_WIDTH = 100;

const HEADER = ['client', 'success', 'amplif.', 'p50 ms', 'p99 ms', 'fail-fast', 'recovered'];

const after = (n: number | null): string => (n === null ? '–' : `${ms(n)} ms`);

/** `text` broken at spaces into lines of at most `width`, lines after the first indented. */
export function wrap(text: string, width = CONSOLE_WIDTH, indent = '    '): string[] {
  const lines: string[] = [];
  const [first = '', ...words] = text.split(' ');
  let line = first;
  for (const word of words) {
    // Only a word that would overflow starts a line; runs of spaces (padding) stay as they are.
    if (`${line} ${word}`.length <= width || word === '' || line.trim() === '') {
      line = `${line} ${word}`;
      continue;
    }
    lines.push(line);
    line = `${indent}${word}`;
  }
  lines.push(line);
  // A word longer than the width is cut rather than let through.
  return lines.map((l) => (l.length > width ? `${l.slice(0, width - 1)}…` : l));
}

function table(rows: readonly (readonly string[])[]): string[] {
  const widths = HEADER.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(HEADER), ...rows.map(line)];
}

function scenarioLines(result: ScenarioResult): string[] {
  const rows = result.lanes.flatMap((lane) => {
    const m = lane.metrics;
    if (!m) return [];
    return [
      [
        lane.client,
        `${(m.successRate * 100).toFixed(1)} %`,
        m.amplification.toFixed(2),
        ms(m.latency.p50),
        ms(m.latency.p99),
        after(m.failFastMs),
        after(m.recoveryMs),
      ],
    ];
  });
  const notRun = result.lanes.flatMap((l) =>
    l.metrics ? [] : wrap(`${l.client} not run: ${l.unavailable ?? 'unknown'}`),
  );
  return ['', ...wrap(`${result.name}: ${result.description}`), ...table(rows), ...notRun];
}

/** `targets: N met, M missed`, and how many could not be judged by this run when some could not. */
export function targetsLine(targets: readonly TargetCheck[]): string {
  const met = targets.filter((t) => t.met === true).length;
  const missed = targets.filter((t) => t.met === false).length;
  // An interval that straddles its threshold was judged: the figures cannot tell, which is no difference.
  const same = targets.filter((t) => t.verdict === 'no difference').length;
  const open = targets.length - met - missed - same;
  const notes = [
    ...(same > 0 ? [`${same} no difference`] : []),
    ...(open > 0 ? [`${open} not judged by this run`] : []),
  ];
  return `targets: ${met} met, ${missed} missed${notes.length > 0 ? ` (${notes.join(', ')})` : ''}`;
}

/**
 * The end-of-run summary as lines: the scenarios, the targets, where the full report is, and last
 * `targets: N met, M missed`.
 */
export function consoleSummary(
  results: readonly ScenarioResult[],
  targets: readonly TargetCheck[],
  reportPath: string,
  fleet?: FleetResult,
): string[] {
  const lines = [
    ...results.flatMap(scenarioLines),
    ...(fleet ? fleetConsoleLines(fleet).flatMap((l) => wrap(l)) : []),
  ];
  if (targets.length > 0) {
    lines.push('', 'targets (breakwater):');
    for (const t of targets) {
      const miss = t.miss ? ` (missed by ${t.miss})` : '';
      lines.push(
        ...wrap(`${mark(t).padStart(6)}  ${t.target}: ${t.measured}${miss}`, CONSOLE_WIDTH, '        '),
      );
    }
  }
  lines.push('', ...wrap(`every table and chart: ${reportPath}`), targetsLine(targets));
  return lines;
}
