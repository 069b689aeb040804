/**
 * One hand-written SVG per scenario: a lane per client with the rate of logical calls stacked by
 * outcome, the upstream request rate as a line (every lane on one scale that fits the highest rate, so
 * amplification compares across lanes), a strip of p50/p99 latency per bucket on a log scale, and,
 * for a client that has breakers in a scenario that keeps them on, a band per breaker showing its state.
 * White background and dark text, so it reads the same on GitHub's light and dark themes.
 */
import type { BreakerState } from './client.ts';
import { OUTCOMES, type Outcome } from './load.ts';
import { type LaneResult, SAMPLE_EVERY_MS, type ScenarioResult } from './run-scenario.ts';

export const OUTCOME_COLORS: Readonly<Record<Outcome, string>> = {
  ok: '#59a14f',
  'client-error': '#bab0ac',
  throttled: '#edc948',
  'server-error': '#e15759',
  'fail-fast': '#4e79a7',
  timeout: '#f28e2b',
  network: '#b07aa1',
  aborted: '#79706e',
};

export const STATE_COLORS: Readonly<Record<BreakerState, string>> = {
  closed: '#d9ead3',
  open: '#c0392b',
  'half-open': '#f1c40f',
};

const WIDTH = 960;
const LEFT = 120;
const RIGHT = 16;
const PLOT_W = WIDTH - LEFT - RIGHT;
const CHART_H = 54;
const LATENCY_H = 28;
const BAND_H = 9;
/** The latency strip's floor (ms): loopback calls below it would stretch the scale for nothing. */
const LATENCY_FLOOR_MS = 1;

export const LATENCY_COLORS = { p50: '#1f5fa8', p99: '#b5179e' } as const;
const LANE_GAP = 16;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (n: number): string => String(Math.round(n * 10) / 10);

function phaseColor(phase: { label: string; down: boolean }): string {
  if (phase.down) return '#f4c7c3';
  return phase.label === 'healthy' || phase.label === 'recovered' ? '#e6f4ea' : '#fdf0c8';
}

/** Step-shaped area from the baseline up to `tops`, as one compact path. */
function stepArea(
  tops: readonly number[],
  x: (i: number) => number,
  y: (v: number) => number,
  base: number,
): string {
  let d = `M${r1(x(0))},${r1(base)}`;
  let last = '';
  tops.forEach((v, i) => {
    const yv = r1(y(v));
    if (yv !== last) d += `V${yv}`;
    last = yv;
    const next = tops[i + 1];
    if (next === undefined || r1(y(next)) !== yv) d += `H${r1(x(i + 1))}`;
  });
  return `${d}V${r1(base)}Z`;
}

function stepLine(values: readonly number[], x: (i: number) => number, y: (v: number) => number): string {
  let d = '';
  values.forEach((v, i) => {
    const yv = r1(y(v));
    if (i === 0) d += `M${r1(x(0))},${yv}`;
    else if (yv !== r1(y(values[i - 1] as number))) d += `V${yv}`;
    const next = values[i + 1];
    if (next === undefined || r1(y(next)) !== yv) d += `H${r1(x(i + 1))}`;
  });
  return d;
}

function laneKeys(lane: LaneResult): string[] {
  return [...new Set((lane.sampledRuns ?? []).map((r) => r.key))].sort();
}

/** A coordinate or length, written as given: callers round with r1 where the chart always has (not the legend's x). */
type Num = number | string;

const rect = (x: Num, y: Num, width: Num, height: Num, paint: string): string =>
  `<rect x="${x}" y="${y}" width="${width}" height="${height}" ${paint}/>`;
const text = (x: Num, y: Num, attrs: string, content: string): string =>
  `<text x="${x}" y="${y}" ${attrs}>${esc(content)}</text>`;
const line = (x1: Num, y1: Num, x2: Num, y2: Num, paint: string): string =>
  `<line x1="${x1}" y1="${y1}" x2="${x2}" y2="${y2}" ${paint}/>`;

/** Lines of SVG and the y below them, where the next part starts. */
interface Block {
  readonly lines: readonly string[];
  readonly bottom: number;
}

/** The scales every part of one chart shares. */
interface Chart {
  readonly result: ScenarioResult;
  readonly duration: number;
  /** Buckets of start time in the run. */
  readonly n: number;
  readonly bucketsPerSecond: number;
  /** Calls or requests per second at the top of a lane: the same for every lane. */
  readonly yMaxRate: number;
  /** Latency (ms) at the top of the latency strip, a power of ten; the bottom is LATENCY_FLOOR_MS. */
  readonly latencyMaxMs: number;
  /** x of a time (ms from the start), clamped to the run. */
  readonly tx: (t: number) => number;
  /** x of the start of bucket i. */
  readonly bx: (i: number) => number;
}

