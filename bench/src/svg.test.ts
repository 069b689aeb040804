import { describe, expect, it } from 'vitest';
import { OUTCOMES, type Outcome } from './load.ts';
import type { Metrics } from './metrics.ts';
import type { ScenarioResult } from './run-scenario.ts';
import { LATENCY_COLORS, niceCeil, renderScenarioSvg, STATE_COLORS } from './svg.ts';

const n = 40;
const bins = Object.fromEntries(
  OUTCOMES.map((o) => [o, new Array<number>(n).fill(o === 'ok' ? 10 : 0)]),
) as Record<Outcome, number[]>;
bins['fail-fast'] = new Array<number>(n).fill(0).map((_, i) => (i > 10 && i < 30 ? 10 : 0));

const metrics = { successRate: 0.75, amplification: 0.6 } as Metrics;

const result: ScenarioResult = {
  name: 'outage',
  description: 'healthy <then> down & back',
  scale: 1,
  durationMs: 10_000,
  attemptTimeoutMs: 10_000,
  breakers: true,
  bucketMs: 250,
  loopDelayP99Ms: 1,
  routes: [
    {
      name: 'customers',
      rps: 40,
      phases: [
        { at: 0, label: 'healthy', down: false },
        { at: 2_000, label: 'outage 500', down: true },
      ],
    },
  ],
  lanes: [
    {
      client: 'breakwater',
      description: 'd',
      metrics,
      bins,
      upstreamBins: new Array<number>(n).fill(3),
      latencyBins: {
        p50: new Array<number | null>(n).fill(4).map((v, i) => (i === 5 ? null : v)),
        p99: new Array<number | null>(n).fill(900).map((v, i) => (i === 5 ? null : v)),
      },
      sampledRuns: [
        { key: 'customers', state: 'closed', from: 0, to: 2_100 },
        { key: 'customers', state: 'open', from: 2_100, to: 10_000 },
      ],
      eventRuns: [{ key: 'customers', state: 'half-open', from: 7_100, to: 7_101 }],
    },
    { client: 'other', description: 'd', unavailable: 'missing <dep>' },
  ],
};

describe('renderScenarioSvg', () => {
  const svg = renderScenarioSvg(result);

  it('is a standalone SVG on a white background', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('fill="#ffffff"');
  });

  it('draws a lane per client with outcome areas, the upstream line and the breaker band', () => {
    expect(svg).toContain('>breakwater</text>');
    expect(svg).toContain('fill="#59a14f"'); // ok area
    expect(svg).toContain('fill="#4e79a7"'); // fail-fast area
    expect(svg).toContain('stroke="#222"'); // upstream line
    expect(svg).toContain('fill="#c0392b"'); // open band
    expect(svg).toContain('not run: missing &lt;dep&gt;');
    expect(svg).toContain('healthy &lt;then&gt; down &amp; back');
    expect(svg).not.toMatch(/NaN|undefined/);
  });

  it('stays small', () => {
    expect(svg.length).toBeLessThan(200_000);
  });
});

/** The y of the top of each drawn lane, and the y values the upstream lines reach, in lane order. */
function laneTops(svg: string): number[] {
  return [...svg.matchAll(/<rect x="\d+" y="([\d.]+)"[^>]*fill="#fafafa"/g)].map((m) => Number(m[1]));
}
function upstreamYs(svg: string): number[][] {
  return [...svg.matchAll(/<path d="([^"]+)" fill="none" stroke="#222"/g)].map((m) =>
    [...(m[1] as string).matchAll(/(?:,|V)([\d.]+)/g)].map((v) => Number(v[1])),
  );
}

const plainLane = (client: string, upstream: number, runs: LaneResultRuns = {}) => ({
  client,
  description: 'd',
  metrics,
  bins,
  upstreamBins: new Array<number>(n).fill(upstream).map((v, i) => (i === 20 ? v * 4 : v)),
  latencyBins: { p50: new Array<number | null>(n).fill(3), p99: new Array<number | null>(n).fill(40) },
  ...runs,
});
type LaneResultRuns = Pick<ScenarioResult['lanes'][number], 'sampledRuns' | 'eventRuns'>;

describe('the charts show latency, an unclipped load scale and only what a client has', () => {
  it('draws a p50 and a p99 latency line in every lane that ran, broken where a bucket had no call', () => {
    const svg = renderScenarioSvg({
      ...result,
      lanes: [...result.lanes, plainLane('fetch', 10)],
    });
    for (const p of ['p50', 'p99'] as const) {
      const paths = [
        ...svg.matchAll(new RegExp(`<path d="([^"]+)" fill="none" stroke="${LATENCY_COLORS[p]}"`, 'g')),
      ];
      expect(paths).toHaveLength(2);
      // breakwater's lane has no call in bucket 5: the line starts again after it.
      expect((paths[0]?.[1] ?? '').match(/M/g)).toHaveLength(2);
    }
    expect(svg).toContain('p50 latency');
    expect(svg).toContain('latency strip: log scale 1 ms to 1 s');
  });

  it('fits every lane on one scale that holds the highest upstream rate, and prints it', () => {
    // 10 calls per 250 ms bucket; fetch's upstream peaks at 30 per bucket (120/s), the other at 12.
    const svg = renderScenarioSvg({
      ...result,
      lanes: [plainLane('breakwater', 3), plainLane('fetch', 7.5)],
    });
    const tops = laneTops(svg);
    const ys = upstreamYs(svg);
    expect(tops).toHaveLength(2);
    ys.forEach((lane, i) => {
      expect(Math.min(...lane)).toBeGreaterThanOrEqual(tops[i] as number);
    });
    // fetch's peak reaches 120/200 of its lane, breakwater's 12 x 4 = 48/200: not both at the top.
    expect(Math.min(...(ys[1] ?? []))).toBeCloseTo((tops[1] as number) + 54 * (1 - 120 / 200), 0);
    expect(Math.min(...(ys[0] ?? []))).toBeCloseTo((tops[0] as number) + 54 * (1 - 48 / 200), 0);
    expect(svg).toContain('>200/s</text>');
    expect(svg).toContain('lane height = 200 calls or requests/s, every lane');
    expect(niceCeil(120)).toBe(200);
    expect(niceCeil(40)).toBe(50);
    expect(niceCeil(0.5)).toBe(1);
  });

  it('draws no breaker band for a client without breakers, nor for any client when the scenario turns them off', () => {
    const withBreaker = plainLane('breakwater', 3, {
      sampledRuns: [{ key: 'customers', state: 'closed', from: 0, to: 10_000 }],
      eventRuns: [],
    });
    const on = renderScenarioSvg({ ...result, lanes: [plainLane('fetch', 3), withBreaker] });
    expect(on.match(new RegExp(`fill="${STATE_COLORS.closed}"`, 'g'))).toHaveLength(2); // band + legend
    const fetchOnly = renderScenarioSvg({ ...result, lanes: [plainLane('fetch', 3)] });
    expect(fetchOnly).not.toContain(STATE_COLORS.closed);
    expect(fetchOnly).not.toContain('breaker closed');
    const off = renderScenarioSvg({
      ...result,
      breakers: false,
      lanes: [plainLane('fetch', 3), withBreaker],
    });
    expect(off).not.toContain(STATE_COLORS.closed);
    expect(off).not.toContain('breaker closed');
    expect(off).toContain('breakers off in this scenario');
  });
});
