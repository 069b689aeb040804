/**
 * Runs one scenario: every client at the same time, each against its own fault server (own port, same
 * script, same seed), so a scenario costs its duration once however many clients there are.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { BenchClient, ClientSpec } from './client.ts';
import { ClientUnavailableError } from './client.ts';
import { FaultServer } from './fault-server.ts';
import { instrumentFetch } from './instrument.ts';
import { type Lane, OUTCOMES, type Outcome, planCalls, runOpenLoop } from './load.ts';
import { computeMetrics, type Metrics } from './metrics.ts';
import { type RouteSpec, type Scenario, scaleScenario, tenantRates } from './scenarios.ts';
import type { Phase } from './schedule.ts';
import { bin, runsFromTransitions, type StateRun, StateTimeline } from './timeline.ts';

/** Breaker states are sampled this often (ms), whatever the scale. */
export const SAMPLE_EVERY_MS = 50;

/** One client's part of a scenario result. */
export interface LaneResult {
  readonly client: string;
  readonly description: string;
  /** Why the client did not run, when it did not. */
  readonly unavailable?: string;
  readonly metrics?: Metrics;
  /** Logical calls per bucket of start time, per outcome. */
  readonly bins?: Readonly<Record<Outcome, number[]>>;
  /** Requests reaching the server per bucket. */
  readonly upstreamBins?: number[];
  /** Breaker runs sampled every 50 ms from the library's state. */
  readonly sampledRuns?: readonly StateRun[];
  /** Breaker runs from the library's own events (exact; empty when it has none). */
  readonly eventRuns?: readonly StateRun[];
  readonly events?: Readonly<Record<string, number>>;
}

export interface ScenarioResult {
  readonly name: string;
  readonly description: string;
  readonly scale: number;
  readonly durationMs: number;
  readonly attemptTimeoutMs: number;
  /** false when the scenario ran every client without its circuit breaker. */
  readonly breakers: boolean;
  readonly bucketMs: number;
  readonly routes: readonly RouteResult[];
  /** Event-loop delay p99 during the run (ms): how much of any latency is the bench machine itself. */
  readonly loopDelayP99Ms: number;
  readonly lanes: readonly LaneResult[];
}

/** A route of a scenario as the results describe it. */
export interface RouteResult {
  readonly name: string;
  readonly rps: number;
  readonly phases: readonly { readonly at: number; readonly label: string; readonly down: boolean }[];
  /**
   * On routes with tenants: each tenant's rate, and whether it stays within the server's per-tenant
   * limit in every throttle phase (an under-limit tenant should not notice the others' throttling).
   */
  readonly tenants?: readonly { readonly id: string; readonly rps: number; readonly underLimit: boolean }[];
}

/** The route's description in the results. */
export function routeResult(route: RouteSpec): RouteResult {
  const base: RouteResult = {
    name: route.name,
    rps: route.rps,
    phases: route.phases.map((p) => ({ at: p.at, label: p.label, down: p.down === true })),
  };
  if (!route.tenants) return base;
  const limits = route.phases.flatMap((p: Phase) => (p.throttle ? [p.throttle.perSecond] : []));
  const limit = Math.min(Number.POSITIVE_INFINITY, ...limits);
  return { ...base, tenants: tenantRates(route).map((t) => ({ ...t, underLimit: t.rps < limit })) };
}

/** Progress of a running scenario, for the terminal. */
export interface Progress {
  readonly scenario: string;
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly lanes: readonly { readonly client: string; readonly started: number; readonly settled: number }[];
}

export interface RunOptions {
  /** Multiplies every duration of the script (default 1). */
  readonly scale?: number;
  /** Called about four times a second. */
  readonly onProgress?: (progress: Progress) => void;
}

interface Running {
  readonly spec: ClientSpec;
  readonly server: FaultServer;
  readonly client: BenchClient;
  readonly lane: Lane;
  readonly timeline: StateTimeline;
}