function chartOf(result: ScenarioResult): Chart {
  const duration = result.durationMs;
  const bucketsPerSecond = 1000 / result.bucketMs;
  const tx = (t: number): number => LEFT + (Math.min(Math.max(t, 0), duration) / duration) * PLOT_W;
  const n = Math.ceil(duration / result.bucketMs);
  // One scale for every lane, fitting the highest calls or upstream rate of any: a retry storm shows
  // at its height, and one lane's amplification reads against another's.
  const yMaxRate = niceCeil(mostInABucket(result, n) * bucketsPerSecond);
  return {
    result,
    duration,
    n,
    bucketsPerSecond,
    yMaxRate,
    latencyMaxMs: latencyCeiling(result),
    tx,
    bx: (i) => tx(i * result.bucketMs),
  };
}

/** The smallest of 1, 2, 5 x 10^k at or above `v` (at least 1). */
export function niceCeil(v: number): number {
  let decade = 1;
  while (decade * 10 < v) decade *= 10;
  return [1, 2, 5, 10].map((m) => m * decade).find((c) => c >= v) ?? decade * 10;
}

/** The most logical calls started, or requests reaching the server, in one bucket of any lane; at least 1. */
function mostInABucket(result: ScenarioResult, n: number): number {
  let most = 1;
  for (const lane of result.lanes) {
    for (const v of lane.upstreamBins ?? []) most = Math.max(most, v);
    if (!lane.bins) continue;
    for (let i = 0; i < n; i++) {
      most = Math.max(
        most,
        OUTCOMES.reduce((s, o) => s + (lane.bins?.[o]?.[i] ?? 0), 0),
      );
    }
  }
  return most;
}

/** The power of ten at or above every lane's highest bucket p99, at least 100 ms. */
function latencyCeiling(result: ScenarioResult): number {
  let most = 100;
  for (const lane of result.lanes) for (const v of lane.latencyBins?.p99 ?? []) most = Math.max(most, v ?? 0);
  return 10 ** Math.ceil(Math.log10(most));
}

/** Whether a lane draws breaker bands: only a client with breakers, in a scenario that keeps them on. */
const hasBreakerBands = (result: ScenarioResult, lane: LaneResult): boolean =>
  result.breakers && laneKeys(lane).length > 0;

/** Renders the chart of one scenario result. */
export function renderScenarioSvg(result: ScenarioResult): string {
  const chart = chartOf(result);
  const out: string[] = [];
  let y = 0;
  const add = (block: Block): void => {
    out.push(...block.lines);
    y = block.bottom;
  };
  add(title(result));
  add(serverStrips(chart, y));
  for (const lane of result.lanes) add(laneChart(chart, lane, y));
  add(timeAxis(chart, y));
  add(legend(chart, y));
  return frame(y, out);
}

function title(result: ScenarioResult): Block {
  return {
    lines: [
      text(LEFT, 20, 'font-size="14" font-weight="600"', result.name),
      text(LEFT, 36, 'font-size="11" fill="#555"', result.description),
    ],
    bottom: 48,
  };
}

/** The server's script, one strip of phases per route. */
function serverStrips(chart: Chart, top: number): Block {
  const { tx, duration } = chart;
  const lines: string[] = [];
  let y = top;
  for (const route of chart.result.routes) {
    route.phases.forEach((phase, i) => {
      const to = route.phases[i + 1]?.at ?? duration;
      const w = tx(to) - tx(phase.at);
      lines.push(rect(r1(tx(phase.at)), y, r1(w), 14, `fill="${phaseColor(phase)}"`));
      if (w > 60) lines.push(text(r1(tx(phase.at) + 4), y + 10, 'font-size="9" fill="#333"', phase.label));
    });
    lines.push(
      text(LEFT - 6, y + 10, 'font-size="10" text-anchor="end" fill="#333"', `server: ${route.name}`),
    );
    y += 16;
  }
  return { lines, bottom: y + 8 };
}

