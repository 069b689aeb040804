/**
 * Every scenario with the breakwater client against the real fault server, scaled to about 3 s each
 * (run concurrently, each on its own server). Checks that the bench runs end to end and the invariants
 * breakwater keeps at any scale; the targets are measured by the full `pnpm bench`.
 */
import { DEFAULT_POLICY } from '@breakwater/policies';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CLIENTS } from './clients.ts';
import { ORACLE } from './oracle.ts';
import { runScenario, type ScenarioResult } from './run-scenario.ts';
import { SCENARIOS } from './scenarios.ts';
import { renderScenarioSvg } from './svg.ts';

const breakwater = CLIENTS.filter((c) => c.name === 'breakwater');
const oracle = CLIENTS.filter((c) => c.name === ORACLE);
const results = new Map<string, ScenarioResult>();
const oracleResults = new Map<string, ScenarioResult>();

beforeAll(async () => {
  const all = await Promise.all(
    SCENARIOS.map((s) => runScenario(s, breakwater, { scale: 3_000 / s.durationMs })),
  );
  for (const r of all) results.set(r.name, r);
  // The oracle lanes run after, not beside: twice the lanes at once would load the event loop the
  // breakwater checks are timed on.
  const oracles = await Promise.all(
    SCENARIOS.map((s) => runScenario(s, oracle, { scale: 3_000 / s.durationMs })),
  );
  for (const r of oracles) oracleResults.set(r.name, r);
}, 60_000);

// Scaled to 3 s, a phase lasts a few hundred ms: on a machine too busy to keep the event loop within that
// (more CPU-bound jobs than cores), calls land in the wrong phase or outlive the drain, and these fail.
// A failure says how late the loop ran, so a busy machine is told from a regression.
let lagTold = false;
beforeEach(({ onTestFailed }) => {
  onTestFailed(() => {
    if (lagTold) return;
    lagTold = true;
    const lag = [...results].map(([name, r]) => `${name} ${r.loopDelayP99Ms.toFixed(0)} ms`).join(', ');
    console.error(`smoke: event-loop delay p99 during the runs: ${lag}`);
  });
});

describe.each(SCENARIOS.map((s) => s.name))('smoke: %s with breakwater', (name) => {
  it('settles every call and accounts for every request', () => {
    const result = results.get(name) as ScenarioResult;
    expect(result.durationMs).toBeLessThanOrEqual(3_000);
    const lane = result.lanes[0];
    expect(lane?.unavailable).toBeUndefined();
    const m = lane?.metrics;
    expect(m).toBeDefined();
    if (!m) return;
    expect(m.logical).toBeGreaterThan(50);
    expect(m.unfinished).toBe(0);
    expect(Object.values(m.outcomes).reduce((a, b) => a + b, 0)).toBe(m.logical);
    // Calls still held at the end of the drain are aborted and counted; they must not vanish.
    expect(m.outcomes.aborted).toBeLessThan(m.logical / 2);
    expect(m.upstream).toBeGreaterThan(0);
    expect(m.earlyAfterSeen).toBeLessThanOrEqual(m.early);
    expect(renderScenarioSvg(result).length).toBeLessThan(200_000);
  });
});

describe('smoke: behaviour breakwater keeps at any scale', () => {
  it('outage: the breaker opens and calls fail fast instead of reaching the down server', () => {
    const m = results.get('outage')?.lanes[0]?.metrics;
    expect(m?.breakerOpened).toBe(true);
    expect(m?.failFastMs).not.toBeNull();
    expect(m?.outcomes['fail-fast']).toBeGreaterThan(0);
  });

  it('client-errors: nothing is retried and the breaker stays closed', () => {
    const m = results.get('client-errors')?.lanes[0]?.metrics;
    expect(m?.upstream).toBe(m?.logical);
    expect(m?.breakerOpened).toBe(false);
  });

  it('multi-endpoint: the healthy route is unaffected by the other one being down', () => {
    const m = results.get('multi-endpoint')?.lanes[0]?.metrics;
    expect(m?.routes.customers?.successRate).toBe(1);
    expect(m?.routes.orders?.successRate).toBeLessThan(1);
  });

  it('throttle-tenant: no tenant is sent to early, and the tenants under their limit are all served', () => {
    const result = results.get('throttle-tenant');
    const m = result?.lanes[0]?.metrics;
    const tenants = result?.routes[0]?.tenants ?? [];
    expect(Object.keys(m?.tenants ?? {}).sort()).toEqual(tenants.map((t) => t.id).sort());
    expect(m?.earlyAfterSeen).toBe(0);
    expect(m?.tenants.contoso?.upstream).toBeGreaterThan(0);
    for (const t of tenants.filter((x) => x.underLimit)) expect(m?.tenants[t.id]?.successRate).toBe(1);
  });

  it('budget: with the breaker off, retries stay within the budget of one window', () => {
    const result = results.get('budget');
    expect(result?.breakers).toBe(false);
    const m = result?.lanes[0]?.metrics;
    expect(m?.breakerOpened).toBe(false);
    expect(m?.downPhase?.amplification).toBeGreaterThan(1);
    // The scaled run is shorter than the budget's window: every retry of the run counts against it.
    const { ratio, minRetries } = DEFAULT_POLICY.retryBudget;
    const logical = m?.logical ?? 0;
    expect((m?.upstream ?? 0) - logical).toBeLessThanOrEqual(minRetries + ratio * logical);
  });

  it('token-bucket: the server counts 429s and cool-downs, against a client that does not know the bucket', () => {
    const m = results.get('token-bucket')?.lanes[0]?.metrics;
    // Offered twice the bucket's rate: a client that does not know the bucket is refused at least once.
    expect(m?.throttled).toBeGreaterThan(0);
    expect(m?.coolDowns).toBeGreaterThan(0);
    expect(m?.coolDowns).toBeLessThanOrEqual(m?.throttled ?? 0);
  });

  it('every scenario has the oracle lane: it gets every call through (the 4xx ones answered) and no 429', () => {
    expect([...oracleResults.keys()]).toEqual(SCENARIOS.map((s) => s.name));
    for (const [name, result] of oracleResults) {
      expect(result.lanes.map((l) => l.client)).toEqual([ORACLE]);
      const m = result.lanes[0]?.metrics;
      expect(m?.throttled, name).toBe(0);
      const answered = (m?.outcomes.ok ?? 0) + (m?.outcomes['client-error'] ?? 0);
      expect(answered, name).toBe(m?.logical);
      if (name !== 'client-errors') expect(m?.successRate, name).toBe(1);
    }
  });
});