export async function runScenario(
  base: Scenario,
  clients: readonly ClientSpec[],
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const scale = options.scale ?? 1;
  const scenario = scaleScenario(base, scale);
  const attemptTimeoutMs = scenario.attemptTimeoutMs ?? 10_000;
  const now = (): number => performance.now();
  const unavailable: LaneResult[] = [];
  const running: Running[] = [];
  const servers: FaultServer[] = [];
  try {
    for (const spec of clients) {
      const server = await FaultServer.start({
        routes: scenario.routes.map((r) => ({
          name: r.name,
          path: r.path,
          phases: r.phases,
          ...(r.tenants ? { tenantHeader: r.tenants.header } : {}),
        })),
        seed: scenario.seed,
      });
      servers.push(server);
      try {
        const client = await spec.create({
          fetch: instrumentFetch(globalThis.fetch, server, now),
          routes: scenario.routes.map((r) => ({
            name: r.name,
            path: r.path,
            match: r.match,
            ...(r.tenants ? { tenantHeader: r.tenants.header } : {}),
          })),
          attemptTimeoutMs,
          breakers: scenario.breakers ?? true,
          now,
        });
        const lane: Lane = { name: spec.name, client, origin: server.origin, records: [], started: 0 };
        running.push({ spec, server, client, lane, timeline: new StateTimeline() });
      } catch (error) {
        const why =
          error instanceof ClientUnavailableError ? error.message : `failed to start: ${String(error)}`;
        unavailable.push({ client: spec.name, description: spec.description, unavailable: why });
      }
    }

    const plan = planCalls(scenario.routes, scenario.durationMs);
    const startAt = now() + 20;
    for (const r of running) r.server.begin(startAt);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    let ticks = 0;
    const sampler = setInterval(() => {
      const t = now() - startAt;
      if (t < 0) return;
      for (const r of running) r.timeline.sample(t, r.client.breakers());
      if (++ticks % 5 === 0 && options.onProgress) {
        options.onProgress({
          scenario: scenario.name,
          elapsedMs: t,
          durationMs: scenario.durationMs,
          lanes: running.map((r) => ({
            client: r.spec.name,
            started: r.lane.started,
            settled: r.lane.records.length,
          })),
        });
      }
    }, SAMPLE_EVERY_MS);
    try {
      await runOpenLoop({
        plan,
        lanes: running.map((r) => r.lane),
        now,
        startAt,
        // Long enough for p-retry's 1 + 2 + 4 s of backoff; the run only waits as long as calls are running.
        drainMs: Math.max(1_500, 8_000 * Math.min(1, scale * 2)),
      });
    } finally {
      clearInterval(sampler);
      loopDelay.disable();
    }
    const end = Math.max(scenario.durationMs, now() - startAt);
    const bucketMs = Math.max(50, Math.round(250 * scale));

    const lanes: LaneResult[] = running.map((r) => {
      const sampledRuns = r.timeline.finish(end);
      const eventRuns = runsFromTransitions(r.client.transitions(), startAt, end);
      const records = r.lane.records;
      const metrics = computeMetrics({
        scenario,
        started: r.lane.started,
        records,
        counts: r.server.counts(),
        arrivals: r.server.arrivals,
        runs: eventRuns.length > 0 ? eventRuns : sampledRuns,
      });
      const upstream = bin(
        r.server.arrivals,
        (a) => a.t,
        () => 'all' as const,
        ['all'],
        bucketMs,
        scenario.durationMs,
      );
      return {
        client: r.spec.name,
        description: r.spec.description,
        metrics,
        bins: bin(
          records,
          (c) => c.start,
          (c) => c.outcome,
          OUTCOMES,
          bucketMs,
          scenario.durationMs,
        ),
        upstreamBins: upstream.all,
        sampledRuns,
        eventRuns,
        events: { ...r.client.events() },
      };
    });
    const order = new Map(clients.map((c, i) => [c.name, i]));
    const all = [...lanes, ...unavailable].sort(
      (a, b) => (order.get(a.client) ?? 0) - (order.get(b.client) ?? 0),
    );
    return {
      name: scenario.name,
      description: scenario.description,
      scale,
      durationMs: scenario.durationMs,
      attemptTimeoutMs,
      breakers: scenario.breakers ?? true,
      bucketMs,
      routes: scenario.routes.map(routeResult),
      loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
      lanes: all,
    };
  } finally {
    for (const r of running) r.client.close();
    await Promise.all(servers.map((s) => s.close()));
  }
}