/** One client's lane: its label, the outcome areas, the upstream line and a breaker band per key. */
function laneChart(chart: Chart, lane: LaneResult, top: number): Block {
  const label = text(LEFT - 6, top + 14, 'font-size="11" font-weight="600" text-anchor="end"', lane.client);
  if (!lane.bins || !lane.metrics) {
    return {
      lines: [
        label,
        rect(LEFT, top, PLOT_W, CHART_H, 'fill="#f5f5f5"'),
        text(LEFT + 8, top + 30, 'font-size="11" fill="#555"', `not run: ${lane.unavailable ?? 'unknown'}`),
      ],
      bottom: top + CHART_H + LANE_GAP,
    };
  }
  const m = lane.metrics;
  const base = top + CHART_H;
  const yv = (v: number): number => base - ((v * chart.bucketsPerSecond) / chart.yMaxRate) * CHART_H;
  const lines = [
    label,
    text(
      LEFT - 6,
      top + 27,
      'font-size="9" text-anchor="end" fill="#555"',
      `ok ${(m.successRate * 100).toFixed(1)}% · x${m.amplification.toFixed(2)}`,
    ),
    rect(LEFT, top, PLOT_W, CHART_H, 'fill="#fafafa" stroke="#e0e0e0"'),
    ...outcomeAreas(chart, lane.bins, yv, base),
    text(LEFT + PLOT_W - 4, top + 10, 'font-size="8" text-anchor="end" fill="#555"', `${chart.yMaxRate}/s`),
  ];
  if (lane.upstreamBins) {
    lines.push(
      `<path d="${stepLine(lane.upstreamBins, chart.bx, yv)}" fill="none" stroke="#222" stroke-width="1"/>`,
    );
  }
  const latency = latencyStrip(chart, lane, base + 2);
  const bands = hasBreakerBands(chart.result, lane)
    ? breakerBands(chart, lane, latency.bottom + 2)
    : { lines: [], bottom: latency.bottom };
  return { lines: [...lines, ...latency.lines, ...bands.lines], bottom: bands.bottom + LANE_GAP - 2 };
}

/** p50 and p99 of the calls started in each bucket, on a log scale from the floor to the ceiling. */
function latencyStrip(chart: Chart, lane: LaneResult, top: number): Block {
  const base = top + LATENCY_H;
  const span = Math.log10(chart.latencyMaxMs / LATENCY_FLOOR_MS);
  const yl = (ms: number): number =>
    base - (Math.log10(Math.max(ms, LATENCY_FLOOR_MS) / LATENCY_FLOOR_MS) / span) * LATENCY_H;
  const lines = [
    rect(LEFT, top, PLOT_W, LATENCY_H, 'fill="#ffffff" stroke="#e0e0e0"'),
    text(LEFT - 6, top + LATENCY_H / 2 + 3, 'font-size="8" text-anchor="end" fill="#555"', 'p50 / p99'),
    text(LEFT + 2, top + 8, 'font-size="7" fill="#777"', latencyLabel(chart.latencyMaxMs)),
    text(LEFT + 2, base - 2, 'font-size="7" fill="#777"', latencyLabel(LATENCY_FLOOR_MS)),
  ];
  for (const p of ['p99', 'p50'] as const) {
    const d = gappedStepLine(lane.latencyBins?.[p] ?? [], chart.bx, yl);
    if (d) lines.push(`<path d="${d}" fill="none" stroke="${LATENCY_COLORS[p]}" stroke-width="1.2"/>`);
  }
  return { lines, bottom: base };
}

const latencyLabel = (ms: number): string => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

