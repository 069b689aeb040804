/**
 * The fleet part in the bench's command line, targets, report and console summary, from a recorded
 * result (no run): what a reader of the report and the console relies on.
 */
import { describe, expect, it } from 'vitest';
import { parseCommandLine } from '../cli.ts';
import { CONSOLE_WIDTH, consoleSummary, targetsLine } from '../console.ts';
import { markdownReport } from '../report.ts';
import { checkTargets } from '../targets.ts';
import type { FleetResult } from './run-fleet.ts';

const outage = (max: number, failures: number) => ({
  openedAt: [1400, 1450, 1300, 1350],
  maxPerInterval: max,
  meanPerInterval: max * 0.9,
  failuresBeforeOpen: failures,
  inFlightAtOpen: 8,
  downRequests: 40,
  storeDowns: 0,
});
const throttle = (inWindow: number) => ({
  requests: 70,
  throttled: 8,
  coolDowns: 2,
  inWindow,
  perCoolDown: inWindow / 2,
  calls: 64,
  ok: 64,
  storeDowns: 0,
});
const FLEET: FleetResult = {
  instances: 4,
  scale: 1,
  wallMs: 25_000,
  halfOpenMs: 1000,
  threshold: 5,
  outage: { description: 'an outage', independent: outage(4, 22), shared: outage(1, 12) },
  throttle: { description: 'a bucket', independent: throttle(18), shared: throttle(6) },
  broken: {
    description: 'one broken',
    instances: [
      { id: 0, broken: true, calls: 50, successRate: 0, breaks: 5, storeDowns: 0 },
      ...[1, 2, 3].map((id) => ({ id, broken: false, calls: 50, successRate: 1, breaks: 0, storeDowns: 0 })),
    ],
  },
  redisKill: {
    description: 'Redis killed',
    figures: {
      killAt: 2500,
      restartAt: 4500,
      calls: 360,
      failed: 0,
      p99Before: 11,
      p99Down: 29,
      addedP99: 18,
      sawDown: 4,
      storeUpMs: 300,
      pulses: [{ at: 3000, until: 4000, instance: 1, others: 3, waiting: 5, shared: false }],
      closureSharedMs: 1200,
      resumedMs: 1200,
    },
  },
};
const meta = { date: 'd', node: 'n', cpus: 'c', totalMs: 1, clients: [] };

describe('the fleet part in the bench', () => {
  it('runs on a full run and with --scenario fleet; --no-fleet leaves it out and cannot publish', () => {
    expect(parseCommandLine([])?.withFleet).toBe(true);
    expect(parseCommandLine(['--scenario', 'outage'])?.withFleet).toBe(false);
    const alone = parseCommandLine(['--scenario', 'fleet']);
    expect(alone?.withFleet).toBe(true);
    expect(alone?.scenarios).toEqual([]);
    const both = parseCommandLine(['--scenario', 'outage,fleet']);
    expect(both?.scenarios.map((s) => s.name)).toEqual(['outage']);
    expect(both?.withFleet).toBe(true);
    expect(parseCommandLine(['--no-fleet'])?.withFleet).toBe(false);
    expect(() => parseCommandLine(['--no-fleet', '--publish'])).toThrow(/--publish .* takes a full run/);
  });

  it('one target per "Done when" line, met or missed from the figures, counted on the console', () => {
    const targets = checkTargets([], null, FLEET);
    expect(targets.map((t) => [t.target.split(':')[0], t.met])).toEqual([
      ['fleet outage', true],
      ['fleet outage', true],
      ['fleet throttle', false],
      ['fleet broken network', true],
      ['fleet Redis killed', true],
      ['fleet Redis killed', true],
      ['fleet Redis killed', true],
    ]);
    expect(targets[2]?.miss).toBe('2.00 per cool-down over');
    expect(targets[0]?.measured).toBe(
      'shared at most 1 in any 1000 ms (mean 0.90); independent at most 4 in any 1000 ms (mean 3.60)',
    );
    expect(targetsLine(targets)).toBe('targets: 6 met, 1 missed');
    expect(checkTargets([], null)).toEqual([]);
  });

  it('a run that measured nothing meets nothing: no healthy instance reported, no call made', () => {
    const [sick] = FLEET.broken?.instances ?? [];
    const figures = FLEET.redisKill?.figures;
    if (!sick || !figures) throw new Error('fixture');
    const empty: FleetResult = {
      ...FLEET,
      broken: { description: 'one broken', instances: [sick] },
      redisKill: { description: 'Redis killed', figures: { ...figures, calls: 0 } },
    };
    const met = (name: string) => checkTargets([], null, empty).find((t) => t.target.startsWith(name))?.met;
    expect(met('fleet broken network')).toBe(false);
    expect(met('fleet Redis killed: 0 calls fail')).toBe(false);
  });

  it('a missing redis-server: every fleet target n/a with the reason, the section and console say it', () => {
    const missing: FleetResult = {
      instances: 4,
      scale: 1,
      wallMs: 0,
      halfOpenMs: 1000,
      threshold: 5,
      unavailable: 'redis-server not found',
    };
    const targets = checkTargets([], null, missing);
    expect(targets).toHaveLength(7);
    expect(targetsLine(targets)).toBe('targets: 0 met, 0 missed (7 not judged by this run)');
    expect(markdownReport([], null, targets, meta, missing)).toContain('Not run: redis-server not found.');
    expect(consoleSummary([], targets, 'r.md', missing)).toContain('fleet not run: redis-server not found');
  });

  it('a report section with a table per run, and console lines within the width', () => {
    const report = markdownReport([], null, checkTargets([], null, FLEET), meta, FLEET);
    expect(report).toContain('## Fleet (issue 14)');
    for (const heading of [
      '### Outage: an outage',
      '### Throttle: a bucket',
      '### One broken instance: one broken',
      '### Redis killed: Redis killed',
    ]) {
      expect(report).toContain(heading);
    }
    expect(report).toContain(
      '| shared (Redis) | 1.40 s, 1.45 s, 1.30 s, 1.35 s | 40 | 12 | 5 + 8 | 1 | 0.90 | 0 |',
    );
    expect(report).toContain('| p99 added while down | 18.0 ms |');
    expect(report).toContain('3.00 s: 3 of 5 (Redis down)');
    const lines = consoleSummary([], checkTargets([], null, FLEET), 'r.md', FLEET);
    expect(lines).toContain('  outage: most per half-open interval while down: independent 4, shared 1');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(CONSOLE_WIDTH);
  });
});
