/**
 * Turns results into the terminal table and the Markdown report. The same rows feed both.
 */
import type { OverheadResult, OverheadRow } from './overhead.ts';
import type { ScenarioResult } from './run-scenario.ts';
import type { TargetCheck } from './targets.ts';

const HEADER = [
  'client',
  'calls',
  'success',
  'amplif.',
  'while down',
  'early',
  'p50 ms',
  'p95 ms',
  'p99 ms',
  'fail-fast after',
  'recovered after',
  'p99 while open',
  'breaker',
];

const ms = (n: number | null | undefined): string => {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
};

/** One row per client of a scenario: the columns of HEADER. */
export function scenarioRows(result: ScenarioResult): string[][] {
  return result.lanes.map((lane) => {
    const m = lane.metrics;
    if (!m)
      return [
        lane.client,
        `not run: ${lane.unavailable ?? ''}`,
        ...new Array<string>(HEADER.length - 2).fill(''),
      ];
    const halfOpens = (lane.eventRuns?.length ? lane.eventRuns : (lane.sampledRuns ?? [])).filter(
      (r) => r.state === 'half-open',
    ).length;
    const breaker =
      (lane.sampledRuns ?? []).length === 0
        ? '–'
        : m.breakerOpened
          ? `opened, ${halfOpens} half-open`
          : 'closed';
    return [
      lane.client,
      String(m.logical),
      `${(m.successRate * 100).toFixed(1)} %`,
      m.amplification.toFixed(2),
      String(m.whileDown),
      m.early === 0 ? '0' : `${m.earlyAfterSeen} (${m.early})`,
      ms(m.latency.p50),
      ms(m.latency.p95),
      ms(m.latency.p99),
      m.failFastMs === null ? '–' : `${ms(m.failFastMs)} ms`,
      m.recoveryMs === null ? '–' : `${ms(m.recoveryMs)} ms`,
      m.whileOpen ? ms(m.whileOpen.p99) : '–',
      breaker,
    ];
  });
}

/** Per-route success and p99 when a scenario has several routes (the healthy one must be unaffected). */
export function routeRows(result: ScenarioResult): string[][] {
  if (result.routes.length < 2) return [];
  return result.lanes.flatMap((lane) =>
    lane.metrics
      ? [
          [
            lane.client,
            ...result.routes.flatMap((r) => {
              const rm = lane.metrics?.routes[r.name];
              return rm
                ? [`${(rm.successRate * 100).toFixed(1)} %`, ms(rm.latency.p99), String(rm.upstream)]
                : ['', '', ''];
            }),
          ],
        ]
      : [],
  );
}

function overheadRows(rows: readonly OverheadRow[]): string[][] {
  return rows.map((r) => [
    r.client,
    (r.meanMs * 1000).toFixed(2),
    `±${r.rme.toFixed(1)} %`,
    String(r.samples),
    `${r.ratioToFetch.toFixed(2)}x`,
  ]);
}

const OVERHEAD_HEADER = ['client', 'µs per call', 'rme', 'samples', 'vs fetch'];

/** A fixed-width table for the terminal. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A GitHub Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function routeHeader(result: ScenarioResult): string[] {
  return [
    'client',
    ...result.routes.flatMap((r) => [`${r.name} success`, `${r.name} p99 ms`, `${r.name} upstream`]),
  ];
}

const mark = (t: TargetCheck): string => (t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED');

/** Everything for the terminal, after the run. */
export function terminalReport(
  results: readonly ScenarioResult[],
  overhead: OverheadResult | null,
  targets: readonly TargetCheck[],
): string {
  const parts: string[] = [];
  for (const result of results) {
    parts.push(`\n${result.name}: ${result.description}`);
    parts.push(textTable(HEADER, scenarioRows(result)));
    const routes = routeRows(result);
    if (routes.length > 0) parts.push(`\nper route:\n${textTable(routeHeader(result), routes)}`);
  }
  if (overhead) {
    parts.push('\noverhead, in-memory fetch:');
    parts.push(textTable(OVERHEAD_HEADER, overheadRows(overhead.memory)));
    parts.push('\noverhead, loopback HTTP:');
    parts.push(textTable(OVERHEAD_HEADER, overheadRows(overhead.loopback)));
  }
  if (targets.length > 0) {
    parts.push('\ntargets (breakwater):');
    for (const t of targets) {
      parts.push(
        `${mark(t).padStart(6)}  ${t.target}: ${t.measured}${t.miss ? ` (missed by ${t.miss})` : ''}`,
      );
    }
  }
  return parts.join('\n');
}

export interface ReportMeta {
  readonly date: string;
  readonly node: string;
  readonly cpus: string;
  readonly totalMs: number;
  readonly clients: readonly { readonly name: string; readonly description: string }[];
}

/** The Markdown report, with links to the per-scenario charts beside it. */
export function markdownReport(
  results: readonly ScenarioResult[],
  overhead: OverheadResult | null,
  targets: readonly TargetCheck[],
  meta: ReportMeta,
): string {
  const parts: string[] = [
    '# breakwater bench report',
    '',
    `Run ${meta.date} on Node ${meta.node}, ${meta.cpus}; whole run ${(meta.totalMs / 1000).toFixed(1)} s. ` +
      'Every client of a scenario ran at the same time against its own fault server (same script, same seed). ' +
      'Load is open-loop: calls start on a fixed schedule whatever happened to earlier ones. Raw data: [latest.json](latest.json).',
    '',
    '## Targets (breakwater with defaults)',
    '',
    markdownTable(
      ['target', 'result', 'measured', 'missed by'],
      targets.map((t) => [t.target, mark(t), t.measured, t.miss ?? '']),
    ),
    '',
    '## Clients',
    '',
    ...meta.clients.map((c) => `- **${c.name}**: ${c.description}`),
    '',
    'Columns: *amplif.* = requests reaching the server per logical call; *while down* = requests that reached the server while ' +
      'the route was down; *early* = requests sent after the client had received a 429 whose Retry-After had not elapsed ' +
      '(in brackets: all arrivals inside a Retry-After window, including requests already in flight); latencies are of ' +
      'logical calls; *fail-fast after* = from the outage start to the first call rejected without touching the network; ' +
      '*recovered after* = from the end of the outage to the first 2xx.',
    '',
  ];
  for (const result of results) {
    parts.push(
      `## ${result.name}`,
      '',
      `${result.description}. Attempt timeout for every client: ${result.attemptTimeoutMs} ms. ` +
        `Load: ${result.routes.map((r) => `${r.name} ${r.rps}/s`).join(', ')}. Event-loop delay p99 during the run: ${result.loopDelayP99Ms.toFixed(1)} ms.`,
      '',
    );
    parts.push(`![${result.name}](${result.name}.svg)`, '');
    parts.push(markdownTable(HEADER, scenarioRows(result)), '');
    const routes = routeRows(result);
    if (routes.length > 0) parts.push('Per route:', '', markdownTable(routeHeader(result), routes), '');
  }
  if (overhead) {
    parts.push(
      '## Overhead',
      '',
      'Per-call cost measured with tinybench in this run, as ratios to raw fetch measured alongside.',
      '',
    );
    parts.push(
      "In-memory fetch (answers at once: the library's own cost):",
      '',
      markdownTable(OVERHEAD_HEADER, overheadRows(overhead.memory)),
      '',
    );
    parts.push(
      'Loopback HTTP (node:http on 127.0.0.1, body read):',
      '',
      markdownTable(OVERHEAD_HEADER, overheadRows(overhead.loopback)),
      '',
    );
  }
  return `${parts.join('\n')}\n`;
}
