/**
 * One hand-written SVG per scenario: a lane per client with the rate of logical calls stacked by
 * outcome, the upstream request rate as a line, and a band per breaker showing its state over time.
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
const BAND_H = 9;
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
  /** Calls per second at the top of a lane. */
  readonly yMaxRate: number;
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
  // Scaled to the offered load with headroom; an upstream rate above it (retry storms) is clipped at the top.
  const yMaxRate = Math.ceil((1.5 * mostCallsInABucket(result, n) * bucketsPerSecond) / 10) * 10;
  return { result, duration, n, bucketsPerSecond, yMaxRate, tx, bx: (i) => tx(i * result.bucketMs) };
}

/** The most logical calls any lane started in one bucket, at least 1. */
function mostCallsInABucket(result: ScenarioResult, n: number): number {
  let most = 1;
  for (const lane of result.lanes) {
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
  const yv = (v: number): number =>
    base - Math.min((v * chart.bucketsPerSecond) / chart.yMaxRate, 1) * CHART_H;
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
  ];
  if (lane.upstreamBins) {
    lines.push(
      `<path d="${stepLine(lane.upstreamBins, chart.bx, yv)}" fill="none" stroke="#222" stroke-width="1"/>`,
    );
  }
  const bands = breakerBands(chart, lane, base + 2);
  return { lines: [...lines, ...bands.lines], bottom: bands.bottom + LANE_GAP - 2 };
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
  const outcomes = OUTCOMES.map((o): LegendItem => ({ color: OUTCOME_COLORS[o], label: o }));
  const states = (['closed', 'open', 'half-open'] as const).map(
    (s): LegendItem => ({ color: STATE_COLORS[s], label: `breaker ${s}` }),
  );
  // The note gets a line of its own: beside the breaker legend it ran past the right edge.
  const noteY = top + 16 + 14;
  return {
    lines: [
      ...legendRow([...outcomes, { color: '#222', label: 'upstream req/s', line: true }], top),
      ...legendRow(states, top + 16),
      text(
        LEFT,
        noteY,
        'font-size="10" fill="#555"',
        `lane height = ${chart.yMaxRate} calls/s (upstream clipped above) · logical calls by start time, ${chart.result.bucketMs} ms buckets · breaker sampled every ${SAMPLE_EVERY_MS} ms`,
      ),
    ],
    bottom: noteY + 12,
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
