/**
 * Progress from the first second, with the time expected to remain; off a terminal, a few lines per
 * scenario rather than one per tick.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  LOG_EVERY_MS,
  OVERHEAD_ESTIMATE_MS,
  type ProgressPlan,
  ProgressReporter,
  type ProgressStream,
  planned,
  SCENARIO_EXTRA_MS,
} from './progress.ts';

function stream(isTTY: boolean): ProgressStream & { readonly out: string[] } {
  const out: string[] = [];
  return { isTTY, columns: 200, out, write: (text: string) => out.push(text) };
}

const plan: ProgressPlan = {
  scenarios: [
    planned({ name: 'outage', durationMs: 22_000 }, 1),
    planned({ name: 'flap', durationMs: 6_000 }, 1),
  ],
  overhead: true,
};
const total = 22_000 + 6_000 + 2 * SCENARIO_EXTRA_MS + OVERHEAD_ESTIMATE_MS;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('progress', () => {
  it('says at once what will run and how long it is expected to take', () => {
    const s = stream(false);
    new ProgressReporter(plan, s, () => Date.now()).start();
    expect(s.out).toEqual([`bench: 2 scenarios and the overhead, ~${Math.round(total / 1000)} s expected\n`]);
  });

  it('off a terminal: a line at each scenario start, then at most one per LOG_EVERY_MS', () => {
    const s = stream(false);
    const p = new ProgressReporter(plan, s, () => Date.now());
    p.start();
    p.scenario(0);
    expect(s.out[1]).toBe('[1/2] outage 0.0 s/22 s · elapsed 0.0 s · ~74 s left\n');
    vi.advanceTimersByTime(22_000);
    // 22 s of a scenario at one tick a second: the start line and two more, not 22.
    expect(s.out).toHaveLength(1 + 1 + Math.floor(22_000 / LOG_EVERY_MS));
    expect(s.out[2]).toBe('[1/2] outage 10 s/22 s · elapsed 10 s · ~64 s left\n');
    p.scenario(1);
    expect(s.out.at(-1)).toBe('[2/2] flap 0.0 s/6.0 s · elapsed 22 s · ~52 s left\n');
    p.stop();
    for (const line of s.out) expect(line.length).toBeLessThanOrEqual(101);
  });

  it('on a terminal: the line is rewritten every second, elapsed up and expected remaining down', () => {
    const s = stream(true);
    const p = new ProgressReporter(plan, s, () => Date.now());
    p.start();
    p.scenario(0);
    p.update({
      scenario: 'outage',
      elapsedMs: 900,
      durationMs: 22_000,
      lanes: [{ client: 'ky', started: 9, settled: 8 }],
    });
    vi.advanceTimersByTime(3_000);
    const ticks = s.out.filter((t) => t.startsWith('\r\x1b[2K['));
    expect(ticks).toHaveLength(1 + 3);
    expect(ticks.at(-1)).toBe('\r\x1b[2K[1/2] outage 3.0 s/22 s · elapsed 3.0 s · ~71 s left · ky 8/9');
    p.stop();
    expect(s.out.at(-1)).toBe('\r\x1b[2K');
  });

  it('expects the overhead benchmark after the last scenario, and a late scenario to end now', () => {
    const p = new ProgressReporter(plan, stream(false), () => Date.now());
    p.scenario(1);
    vi.advanceTimersByTime(20_000);
    expect(p.remainingMs()).toBe(OVERHEAD_ESTIMATE_MS);
    p.overhead();
    vi.advanceTimersByTime(5_000);
    expect(p.remainingMs()).toBe(OVERHEAD_ESTIMATE_MS - 5_000);
    expect(p.line()).toBe('overhead benchmark 5.0 s · elapsed 25 s · ~40 s left');
  });

  it('scales the script, not the time a scenario takes beyond it', () => {
    expect(planned({ name: 'x', durationMs: 10_000 }, 0.5)).toEqual({
      name: 'x',
      durationMs: 5_000,
      expectedMs: 5_000 + SCENARIO_EXTRA_MS,
    });
  });
});
