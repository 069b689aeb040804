/**
 * One hand-written SVG per scenario: a lane per client with the rate of logical calls stacked by
 * outcome, the upstream request rate as a line, and a band per breaker showing its state over time.
 * White background and dark text, so it reads the same on GitHub's light and dark themes.
 */
import type { BreakerState } from './client.ts';
import { OUTCOMES, type Outcome } from './load.ts';
import type { LaneResult, ScenarioResult } from './run-scenario.ts';

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

/** Renders the chart of one scenario result. */
export function renderScenarioSvg(result: ScenarioResult): string {
  const duration = result.durationMs;
  const bucketsPerSecond = 1000 / result.bucketMs;
  const tx = (t: number): number => LEFT + (Math.min(Math.max(t, 0), duration) / duration) * PLOT_W;
  const n = Math.ceil(duration / result.bucketMs);
  const bx = (i: number): number => tx(i * result.bucketMs);

  let yMax = 1;
  for (const lane of result.lanes) {
    if (!lane.bins) continue;
    for (let i = 0; i < n; i++) {
      yMax = Math.max(
        yMax,
        OUTCOMES.reduce((s, o) => s + (lane.bins?.[o]?.[i] ?? 0), 0),
      );
    }
  }
  // Scaled to the offered load with headroom; an upstream rate above it (retry storms) is clipped at the top.
  const yMaxRate = Math.ceil((1.5 * yMax * bucketsPerSecond) / 10) * 10;

  const out: string[] = [];
  let y = 0;
  out.push(`<text x="${LEFT}" y="20" font-size="14" font-weight="600">${esc(result.name)}</text>`);
  out.push(`<text x="${LEFT}" y="36" font-size="11" fill="#555">${esc(result.description)}</text>`);
  y = 48;

  // Server script, one strip per route.
  for (const route of result.routes) {
    route.phases.forEach((phase, i) => {
      const to = route.phases[i + 1]?.at ?? duration;
      const w = tx(to) - tx(phase.at);
      out.push(
        `<rect x="${r1(tx(phase.at))}" y="${y}" width="${r1(w)}" height="14" fill="${phaseColor(phase)}"/>`,
      );
      if (w > 60) {
        out.push(
          `<text x="${r1(tx(phase.at) + 4)}" y="${y + 10}" font-size="9" fill="#333">${esc(phase.label)}</text>`,
        );
      }
    });
    out.push(
      `<text x="${LEFT - 6}" y="${y + 10}" font-size="10" text-anchor="end" fill="#333">server: ${esc(route.name)}</text>`,
    );
    y += 16;
  }
  y += 8;

  for (const lane of result.lanes) {
    const keys = laneKeys(lane);
    const top = y;
    out.push(
      `<text x="${LEFT - 6}" y="${top + 14}" font-size="11" font-weight="600" text-anchor="end">${esc(lane.client)}</text>`,
    );
    if (!lane.bins || !lane.metrics) {
      out.push(`<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${CHART_H}" fill="#f5f5f5"/>`);
      out.push(
        `<text x="${LEFT + 8}" y="${top + 30}" font-size="11" fill="#555">not run: ${esc(lane.unavailable ?? 'unknown')}</text>`,
      );
      y += CHART_H + LANE_GAP;
      continue;
    }
    const m = lane.metrics;
    out.push(
      `<text x="${LEFT - 6}" y="${top + 27}" font-size="9" text-anchor="end" fill="#555">ok ${(m.successRate * 100).toFixed(1)}% · x${m.amplification.toFixed(2)}</text>`,
    );
    const base = top + CHART_H;
    const yv = (v: number): number => base - Math.min((v * bucketsPerSecond) / yMaxRate, 1) * CHART_H;
    out.push(
      `<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${CHART_H}" fill="#fafafa" stroke="#e0e0e0"/>`,
    );
    const cumulative: number[][] = [];
    let running = new Array<number>(n).fill(0);
    for (const o of OUTCOMES) {
      const counts = lane.bins[o] ?? [];
      running = running.map((v, i) => v + (counts[i] ?? 0));
      cumulative.push(running);
    }
    for (let k = OUTCOMES.length - 1; k >= 0; k--) {
      const outcome = OUTCOMES[k] as Outcome;
      if (!(lane.bins[outcome] ?? []).some((v) => v > 0)) continue;
      out.push(
        `<path d="${stepArea(cumulative[k] as number[], bx, yv, base)}" fill="${OUTCOME_COLORS[outcome]}"/>`,
      );
    }
    if (lane.upstreamBins) {
      out.push(
        `<path d="${stepLine(lane.upstreamBins, bx, yv)}" fill="none" stroke="#222" stroke-width="1"/>`,
      );
    }
    let by = base + 2;
    for (const key of keys) {
      for (const run of (lane.sampledRuns ?? []).filter((r) => r.key === key)) {
        const w = Math.max(tx(run.to) - tx(run.from), 1);
        out.push(
          `<rect x="${r1(tx(run.from))}" y="${by}" width="${r1(w)}" height="${BAND_H}" fill="${STATE_COLORS[run.state]}"/>`,
        );
      }
      for (const run of (lane.eventRuns ?? []).filter((r) => r.key === key && r.state === 'half-open')) {
        out.push(
          `<rect x="${r1(tx(run.from) - 1)}" y="${by}" width="2" height="${BAND_H}" fill="${STATE_COLORS['half-open']}"/>`,
        );
      }
      if (keys.length > 1) {
        out.push(
          `<text x="${LEFT - 6}" y="${by + 8}" font-size="8" text-anchor="end" fill="#555">${esc(key)}</text>`,
        );
      }
      by += BAND_H + 1;
    }
    y = by + LANE_GAP - 2;
  }

  // Time axis.
  const step = duration > 12_000 ? 2_000 : duration > 4_000 ? 1_000 : 500;
  out.push(`<line x1="${LEFT}" y1="${y}" x2="${LEFT + PLOT_W}" y2="${y}" stroke="#999"/>`);
  for (let t = 0; t <= duration; t += step) {
    out.push(`<line x1="${r1(tx(t))}" y1="${y}" x2="${r1(tx(t))}" y2="${y + 4}" stroke="#999"/>`);
    out.push(
      `<text x="${r1(tx(t))}" y="${y + 14}" font-size="9" text-anchor="middle" fill="#333">${t / 1000}s</text>`,
    );
  }
  y += 28;

  // Legend.
  let lx = LEFT;
  const legend = (color: string, label: string, line = false): void => {
    out.push(
      line
        ? `<line x1="${lx}" y1="${y - 4}" x2="${lx + 12}" y2="${y - 4}" stroke="${color}" stroke-width="2"/>`
        : `<rect x="${lx}" y="${y - 9}" width="12" height="9" fill="${color}"/>`,
    );
    out.push(`<text x="${lx + 16}" y="${y}" font-size="10" fill="#333">${esc(label)}</text>`);
    lx += 22 + label.length * 5.6;
  };
  for (const o of OUTCOMES) legend(OUTCOME_COLORS[o], o);
  legend('#222', 'upstream req/s', true);
  y += 16;
  lx = LEFT;
  for (const s of ['closed', 'open', 'half-open'] as const) legend(STATE_COLORS[s], `breaker ${s}`);
  // The note gets a line of its own: beside the breaker legend it ran past the right edge.
  y += 14;
  lx = LEFT;
  out.push(
    `<text x="${lx}" y="${y}" font-size="10" fill="#555">lane height = ${yMaxRate} calls/s (upstream clipped above) · logical calls by start time, ${result.bucketMs} ms buckets · breaker sampled every 50 ms</text>`,
  );
  y += 12;

  const height = y;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" fill="#222">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...out,
    '</svg>',
    '',
  ].join('\n');
}
