import { describe, expect, it } from 'vitest';
import type { Metrics } from './metrics.ts';
import { overheadResult, TEST_METHOD } from './overhead.test-util.ts';
import { downPhaseRows, limiterRows, markdownReport } from './report.ts';
import type { ScenarioResult } from './run-scenario.ts';

const lane = (client: string, over: Partial<Metrics>) => ({
  client,
  description: client,
  metrics: {
    logical: 240,
    upstream: 300,
    successRate: 0.9,
    early: 6,
    coolDowns: 4,
    throttled: 60,
    limiter: { perSecond: 20, burst: 20, busyMs: 12_000, goodput: 0.8 },
    latency: { p50: 1_500, p95: 4_000, p99: 6_000 },
    outcomes: {},
    amplification: 1.25,
    whileDown: 0,
    earlyAfterSeen: 0,
    failFastMs: null,
    recoveryMs: null,
    whileOpen: null,
    breakerOpened: false,
    ...over,
  } as Metrics,
});

const result = (lanes: ReturnType<typeof lane>[]): ScenarioResult =>
  ({
    name: 'token-bucket',
    description: 'bucket',
    attemptTimeoutMs: 10_000,
    routes: [{ name: 'customers', rps: 40, phases: [] }],
    loopDelayP99Ms: 10,
    breakers: true,
    lanes,
  }) as unknown as ScenarioResult;

describe('the limiter table', () => {
  it('shows 429s with their share, window arrivals per cool-down, success, goodput and latency, every client', () => {
    const rows = limiterRows(
      result([
        lane('breakwater', {}),
        lane('oracle', { upstream: 240, throttled: 0, early: 0, coolDowns: 0 }),
      ]),
    );
    expect(rows).toEqual([
      ['breakwater', '300', '60 (20.0 %)', '4', '6', '1.50', '90.0 %', '80.0 %', '1500', '6000'],
      ['oracle', '240', '0 (0.0 %)', '0', '0', '0.00', '90.0 %', '80.0 %', '1500', '6000'],
    ]);
  });

  it('is left out of scenarios without one limiter, and says what the limiter is where there is one', () => {
    expect(limiterRows(result([lane('fetch', { limiter: null })]))).toEqual([]);
    const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };
    const report = markdownReport([result([lane('breakwater', {})])], null, [], meta);
    expect(report).toContain('Through the limiter (20/s, 20 at once from rest)');
    expect(report).toContain(
      '| breakwater | 300 | 60 (20.0 %) | 4 | 6 | 1.50 | 90.0 % | 80.0 % | 1500 | 6000 |',
    );
  });
});

describe('the down-phase table', () => {
  it('shows no amplification for a client that sent nothing while down (the oracle), as the JSON keeps it', () => {
    const oracle = lane('oracle', {
      downPhase: {
        durationMs: 5_000,
        requests: 0,
        firstAttempts: 0,
        firstAttemptsBefore: 20,
        amplification: null,
      },
    } as unknown as Partial<Metrics>);
    const rows = downPhaseRows({ ...result([oracle]), breakers: false } as ScenarioResult);
    expect(rows[0]?.slice(0, 5)).toEqual(['oracle', '0', '0', '0', '–']);
  });
});

describe('the loopback pairs table', () => {
  const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };
  const pairs = [
    { client: 'fetch', vsFetch: { median: 1, low: 0.98, high: 1.02 } },
    { client: 'breakwater', vsFetch: { median: 0.97, low: 0.95, high: 0.99 } },
  ];

  it('says how many loopback calls warmed each client before its rounds', () => {
    const method = {
      ...TEST_METHOD,
      loopbackPairRounds: 15,
      loopbackPairCalls: 64,
      loopbackPairWarmup: 15_000,
    };
    const report = markdownReport([], overheadResult({ method, loopbackPairs: pairs }), [], meta);
    expect(report).toContain(
      '15 rounds, after 15000 untimed loopback calls each; the first row is raw fetch',
    );
  });

  it('says nothing of a warm-up for a run from before it was recorded', () => {
    const method = { ...TEST_METHOD, loopbackPairRounds: 15, loopbackPairCalls: 64 };
    const report = markdownReport([], overheadResult({ method, loopbackPairs: pairs }), [], meta);
    expect(report).toContain('15 rounds; the first row is raw fetch');
  });
});

