/**
 * Turns results into the terminal table and the Markdown report. The same rows feed both.
 */

import { DEFAULT_POLICY } from '@breakwater/policies';
import { fleetSection } from './fleet/report.ts';
import type { FleetResult } from './fleet/run-fleet.ts';
import { withInterval } from './format.ts';
import { earlyPerCoolDown } from './metrics.ts';
import { ORACLE_DEADLINE_MS, ORACLE_MAX_RATE, ORACLE_SLOW_CUT_MS } from './oracle.ts';
import type { LoopbackPairRow, OverheadMethod, OverheadResult, OverheadRow } from './overhead.ts';
import { readingOf } from './readings.ts';
import { QUIET_CALLS, type ScenarioResult } from './run-scenario.ts';
import { budgetBound, type TargetCheck } from './targets.ts';
import { VS_ORACLE_HEADER, vsOracleIntro, vsOracleRows } from './vs-oracle.ts';

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

/** Milliseconds with as many decimals as they need (– for none). */
export const ms = (n: number | null | undefined): string => {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
};

/** One row per client of a scenario: the columns of HEADER. */
export function scenarioRows(result: ScenarioResult): string[][] {
  return result.lanes.map((lane) => {
    const m = lane.metrics;
    if (!m) return [lane.client, 'not run', ...new Array<string>(HEADER.length - 2).fill('')];
    const halfOpens = (lane.eventRuns?.length ? lane.eventRuns : (lane.sampledRuns ?? [])).filter(
      (r) => r.state === 'half-open',
    ).length;
    const breaker = !result.breakers
      ? 'off'
      : (lane.sampledRuns ?? []).length === 0
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

/** Per-tenant success, p99, requests and early requests when a route has tenants. */
export function tenantRows(result: ScenarioResult): string[][] {
  const ids = tenantIds(result);
  if (ids.length === 0) return [];
  return result.lanes.flatMap((lane) =>
    lane.metrics
      ? [
          [
            lane.client,
            ...ids.flatMap((id) => {
              const t = lane.metrics?.tenants[id];
              return t
                ? [
                    `${(t.successRate * 100).toFixed(1)} %`,
                    ms(t.latency.p99),
                    String(t.upstream),
                    t.early === 0 ? '0' : `${t.earlyAfterSeen} (${t.early})`,
                  ]
                : ['', '', '', ''];
            }),
          ],
        ]
      : [],
  );
}

function tenantIds(result: ScenarioResult): string[] {
  return result.routes.flatMap((r) => (r.tenants ?? []).map((t) => t.id));
}

function tenantHeader(result: ScenarioResult): string[] {
  return [
    'client',
    ...result.routes.flatMap((r) =>
      (r.tenants ?? []).flatMap((t) => {
        const name = `${t.id} (${t.rps}/s${t.underLimit ? '' : ', over'})`;
        return [`${name} success`, `${t.id} p99 ms`, `${t.id} upstream`, `${t.id} early`];
      }),
    ),
  ];
}

const LIMITER_HEADER = [
  'client',
  'requests',
  '429s',
  'cool-downs',
  'in window',
  'per cool-down',
  'success',
  'goodput',
  'p50 ms',
  'p99 ms',
];

const pct = (share: number): string => (Number.isFinite(share) ? `${(share * 100).toFixed(1)} %` : '–');

/**
 * On a scenario with one limited route: what each client got through the limiter, and what it cost
 * the limiter (429s, arrivals inside the Retry-After windows it announced).
 */
export function limiterRows(result: ScenarioResult): string[][] {
  return result.lanes.flatMap((lane) => {
    const m = lane.metrics;
    if (!m?.limiter) return [];
    return [
      [
        lane.client,
        String(m.upstream),
        `${m.throttled} (${pct(m.throttled / m.upstream)})`,
        String(m.coolDowns),
        String(m.early),
        earlyPerCoolDown(m).toFixed(2),
        pct(m.successRate),
        pct(m.limiter.goodput),
        ms(m.latency.p50),
        ms(m.latency.p99),
      ],
    ];
  });
}

/** The limiter a scenario's limiter table is about, as the text above the table names it. */
function limiterOf(result: ScenarioResult): string {
  const limiter = result.lanes.find((l) => l.metrics?.limiter)?.metrics?.limiter;
  return limiter ? `${limiter.perSecond}/s, ${limiter.burst} at once from rest` : '';
}

const DOWN_HEADER = ['client', 'first attempts', 'requests', 'retries', 'amplif. while down', 'budget bound'];

/**
 * With breakers off, what reached the server during the down phase, first attempts told from retries,
 * beside the bound breakwater's default retry budget sets for that many first attempts.
 */
export function downPhaseRows(result: ScenarioResult): string[][] {
  if (result.breakers) return [];
  return result.lanes.flatMap((lane) => {
    const d = lane.metrics?.downPhase;
    if (!d) return [];
    return [
      [
        lane.client,
        String(d.firstAttempts),
        String(d.requests),
        String(d.requests - d.firstAttempts),
        // The oracle sends nothing while down: no first attempt, no ratio (NaN, null once in JSON).
        Number.isFinite(d.amplification) ? d.amplification.toFixed(2) : '–',
        budgetBound(d.firstAttempts, d.firstAttemptsBefore, d.durationMs, DEFAULT_POLICY.retryBudget).toFixed(
          0,
        ),
      ],
    ];
  });
}

/** One line per client that did not run, with why (kept out of the table so its columns stay narrow). */
export function notRunLines(result: ScenarioResult): string[] {
  return result.lanes.flatMap((l) =>
    l.metrics ? [] : [`${l.client} not run: ${l.unavailable ?? 'unknown'}`],
  );
}

function overheadRows(rows: readonly OverheadRow[], digits: number): string[][] {
  return rows.map((r) => [
    r.client,
    withInterval(r.value, digits),
    withInterval(r.vsFetch, 2, 'x'),
    r.vsBreakwater ? withInterval(r.vsBreakwater, 2, 'x') : 'n/a',
  ]);
}

const MEMORY_HEADER = ['client', 'µs per call', 'vs fetch', 'vs breakwater'];
const LOOPBACK_HEADER = ['client', 'requests/s', 'throughput vs fetch', 'vs breakwater'];
const TELEMETRY_HEADER = ['breakwater', 'per call vs telemetry off'];

function telemetryRows(overhead: OverheadResult): string[][] {
  return overhead.telemetry.map((t) => [t.client, withInterval(t.vsOff, 2, 'x')]);
}

function telemetryTitle(m: OverheadMethod): string {
  if (m.pairRounds === undefined) return 'Telemetry, in-memory fetch';
  return (
    `Telemetry, in-memory fetch (each lane timed back to back with telemetry off, ${m.pairCalls} calls ` +
    `each, the order swapped every round; per batch the median ratio of ${m.pairRounds} rounds; the ` +
    'control is a second, identical instance of telemetry off: how finely the pairing resolves)'
  );
}

/** One table of the overhead section, with its heading, for either renderer. */
interface Table {
  readonly title: string;
  readonly header: string[];
  readonly rows: string[][];
}

/** breakwater's loopback throughput timed back to back with raw fetch's, when the run paired them. */
function loopbackPairsTable(overhead: OverheadResult): Table | null {
  const { loopbackPairs } = overhead;
  const m = overhead.method;
  if (!loopbackPairs) return null;
  return {
    title:
      `Loopback, each client back to back with raw fetch (${m.loopbackPairCalls} calls each, ` +
      `${m.concurrency} in flight, the order swapped every round; per batch the median ratio of ` +
      `${m.loopbackPairRounds} rounds` +
      (m.loopbackPairWarmup === undefined
        ? ''
        : `, after ${m.loopbackPairWarmup} untimed loopback calls each`) +
      '; the first row is raw fetch against itself, the control)',
    header: ['client', 'throughput vs fetch'],
    rows: vsFetchRows(loopbackPairs),
  };
}

/** Each client's throughput over raw fetch's, the first row (raw fetch against itself) marked the control. */
function vsFetchRows(rows: readonly LoopbackPairRow[]): string[][] {
  return rows.map((r, i) => [i === 0 ? `${r.client} (control)` : r.client, withInterval(r.vsFetch, 2, 'x')]);
}

/** breakwater's loopback throughput held for seconds against raw fetch's, when the run measured it. */
function loopbackSustainedTable(overhead: OverheadResult): Table | null {
  const { loopbackSustained } = overhead;
  const m = overhead.method;
  if (!loopbackSustained) return null;
  return {
    title:
      `Loopback, throughput held for seconds (each client alone in a process: ${m.sustainedWarmup} untimed ` +
      `calls, then ${m.sustainedCalls} timed in one go, ${m.concurrency} in flight, GC and deferred work ` +
      (m.sustainedCores
        ? `counted; the client on core ${m.sustainedCores[0]}, the loopback server on core ${m.sustainedCores[1]}; `
        : 'counted; ') +
      `${m.sustainedPairs} pairs of processes per row, raw fetch first in every other pair; the ` +
      'median ratio over the pairs; the first row is raw fetch against itself, the control; the pairs ' +
      'above time short rounds and leave out the rounds a GC pause lands in)',
    header: ['client', 'throughput vs fetch'],
    rows: vsFetchRows(loopbackSustained),
  };
}

/** breakwater's in-memory cost timed back to back with each base's, when the run paired them. */
function memoryPairsTable(overhead: OverheadResult): Table | null {
  const { memoryPairs } = overhead;
  const m = overhead.method;
  if (!memoryPairs) return null;
  return {
    title:
      `In-memory fetch, each client back to back with a base (${m.memoryPairCalls} calls each, one at a ` +
      `time, the order swapped every round; per batch the median of ${m.memoryPairRounds} rounds; each ` +
      "base's first row is the base against itself, the control)",
    header: ['base', 'client', 'per call vs base', 'µs above base'],
    rows: memoryPairs.map((r) => [
      r.base,
      r.client === r.base ? `${r.client} (control)` : r.client,
      withInterval(r.vsBase, 2, 'x'),
      withInterval(r.aboveBase, 2),
    ]),
  };
}

/** What each of breakwater's defaults costs per call in-memory, when the run paired its lanes. */
function featuresTable(overhead: OverheadResult): Table | null {
  const { features } = overhead;
  const m = overhead.method;
  if (!features) return null;
  return {
    title:
      "What breakwater's defaults cost, in-memory fetch (breakwater's default lane back to back with itself " +
      `less one default, or less the onEvent listener the lane passes, ${m.memoryPairCalls} calls each, ` +
      `the order swapped every round; per batch the median of ${m.memoryPairRounds} rounds, timed last, ` +
      'after the loopback modes, so its µs are not those of the in-memory tables above, only its pairs ' +
      'compare; the first row is a second instance of the default lane, the control; below 1x and 0 µs, ' +
      'the default costs that much; the gate alone reads the RateLimit headers, so its row holds theirs)',
    header: ['breakwater', 'per call vs the default lane', 'µs above the default lane'],
    rows: features.map((r) => [
      r.client === r.base ? `${r.client} (control)` : r.client,
      withInterval(r.vsBase, 2, 'x'),
      withInterval(r.aboveBase, 2),
    ]),
  };
}

/** The Redis store beside the in-memory store (issue 14), when the run measured it or tried to. */
function redisStoreTable(overhead: OverheadResult): Table | null {
  const r = overhead.redis;
  if (!r) return null;
  const title =
    'Shared store, in-memory fetch (breakwater telemetry off, same configuration, with `redisStore`)';
  const header = ['breakwater', 'µs per call', 'per call vs the in-memory store'];
  if ('unavailable' in r)
    return { title, header, rows: [['breakwater-redis', `not run: ${r.unavailable}`, '']] };
  return { title, header, rows: [[r.client, withInterval(r.value, 2), withInterval(r.vsInMemory, 2, 'x')]] };
}

/** The overhead tables, each with its heading, for either renderer. */
function overheadTables(overhead: OverheadResult): Table[] {
  const telemetry = telemetryRows(overhead);
  const tables: (Table | null)[] = [
    {
      title: "In-memory fetch (answers at once: the library's own cost)",
      header: MEMORY_HEADER,
      rows: overheadRows(overhead.memory, 2),
    },
    memoryPairsTable(overhead),
    featuresTable(overhead),
    {
      title: `Loopback HTTP to a server in its own process, ${overhead.method.concurrency} keep-alive calls in flight`,
      header: LOOPBACK_HEADER,
      rows: overheadRows(overhead.loopback, 0),
    },
    loopbackPairsTable(overhead),
    loopbackSustainedTable(overhead),
    telemetry.length > 0
      ? { title: telemetryTitle(overhead.method), header: TELEMETRY_HEADER, rows: telemetry }
      : null,
    redisStoreTable(overhead),
  ];
  return tables.filter((t) => t !== null);
}

/** How the overhead figures were taken and what their brackets mean. */
function overheadMethod(overhead: OverheadResult): string {
  const m = overhead.method;
  return (
    `Median over ${m.batches} batches, each a child process of its own timing ${m.memoryCalls} in-memory ` +
    `and ${m.loopbackCalls} loopback calls per client in ${m.memoryRounds} and ${m.loopbackRounds} rounds ` +
    `of alternating order, after ${m.warmup} untimed in-memory calls per client (a warm JIT, as in a ` +
    'long-running service), each client counting its fastest round, every timed block started after a ' +
    'turn of the event loop (its timers run, as in a live service)' +
    (m.pairRounds === undefined
      ? '. '
      : ' (the back-to-back pairs below count the median of their rounds). ') +
    `[brackets]: where the median of a repeated run falls with ${(m.coverage * 100).toFixed(1)} % ` +
    `probability, from order statistics (sorted samples ${m.ranks[0]} and ${m.ranks[1]} of ${m.batches}); ` +
    'ratios are paired per batch. A target whose interval straddles its threshold is "no difference", ' +
    'neither met nor missed: a verdict is one a repeated run would keep.'
  );
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

/** A target's verdict as a word: met, MISSED, no diff (its interval straddles the threshold), n/a. */
export const mark = (t: TargetCheck): string =>
  t.verdict === 'no difference' ? 'no diff' : t.met === null ? 'n/a' : t.met ? 'met' : 'MISSED';

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
  fleet?: FleetResult,
): string {
  const parts = [
    ...introSection(targets, meta),
    ...results.flatMap(scenarioSection),
    ...(fleet ? fleetSection(fleet) : []),
    ...(overhead ? overheadSection(overhead) : []),
  ];
  return `${parts.join('\n')}\n`;
}

function introSection(targets: readonly TargetCheck[], meta: ReportMeta): string[] {
  return [
    '# breakwater bench report',
    '',
    `Run ${meta.date} on Node ${meta.node}, ${meta.cpus}; whole run ${(meta.totalMs / 1000).toFixed(1)} s. ` +
      'Every client of a scenario ran at the same time against its own fault server (same script, same seed). ' +
      'Load is open-loop: calls start on a fixed schedule whatever happened to earlier ones. Each scenario starts as the ' +
      `previous one's scripted load ends and at most ${QUIET_CALLS} of its calls still run (late ones, settling on their own servers). Raw data: [latest.json](latest.json).`,
    '',
    "The *oracle* lane is the limit of each scenario: it is told the route's fault script (which no other client is) and " +
      `sends only what will succeed, when it will: nothing while the route is down (a call that cannot succeed within ${ORACLE_DEADLINE_MS / 1000} s ` +
      'fails at once, unsent), each call through a limiter once the limiter has room, again at once after a random fault ' +
      `or a slow draw (abandoned at ${ORACLE_SLOW_CUT_MS} ms: there its latency is an upper bound of the limit), at most ${ORACLE_MAX_RATE.perSecond} requests a ` +
      "second. Under each scenario's table, every client's figures as a ratio to the oracle's.",
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
}

/** A scenario's chart and tables; the per-route, per-tenant and down-phase tables only where they apply. */
function scenarioSection(result: ScenarioResult): string[] {
  const parts = [
    `## ${result.name}`,
    '',
    `${result.description}. Attempt timeout for every client: ${result.attemptTimeoutMs} ms. ` +
      `Load: ${result.routes.map((r) => `${r.name} ${r.rps}/s`).join(', ')}. Event-loop delay p99 during the run: ${result.loopDelayP99Ms.toFixed(1)} ms.`,
    '',
    `![${result.name}](${result.name}.svg)`,
    '',
  ];
  const reading = readingOf(result);
  if (reading) parts.push(`*Reading:* ${reading}`, '');
  parts.push(markdownTable(HEADER, scenarioRows(result)), '');
  const notRun = notRunLines(result);
  if (notRun.length > 0) parts.push(...notRun.map((line) => `- ${line}`), '');
  const vsOracle = vsOracleRows(result);
  if (vsOracle.length > 0) {
    parts.push(vsOracleIntro(result), '', markdownTable(VS_ORACLE_HEADER, vsOracle), '');
  }
  const limiter = limiterRows(result);
  if (limiter.length > 0) {
    parts.push(
      `Through the limiter (${limiterOf(result)}): *429s* = requests it refused (in brackets, their share of the ` +
        "client's requests); *cool-downs* = Retry-After windows it announced while none was running; " +
        '*in window* = requests that arrived inside an announced window, in-flight included (the server ' +
        'cannot tell in-flight from careless), and *per cool-down* the same divided by the cool-downs; ' +
        '*goodput* = successful calls ÷ (burst + rate × T), T the busy period from the start to the end of ' +
        "the client's last call (at least the load period): the calls per second it got through over the " +
        'busy period as a share of the rate, the starting burst counted as admissible, so 100 % means ' +
        'every token the limiter had until the last call was used.',
      '',
      markdownTable(LIMITER_HEADER, limiter),
      '',
    );
  }
  const routes = routeRows(result);
  if (routes.length > 0) parts.push('Per route:', '', markdownTable(routeHeader(result), routes), '');
  const tenants = tenantRows(result);
  if (tenants.length > 0) {
    parts.push(
      "Per tenant (*early* as above, against that tenant's own Retry-After windows):",
      '',
      markdownTable(tenantHeader(result), tenants),
      '',
    );
  }
  const down = downPhaseRows(result);
  if (down.length > 0) {
    parts.push(
      'During the down phase, every breaker off (opossum, only a breaker, does not run): requests reaching ' +
        'the server told apart by attempt number; *budget bound* = first attempts x (1 + ratio) + minRetries ' +
        "per window, with breakwater's default retry budget, computed for each client's own first attempts.",
      '',
      markdownTable(DOWN_HEADER, down),
      '',
    );
  }
  return parts;
}

function overheadSection(overhead: OverheadResult): string[] {
  return [
    '## Overhead',
    '',
    overheadMethod(overhead),
    '',
    ...overheadTables(overhead).flatMap((t) => [`${t.title}:`, '', markdownTable(t.header, t.rows), '']),
  ];
}
