import { describe, expect, it } from 'vitest';
import { OUTCOMES, type Outcome } from './load.ts';
import type { Metrics } from './metrics.ts';
import type { ScenarioResult } from './run-scenario.ts';
import { renderScenarioSvg } from './svg.ts';

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
