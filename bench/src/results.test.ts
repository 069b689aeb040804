/**
 * The committed full run (bench/results/) rendered again by the code as it is: the charts, the targets
 * and the Markdown report must come out byte for byte as committed. It holds the renderers to their
 * output while they are restructured, and the committed files to the code that claims to produce them
 * (a change to what they show reruns `pnpm bench --publish` and commits the new results with it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FleetResult } from './fleet/run-fleet.ts';
import type { OverheadResult } from './overhead.ts';
import { markdownReport, type ReportMeta } from './report.ts';
import type { ScenarioResult } from './run-scenario.ts';
import { renderScenarioSvg } from './svg.ts';
import { checkTargets, type TargetCheck } from './targets.ts';

const dir = new URL('../results/', import.meta.url);
const read = (name: string): string => readFileSync(new URL(name, dir), 'utf8');

const latest = JSON.parse(read('latest.json')) as {
  readonly meta: ReportMeta;
  readonly targets: TargetCheck[];
  readonly scenarios: ScenarioResult[];
  readonly overhead: OverheadResult | null;
  readonly fleet?: FleetResult;
};

describe('the committed full run, rendered again', () => {
  it.each(latest.scenarios.map((s) => [s.name, s] as const))('%s.svg is identical', (name, result) => {
    expect(renderScenarioSvg(result)).toBe(read(`${name}.svg`));
  });

  it('checks the same targets with the same words', () => {
    expect(checkTargets(latest.scenarios, latest.overhead, latest.fleet)).toEqual(latest.targets);
  });

  it('writes the same report.md', () => {
    expect(markdownReport(latest.scenarios, latest.overhead, latest.targets, latest.meta, latest.fleet)).toBe(
      read('report.md'),
    );
  });
});
