import { describe, expect, it } from 'vitest';
import { lane, outcomes } from './metrics.test-util.ts';
import type { DownPhaseSummary } from './metrics.ts';
import { duration, readingOf } from './readings.ts';
import { markdownReport } from './report.ts';
import type { LaneResult, ScenarioResult } from './run-scenario.ts';

const scenario = (lanes: LaneResult[], over: Partial<ScenarioResult> = {}): ScenarioResult => ({
  name: 'outage',
  description: 'healthy, down, back',
  scale: 1,
  durationMs: 22_000,
  attemptTimeoutMs: 10_000,
  breakers: true,
  bucketMs: 250,
  loopDelayP99Ms: 1,
  routes: [{ name: 'customers', rps: 40, phases: [] }],
  lanes,
  ...over,
});

const outage = scenario([
  lane('fetch', { successRate: 0.455, latency: { p50: 3, p95: 40, p99: 52 }, recoveryMs: 4 }),
  lane('p-retry', {
    successRate: 0.773,
    amplification: 2.45,
    latency: { p50: 1_080, p95: 7_000, p99: 7_075 },
    recoveryMs: 4.2,
  }),
  { client: 'opossum', description: 'opossum', unavailable: 'not installed' },
  lane('breakwater', {
    successRate: 0.311,
    amplification: 0.32,
    latency: { p50: 0.78, p95: 9, p99: 17 },
    failFastMs: 127.6,
    recoveryMs: 3_157,
    whileOpen: { calls: 600, p99: 5.15 },
    breakerOpened: true,
    outcomes: outcomes({ ok: 311, 'fail-fast': 600 }),
  }),
  lane('breakwater-pc', { successRate: 0.99 }),
]);