/** A step line through the buckets that have a value, broken where a bucket has none. */
function gappedStepLine(
  values: readonly (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let prev: string | null = null;
  values.forEach((v, i) => {
    if (v === null || v === undefined) {
      prev = null;
      return;
    }
    const yv = r1(y(v));
    d += prev === null ? `M${r1(x(i))},${yv}` : prev === yv ? '' : `V${yv}`;
    d += `H${r1(x(i + 1))}`;
    prev = yv;
  });
  return d;
}

/** The logical calls stacked by outcome, drawn top of the stack first so each area shows its own share. */
function outcomeAreas(
  chart: Chart,
  bins: Readonly<Record<Outcome, number[]>>,
  yv: (v: number) => number,
  base: number,
): string[] {
  const cumulative: number[][] = [];
  let running = new Array<number>(chart.n).fill(0);
  for (const o of OUTCOMES) {
    const counts = bins[o] ?? [];
    running = running.map((v, i) => v + (counts[i] ?? 0));
    cumulative.push(running);
  }
  const lines: string[] = [];
  for (let k = OUTCOMES.length - 1; k >= 0; k--) {
    const outcome = OUTCOMES[k] as Outcome;
    if (!(bins[outcome] ?? []).some((v) => v > 0)) continue;
    lines.push(
      `<path d="${stepArea(cumulative[k] as number[], chart.bx, yv, base)}" fill="${OUTCOME_COLORS[outcome]}"/>`,
    );
  }
  return lines;
}

/** A band per breaker key: sampled states, with the exact half-open entries marked on top. */
function breakerBands(chart: Chart, lane: LaneResult, top: number): Block {
  const { tx } = chart;
  const keys = laneKeys(lane);
  const lines: string[] = [];
  let by = top;
  for (const key of keys) {
    for (const run of (lane.sampledRuns ?? []).filter((r) => r.key === key)) {
      const w = Math.max(tx(run.to) - tx(run.from), 1);
      lines.push(rect(r1(tx(run.from)), by, r1(w), BAND_H, `fill="${STATE_COLORS[run.state]}"`));
    }
    for (const run of (lane.eventRuns ?? []).filter((r) => r.key === key && r.state === 'half-open')) {
      lines.push(rect(r1(tx(run.from) - 1), by, 2, BAND_H, `fill="${STATE_COLORS['half-open']}"`));
    }
    if (keys.length > 1)
      lines.push(text(LEFT - 6, by + 8, 'font-size="8" text-anchor="end" fill="#555"', key));
    by += BAND_H + 1;
  }
  return { lines, bottom: by };
}

function timeAxis(chart: Chart, y: number): Block {
  const { tx, duration } = chart;
  const step = duration > 12_000 ? 2_000 : duration > 4_000 ? 1_000 : 500;
  const lines = [line(LEFT, y, LEFT + PLOT_W, y, 'stroke="#999"')];
  for (let t = 0; t <= duration; t += step) {
    lines.push(line(r1(tx(t)), y, r1(tx(t)), y + 4, 'stroke="#999"'));
    lines.push(text(r1(tx(t)), y + 14, 'font-size="9" text-anchor="middle" fill="#333"', `${t / 1000}s`));
  }
  return { lines, bottom: y + 28 };
}

interface LegendItem {
  readonly color: string;
  readonly label: string;
  /** Drawn as a line (the upstream rate) rather than a swatch. */
  readonly line?: boolean;
}

/** One row of legend items from the left edge, each as wide as its label. */
function legendRow(items: readonly LegendItem[], y: number): string[] {
  const lines: string[] = [];
  let lx = LEFT;
  for (const item of items) {
    lines.push(
      item.line
        ? line(lx, y - 4, lx + 12, y - 4, `stroke="${item.color}" stroke-width="2"`)
        : rect(lx, y - 9, 12, 9, `fill="${item.color}"`),
    );
    lines.push(text(lx + 16, y, 'font-size="10" fill="#333"', item.label));
    lx += 22 + item.label.length * 5.6;
  }
  return lines;
}

function legend(chart: Chart, top: number): Block {
  const { result } = chart;
  const outcomes = OUTCOMES.map((o): LegendItem => ({ color: OUTCOME_COLORS[o], label: o }));
  const latency = (['p50', 'p99'] as const).map(
    (p): LegendItem => ({ color: LATENCY_COLORS[p], label: `${p} latency`, line: true }),
  );
  const bands = result.lanes.some((lane) => hasBreakerBands(result, lane));
  const states = bands
    ? (['closed', 'open', 'half-open'] as const).map(
        (s): LegendItem => ({ color: STATE_COLORS[s], label: `breaker ${s}` }),
      )
    : [];
  // The notes get lines of their own: beside the legend rows they ran past the right edge.
  const noteY = top + 16 + 14;
  return {
    lines: [
      ...legendRow([...outcomes, { color: '#222', label: 'upstream req/s', line: true }], top),
      ...legendRow([...latency, ...states], top + 16),
      text(
        LEFT,
        noteY,
        'font-size="10" fill="#555"',
        `lane height = ${chart.yMaxRate} calls or requests/s, every lane · logical calls and their latency by start time, ${result.bucketMs} ms buckets`,
      ),
      text(
        LEFT,
        noteY + 13,
        'font-size="10" fill="#555"',
        `latency strip: log scale ${latencyLabel(LATENCY_FLOOR_MS)} to ${latencyLabel(chart.latencyMaxMs)}${bands ? ` · breaker sampled every ${SAMPLE_EVERY_MS} ms` : result.breakers ? '' : ' · breakers off in this scenario'}`,
      ),
    ],
    bottom: noteY + 25,
  };
}

/** The whole picture: the parts on a white background of their height. */
function frame(height: number, parts: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" fill="#222">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
