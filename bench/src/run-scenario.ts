/**
 * Runs one scenario: every client at the same time, each against its own fault server (own port, same
 * script, same seed), so a scenario costs its duration once however many clients there are.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import type { BenchClient, ClientSpec, ContextRoute } from './client.ts';
import { ClientUnavailableError } from './client.ts';
import { FaultServer } from './fault-server.ts';
import { instrumentFetch } from './instrument.ts';
import { type Lane, OUTCOMES, type Outcome, planCalls, runOpenLoop } from './load.ts';
import { computeMetrics, type Metrics } from './metrics.ts';
import {
  DEFAULT_ATTEMPT_TIMEOUT_MS,
  type RouteSpec,
  type Scenario,
  scaleScenario,
  tenantRates,
} from './scenarios.ts';
import type { Phase } from './schedule.ts';
import {
  bin,
  type LatencyBins,
  latencyBins,
  runsFromTransitions,
  type StateRun,
  StateTimeline,
} from './timeline.ts';

/**
 * The next scenario may start once this one's load is over and at most this many of its calls are
 * still running: a few late ones asleep in a backoff (p-retry's 1 + 2 + 4 s) cost the next one nothing,
 * but starting beside a queue still draining (calls held behind a limiter) raised the next scenario's
 * event-loop delay p99 from ~100 to ~300-500 ms.
 */
export const QUIET_CALLS = 20;

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
  /** p50 and p99 latency of the logical calls started in each bucket. */
  readonly latencyBins?: LatencyBins;
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
  /**
   * Called once the scripted load is over (every call started) and at most QUIET_CALLS calls are still
   * running: the next scenario may start then, while this one's last late calls settle.
   */
  readonly onLoadEnd?: () => void;
}

interface Running {
  readonly spec: ClientSpec;
  readonly server: FaultServer;
  readonly client: BenchClient;
  readonly lane: Lane;
  readonly timeline: StateTimeline;
}

/** What a scenario run needs everywhere: the scaled scenario and the clock every part reads. */
interface Setup {
  readonly scenario: Scenario;
  readonly scale: number;
  readonly attemptTimeoutMs: number;
  readonly now: () => number;
  /** When the script starts on the `now` clock: set as the load begins. */
  readonly start: { at: number };
}

/** What has been started so far, and so must be closed, also when starting fails part way. */
interface Started {
  readonly servers: FaultServer[];
  readonly running: Running[];
  readonly unavailable: LaneResult[];
}

/** The window the load ran in, on the clock of `Setup.now`. */
interface RunWindow {
  readonly startAt: number;
  /** ms from `startAt` to the last settled call, at least the scripted duration. */
  readonly end: number;
  readonly loopDelayP99Ms: number;
}

export async function runScenario(
  base: Scenario,
  clients: readonly ClientSpec[],
  options: RunOptions = {},
): Promise<ScenarioResult> {
  const scale = options.scale ?? 1;
  const scenario = scaleScenario(base, scale);
  const setup: Setup = {
    scenario,
    scale,
    attemptTimeoutMs: scenario.attemptTimeoutMs ?? DEFAULT_ATTEMPT_TIMEOUT_MS,
    now: () => performance.now(),
    start: { at: Number.NaN },
  };
  const started: Started = { servers: [], running: [], unavailable: [] };
  try {
    for (const spec of clients) await startLane(setup, spec, started);
    const window = await runLoad(setup, started.running, options);
    return collect(setup, clients, started, window);
  } finally {
    for (const r of started.running) r.client.close();
    await Promise.all(started.servers.map((s) => s.close()));
  }
}

/** A route as the server and the client both know it: its name, path and the header naming its tenant. */
const routeBase = (r: RouteSpec): { name: string; path: string; tenantHeader?: string } => ({
  name: r.name,
  path: r.path,
  ...(r.tenants ? { tenantHeader: r.tenants.header } : {}),
});

/**
 * A route as its clients are told it: with its fault script, which only the oracle reads, and whether
 * it has a slow tail.
 */
function contextRoute(r: RouteSpec): ContextRoute {
  const slowTail = r.phases.some((p) => p.slow);
  return { ...routeBase(r), match: r.match, phases: r.phases, ...(slowTail ? { slowTail } : {}) };
}