describe('the reading under a chart', () => {
  it('in an outage: fails fast while down, returns later because of the breaker, and says what the peers paid', () => {
    expect(readingOf(outage)).toBe(
      'breakwater got 31.1 % of calls through (p50 0.8 ms, p99 17 ms, x0.32 requests per call); the most among ' +
        'the others, p-retry, 77.3 % (p99 7.1 s, x2.45). While the upstream was down it failed fast from 128 ms ' +
        'after the outage began (p99 5.2 ms while its breaker was open), at the cost of a slower return: its first ' +
        'success came 3.2 s after the upstream healed against 4.0 ms for fetch, because its breaker stays open ' +
        "until its half-open probe. p-retry's higher success comes from waiting: its p99 is 7.1 s against " +
        "breakwater's 17 ms, and from sending x2.45 requests per call against x0.32; fetch's (45.5 %) from " +
        "sending every call upstream (x1.00 requests per call against x0.32) where breakwater's breaker rejected " +
        '600 calls untried.',
    );
  });

  it('tells the second better peer by what it sent even when its own p99 passed a second (a loaded machine)', () => {
    const loaded = scenario(
      outage.lanes.map((l) =>
        l.client === 'fetch' && l.metrics
          ? { ...l, metrics: { ...l.metrics, latency: { p50: 26, p95: 900, p99: 1_307 } } }
          : l,
      ),
    );
    expect(readingOf(loaded)).toContain(
      "fetch's (45.5 %) from sending every call upstream (x1.00 requests per call against x0.32) where breakwater's breaker rejected 600 calls untried.",
    );
  });

  it('does not call a return slower when breakwater came back with its peers', () => {
    const quick = scenario([
      lane('fetch', { recoveryMs: 4 }),
      lane('breakwater', { failFastMs: 100, recoveryMs: 300 }),
    ]);
    expect(readingOf(quick)).toContain(
      'While the upstream was down it failed fast from 100 ms after the outage began, and its first success came 300 ms after the upstream healed.',
    );
    expect(readingOf(quick)).not.toContain('slower return');
  });

  it('with breakers off: what retries alone multiplied the load on the failing upstream by', () => {
    const down = (amplification: number): DownPhaseSummary => ({
      durationMs: 10_000,
      requests: 100 * amplification,
      firstAttempts: 100,
      firstAttemptsBefore: 80,
      amplification,
    });
    const budget = scenario(
      [
        lane('cockatiel', { successRate: 0.2, downPhase: down(3.92), amplification: 3.48 }),
        lane('breakwater', { successRate: 0.175, downPhase: down(1.25), amplification: 1.22 }),
      ],
      { breakers: false },
    );
    expect(readingOf(budget)).toContain(
      'With breakers off, retries alone multiplied the load on the failing upstream by x1.25 for breakwater, held by its retry budget, against x3.92 for cockatiel.',
    );
  });

  it('behind a limiter: what it used of the limit and what it was refused, beside the oracle', () => {
    const limited = scenario([
      lane('ky', { successRate: 0.69, throttled: 266, earlyAfterSeen: 391, amplification: 1.8 }),
      lane('breakwater', {
        latency: { p50: 2_584, p95: 6_000, p99: 6_402 },
        throttled: 4,
        limiter: { perSecond: 20, burst: 20, busyMs: 12_000, goodput: 0.93 },
      }),
      lane('oracle', { latency: { p50: 2_044, p95: 4_800, p99: 4_993 } }),
    ]);
    expect(readingOf(limited)).toBe(
      'breakwater got 100.0 % of calls through (p50 2.6 s, p99 6.4 s, x1.00 requests per call); the most among ' +
        'the others, ky, 69.0 % (p99 20 ms, x1.80); the oracle, which knows the fault script, 100.0 % (p99 5.0 s, ' +
        'x1.00), so breakwater got 1.00x the success of the limit. ' +
        'Through the 20/s limiter it used 93.0 % of what the limiter admitted, with 4 requests refused (429) and 0 ' +
        'sent inside a Retry-After it had received, against 266 refused and 391 such for ky. No other client got ' +
        'more through; ky sent the most, x1.80 requests per call.',
    );
  });

  it('counts one refused request in the singular', () => {
    const limited = scenario([
      lane('breakwater', {
        throttled: 1,
        limiter: { perSecond: 20, burst: 20, busyMs: 12_000, goodput: 0.85 },
      }),
    ]);
    expect(readingOf(limited)).toContain('with 1 request refused (429)');
  });

  it('where a peer got as much through sooner, says so', () => {
    const flap = scenario([
      lane('cockatiel', { successRate: 0.996, latency: { p50: 3, p95: 100, p99: 336 } }),
      lane('breakwater', { latency: { p50: 3, p95: 900, p99: 1_598 } }),
    ]);
    expect(readingOf(flap)).toContain(
      "cockatiel got as much through sooner, p99 336 ms against breakwater's 1.6 s.",
    );
  });

  it('where nothing else stands out, still says how it compares: the quickest as successful, or none as successful', () => {
    const even = scenario([
      lane('p-retry', { latency: { p50: 3, p95: 900, p99: 3_000 } }),
      lane('ky', { successRate: 0.996, latency: { p50: 3, p95: 900, p99: 2_000 } }),
      lane('breakwater', { latency: { p50: 3, p95: 900, p99: 1_700 } }),
    ]);
    expect(readingOf(even)).toContain(
      "No other client got more through; of those that got as much, ky had the lowest p99, 2.0 s against breakwater's 1.7 s.",
    );
    const alone = scenario([lane('fetch', { successRate: 0.5 }), lane('breakwater', {})]);
    expect(readingOf(alone)).toContain('No other client got as much through.');
  });

  it('is empty where breakwater did not run, and formats durations for reading', () => {
    expect(readingOf(scenario([lane('fetch', {})]))).toBe('');
    expect([duration(0.78), duration(52.2), duration(3_157), duration(Number.NaN)]).toEqual([
      '0.8 ms',
      '52 ms',
      '3.2 s',
      '–',
    ]);
  });

  it('sits under the chart in report.md, above the table', () => {
    const meta = { date: 'd', node: '24', cpus: '2', totalMs: 1_000, clients: [] };
    const report = markdownReport([outage], null, [], meta);
    expect(report).toContain(`![outage](outage.svg)\n\n*Reading:* ${readingOf(outage)}\n\n| client |`);
  });
});
