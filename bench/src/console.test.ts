/**
 * The end-of-run summary: narrow enough for a terminal, and ending on the count of targets met and missed.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONSOLE_WIDTH, consoleSummary, targetsLine, wrap } from './console.ts';
import type { ScenarioResult } from './run-scenario.ts';
import type { TargetCheck } from './targets.ts';

const latest = JSON.parse(readFileSync(new URL('../results/latest.json', import.meta.url), 'utf8')) as {
  readonly targets: TargetCheck[];
  readonly scenarios: ScenarioResult[];
};
const report = 'bench/out/report.md';

describe('the console summary', () => {
  it('prints no line wider than 100 columns for the committed full run', () => {
    const lines = consoleSummary(latest.scenarios, latest.targets, report);
    expect(lines.length).toBeGreaterThan(latest.scenarios.length * 3);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(CONSOLE_WIDTH).toBe(100);
  });

  it('shows every scenario and every client that ran, and points to the report with the wide tables', () => {
    const text = consoleSummary(latest.scenarios, latest.targets, report).join('\n');
    for (const s of latest.scenarios) {
      expect(text).toContain(`${s.name}: `);
      for (const lane of s.lanes) expect(text).toContain(lane.client);
    }
    expect(text).toContain(report);
  });

  it('keeps long descriptions, reasons and target texts within 100 columns', () => {
    const [first] = latest.scenarios as [ScenarioResult];
    const long = 'a very long sentence '.repeat(20);
    const result: ScenarioResult = {
      ...first,
      description: long,
      lanes: [...first.lanes, { client: 'x', description: '', unavailable: `${long}${'z'.repeat(150)}` }],
    };
    const targets: TargetCheck[] = [{ target: long, met: false, measured: long, miss: 'y'.repeat(120) }];
    for (const line of consoleSummary([result], targets, report))
      expect(line.length).toBeLessThanOrEqual(100);
  });

  it('ends on `targets: N met, M missed` counted from the checks', () => {
    const lines = consoleSummary(latest.scenarios, latest.targets, report);
    const met = latest.targets.filter((t) => t.met === true).length;
    const missed = latest.targets.filter((t) => t.met === false).length;
    expect(lines.at(-1)).toMatch(new RegExp(`^targets: ${met} met, ${missed} missed`));
  });

  it('counts missed targets and says how many this run could not judge', () => {
    const t = (met: boolean | null): TargetCheck => ({ target: 't', met, measured: 'm' });
    expect(targetsLine([t(true), t(true), t(false), t(null)])).toBe(
      'targets: 2 met, 1 missed (1 not judged by this run)',
    );
    expect(targetsLine([t(false)])).toBe('targets: 0 met, 1 missed');
    const noDifference: TargetCheck = { ...t(null), verdict: 'no difference' };
    expect(targetsLine([t(true), noDifference, t(null)])).toBe(
      'targets: 1 met, 0 missed (1 no difference, 1 not judged by this run)',
    );
    expect(consoleSummary([], [], report).at(-1)).toBe('targets: 0 met, 0 missed');
  });
});

describe('wrap', () => {
  it('breaks at spaces, indents what follows and keeps padding', () => {
    expect(wrap('   met  aaa bbb ccc', 12, '  ')).toEqual(['   met  aaa', '  bbb ccc']);
  });
});
