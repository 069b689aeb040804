import { describe, expect, it } from 'vitest';
import { mulberry32 } from './prng.ts';
import { decide, downIntervals, type Phase, phaseAt, scalePhases, validatePhases } from './schedule.ts';

const outage: Phase[] = [
  { at: 0, label: 'healthy' },
  { at: 2_000, label: 'outage', down: true, status: 500 },
  { at: 14_000, label: 'recovered' },
];

describe('phaseAt', () => {
  it('follows the script by time from the start', () => {
    expect(phaseAt(outage, -5).label).toBe('healthy');
    expect(phaseAt(outage, 1_999.9).label).toBe('healthy');
    expect(phaseAt(outage, 2_000).label).toBe('outage');
    expect(phaseAt(outage, 13_999).label).toBe('outage');
    expect(phaseAt(outage, 60_000).label).toBe('recovered');
  });
});

describe('validatePhases', () => {
  it('rejects scripts that cannot be followed', () => {
    expect(() => validatePhases([])).toThrow(/at least one phase/);
    expect(() => validatePhases([{ at: 5, label: 'late' }])).toThrow(/start at 0/);
    expect(() =>
      validatePhases([
        { at: 0, label: 'a' },
        { at: 0, label: 'b' },
      ]),
    ).toThrow(/not after "a"/);
    expect(() =>
      validatePhases([
        {
          at: 0,
          label: 'x',
          faults: [
            { p: 0.7, status: 503 },
            { p: 0.4, reset: true },
          ],
        },
      ]),
    ).toThrow(/sum to <= 1/);
    expect(() =>
      validatePhases([
        {
          at: 0,
          label: 'both',
          throttle: { perSecond: 1, retryAfterS: 1 },
          bucket: { perSecond: 1, burst: 1 },
        },
      ]),
    ).toThrow(/"both": a throttle and a bucket cannot share a phase/);
  });
});

describe('scalePhases and downIntervals', () => {
  it('shrinks every start and keeps the down stretches', () => {
    const scaled = scalePhases(outage, 0.25);
    expect(scaled.map((p) => p.at)).toEqual([0, 500, 3_500]);
    expect(downIntervals(scaled, 5_500)).toEqual([[500, 3_500]]);
    expect(() => scalePhases(outage, 0)).toThrow(RangeError);
  });

  it('merges adjacent down phases and runs the last one to the end', () => {
    const phases: Phase[] = [
      { at: 0, label: 'a', down: true },
      { at: 10, label: 'b', down: true },
      { at: 20, label: 'c' },
      { at: 30, label: 'd', down: true },
    ];
    expect(downIntervals(phases, 50)).toEqual([
      [0, 20],
      [30, 50],
    ]);
  });
});

describe('decide', () => {
  const flaky: Phase = {
    at: 0,
    label: 'flaky',
    faults: [
      { p: 0.1, status: 503, retryAfterS: 1 },
      { p: 0.02, reset: true },
    ],
  };

  it('draws the same answers from the same seed', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const run = (r: () => number) => Array.from({ length: 200 }, () => decide(flaky, r));
    expect(run(a)).toEqual(run(b));
  });

  it('fails about the configured share of requests', () => {
    const random = mulberry32(7);
    const n = 20_000;
    const answers = Array.from({ length: n }, () => decide(flaky, random));
    const s503 = answers.filter((d) => d.kind === 'respond' && d.status === 503).length / n;
    const resets = answers.filter((d) => d.kind === 'reset').length / n;
    expect(s503).toBeGreaterThan(0.09);
    expect(s503).toBeLessThan(0.11);
    expect(resets).toBeGreaterThan(0.015);
    expect(resets).toBeLessThan(0.025);
    expect(answers.find((d) => d.kind === 'respond' && d.status === 503)).toMatchObject({ retryAfterS: 1 });
  });

  it('answers a fixed status during an outage and delays a share of slow responses', () => {
    expect(decide(outage[1] as Phase, mulberry32(1))).toEqual({ kind: 'respond', status: 500, delayMs: 0 });
    const random = mulberry32(3);
    const slow: Phase = { at: 0, label: 'slow', slow: { p: 0.2, delayMs: 3_000 } };
    const delays = Array.from({ length: 5_000 }, () => decide(slow, random)).map((d) =>
      d.kind === 'respond' ? d.delayMs : -1,
    );
    const share = delays.filter((d) => d === 3_000).length / delays.length;
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.23);
    expect(delays.every((d) => d === 0 || d === 3_000)).toBe(true);
  });
});
