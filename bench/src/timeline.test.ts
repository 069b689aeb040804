import { describe, expect, it } from 'vitest';
import { bin, latencyBins, runsFromTransitions, StateTimeline, stateAt } from './timeline.ts';

describe('StateTimeline', () => {
  it('folds 50 ms samples into runs per breaker', () => {
    const timeline = new StateTimeline();
    timeline.sample(0, [{ key: 'a', state: 'closed' }]);
    timeline.sample(50, [{ key: 'a', state: 'closed' }]);
    timeline.sample(100, [
      { key: 'a', state: 'open' },
      { key: 'b', state: 'closed' },
    ]);
    timeline.sample(150, [
      { key: 'a', state: 'open' },
      { key: 'b', state: 'closed' },
    ]);
    timeline.sample(200, [{ key: 'a', state: 'half-open' }]);
    expect(timeline.finish(250)).toEqual([
      { key: 'a', state: 'closed', from: 0, to: 100 },
      { key: 'a', state: 'open', from: 100, to: 200 },
      { key: 'b', state: 'closed', from: 100, to: 200 },
      { key: 'a', state: 'half-open', from: 200, to: 250 },
    ]);
    expect(timeline.samples).toBe(5);
  });

  it('refuses samples out of order', () => {
    const timeline = new StateTimeline();
    timeline.sample(100, []);
    expect(() => timeline.sample(50, [])).toThrow(/time order/);
  });
});

describe('runsFromTransitions and stateAt', () => {
  it('rebuilds exact runs from library events, relative to the start', () => {
    const runs = runsFromTransitions(
      [
        { at: 1_100, key: 'a', state: 'open' },
        { at: 1_100, key: 'a', state: 'open' },
        { at: 6_100, key: 'a', state: 'half-open' },
        { at: 6_102, key: 'a', state: 'closed' },
      ],
      1_000,
      10_000,
    );
    expect(runs).toEqual([
      { key: 'a', state: 'open', from: 100, to: 5_100 },
      { key: 'a', state: 'half-open', from: 5_100, to: 5_102 },
      { key: 'a', state: 'closed', from: 5_102, to: 10_000 },
    ]);
    expect(stateAt(runs, 'a', 50)).toBe('closed');
    expect(stateAt(runs, 'a', 3_000)).toBe('open');
    expect(stateAt(runs, 'b', 3_000)).toBe('closed');
  });
});

describe('bin', () => {
  it('counts items per bucket and category, ignoring those outside the run', () => {
    const items = [
      { t: 0, c: 'ok' },
      { t: 99, c: 'ok' },
      { t: 100, c: 'bad' },
      { t: 250, c: 'ok' },
      { t: 300, c: 'ok' },
      { t: -1, c: 'ok' },
    ] as const;
    const out = bin(
      items,
      (i) => i.t,
      (i) => i.c,
      ['ok', 'bad'],
      100,
      300,
    );
    expect(out).toEqual({ ok: [2, 0, 1], bad: [0, 1, 0] });
    expect(() =>
      bin(
        items,
        (i) => i.t,
        (i) => i.c,
        ['ok'],
        0,
        300,
      ),
    ).toThrow(RangeError);
  });
});

describe('latencyBins', () => {
  it('gives p50 and p99 of the calls started in each bucket, null where none started', () => {
    const calls = [
      ...Array.from({ length: 100 }, (_, i) => ({ start: 10, end: 10 + i + 1 })),
      { start: 250, end: 5_250 },
      { start: -5, end: 100 },
      { start: 300, end: 301 },
    ];
    expect(latencyBins(calls, 100, 300)).toEqual({ p50: [50, null, 5_000], p99: [99, null, 5_000] });
    expect(() => latencyBins(calls, 0, 300)).toThrow(RangeError);
  });
});