/**
 * Start: the client's own fault server, then the client on it. A client that cannot start becomes a
 * lane that says why instead of failing the scenario.
 */
async function startLane(setup: Setup, spec: ClientSpec, started: Started): Promise<void> {
  const { scenario, now } = setup;
  const routes = scenario.routes.map(contextRoute);
  if (spec.appliesTo && !spec.appliesTo(routes)) return;
  const server = await FaultServer.start({
    routes: scenario.routes.map((r) => ({ ...routeBase(r), phases: r.phases })),
    seed: scenario.seed,
  });
  started.servers.push(server);
  try {
    const client = await spec.create({
      fetch: instrumentFetch(globalThis.fetch, server, now),
      routes,
      attemptTimeoutMs: setup.attemptTimeoutMs,
      breakers: scenario.breakers ?? true,
      now,
      scenarioStart: () => setup.start.at,
    });
    const lane: Lane = { name: spec.name, client, origin: server.origin, records: [], started: 0 };
    started.running.push({ spec, server, client, lane, timeline: new StateTimeline() });
  } catch (error) {
    const why = error instanceof ClientUnavailableError ? error.message : `failed to start: ${String(error)}`;
    started.unavailable.push({ client: spec.name, description: spec.description, unavailable: why });
  }
}

/** Runs the open-loop load on every lane at once, sampling the breakers while it runs. */
async function runLoad(setup: Setup, running: readonly Running[], options: RunOptions): Promise<RunWindow> {
  const { onProgress, onLoadEnd } = options;
  const { scenario, scale, now } = setup;
  const plan = planCalls(scenario.routes, scenario.durationMs);
  const startAt = now() + 20;
  setup.start.at = startAt;
  for (const r of running) r.server.begin(startAt);
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const stopSampling = sample(setup, running, startAt, onProgress);
  try {
    await runOpenLoop({
      plan,
      lanes: running.map((r) => r.lane),
      now,
      startAt,
      // Long enough for p-retry's 1 + 2 + 4 s of backoff; the run only waits as long as calls are running.
      drainMs: Math.max(1_500, 8_000 * Math.min(1, scale * 2)),
      ...(onLoadEnd ? { onScheduled: onLoadEnd, quietCalls: QUIET_CALLS } : {}),
    });
  } finally {
    stopSampling();
    loopDelay.disable();
  }
  const end = Math.max(scenario.durationMs, now() - startAt);
  return { startAt, end, loopDelayP99Ms: loopDelay.percentile(99) / 1e6 };
}

/**
 * Sample: every SAMPLE_EVERY_MS each client's breaker states go into its timeline, and every fifth
 * sample the progress goes to `onProgress`. Returns the function that stops it.
 */
function sample(
  setup: Setup,
  running: readonly Running[],
  startAt: number,
  onProgress: RunOptions['onProgress'],
): () => void {
  const { scenario, now } = setup;
  let ticks = 0;
  const sampler = setInterval(() => {
    const t = now() - startAt;
    if (t < 0) return;
    for (const r of running) r.timeline.sample(t, r.client.breakers());
    if (++ticks % 5 === 0 && onProgress) {
      onProgress({
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
  return () => clearInterval(sampler);
}

/** Collect: every lane's metrics, bins and breaker runs, in the order the clients were given. */
function collect(
  setup: Setup,
  clients: readonly ClientSpec[],
  started: Started,
  window: RunWindow,
): ScenarioResult {
  const { scenario, scale, attemptTimeoutMs } = setup;
  const bucketMs = Math.max(50, Math.round(250 * scale));
  const lanes = started.running.map((r) => collectLane(scenario, r, window, bucketMs));
  const order = new Map(clients.map((c, i) => [c.name, i]));
  const all = [...lanes, ...started.unavailable].sort(
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
    loopDelayP99Ms: window.loopDelayP99Ms,
    lanes: all,
  };
}

function collectLane(scenario: Scenario, r: Running, window: RunWindow, bucketMs: number): LaneResult {
  const { startAt, end } = window;
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
    latencyBins: latencyBins(records, bucketMs, scenario.durationMs),
    sampledRuns,
    eventRuns,
    events: { ...r.client.events() },
  };
}