describe('the sustained loopback table', () => {
  const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };

  it('says how each process ran and marks the control', () => {
    const method = { ...TEST_METHOD, sustainedPairs: 7, sustainedCalls: 30_000, sustainedWarmup: 15_000 };
    const loopbackSustained = [
      { client: 'fetch', vsFetch: { median: 1.01, low: 0.98, high: 1.1 } },
      { client: 'breakwater', vsFetch: { median: 1.12, low: 1.05, high: 1.15 } },
    ];
    const report = markdownReport([], overheadResult({ method, loopbackSustained }), [], meta);
    expect(report).toContain('15000 untimed calls, then 30000 timed in one go');
    expect(report).toContain('deferred work counted; 7 pairs of processes per row');
    expect(report).toMatch(/\| fetch \(control\) \| 1\.01x \[0\.98x, 1\.10x\] \|/);
    expect(report).toMatch(/\| breakwater \| 1\.12x \[1\.05x, 1\.15x\] \|/);
  });

  it('says which cores the client and the server ran on, when they were pinned', () => {
    const method = {
      ...TEST_METHOD,
      sustainedPairs: 7,
      sustainedCalls: 30_000,
      sustainedWarmup: 15_000,
      sustainedCores: [0, 1] as const,
    };
    const loopbackSustained = [{ client: 'fetch', vsFetch: { median: 1, low: 0.95, high: 1.07 } }];
    const report = markdownReport([], overheadResult({ method, loopbackSustained }), [], meta);
    expect(report).toContain('counted; the client on core 0, the loopback server on core 1; 7 pairs');
  });

  it('is absent from a run that did not measure it', () => {
    const report = markdownReport([], overheadResult({ method: TEST_METHOD }), [], meta);
    expect(report).not.toContain('throughput held for seconds');
  });
});

describe('the in-memory pairs table', () => {
  const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };

  it('shows each client against its base, as a ratio and in µs, the controls marked', () => {
    const method = { ...TEST_METHOD, memoryPairRounds: 41, memoryPairCalls: 100 };
    const e = (median: number) => ({ median, low: median - 0.1, high: median + 0.1 });
    const memoryPairs = [
      { base: 'fetch', client: 'fetch', vsBase: e(1), aboveBase: e(0) },
      { base: 'fetch', client: 'breakwater', vsBase: e(1.2), aboveBase: e(2) },
    ];
    const report = markdownReport([], overheadResult({ method, memoryPairs }), [], meta);
    expect(report).toContain('per batch the median of 41 rounds');
    expect(report).toContain('| fetch | fetch (control) | 1.00x [0.90x, 1.10x] | 0.00 [-0.10, 0.10] |');
    expect(report).toContain('| fetch | breakwater | 1.20x [1.10x, 1.30x] | 2.00 [1.90, 2.10] |');
  });
});

describe("the table of what breakwater's defaults cost", () => {
  const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };
  const e = (median: number) => ({ median, low: median - 0.1, high: median + 0.1 });

  it('shows each lane less one default against the default lane, the control marked', () => {
    const method = { ...TEST_METHOD, memoryPairRounds: 41, memoryPairCalls: 100 };
    const features = [
      { base: 'breakwater', client: 'breakwater', vsBase: e(1), aboveBase: e(0) },
      {
        base: 'breakwater',
        client: 'breakwater, RateLimit headers not read',
        vsBase: e(0.9),
        aboveBase: e(-1.5),
      },
    ];
    const report = markdownReport([], overheadResult({ method, features }), [], meta);
    expect(report).toContain("What breakwater's defaults cost, in-memory fetch");
    expect(report).toContain('| breakwater (control) | 1.00x [0.90x, 1.10x] | 0.00 [-0.10, 0.10] |');
    expect(report).toContain(
      '| breakwater, RateLimit headers not read | 0.90x [0.80x, 1.00x] | -1.50 [-1.60, -1.40] |',
    );
  });

  it('is left out of a run that did not measure it', () => {
    const report = markdownReport([], overheadResult({ method: TEST_METHOD }), [], meta);
    expect(report).not.toContain("What breakwater's defaults cost");
  });
});
