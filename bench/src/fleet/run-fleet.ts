/**
 * The bench's fleet part (issue 14): instances of breakwater as child processes against one shared
 * upstream, with the in-memory store (independent instances) or `redisStore` on a redis-server the
 * bench starts, and the figures of the issue's "Done when" from what the server and the instances saw.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY } from '@breakwater/policies';
import { type PlannedCall, planCalls } from '../load.ts';
import {
  healthFigures,
  type InstanceHealth,
  type InstanceRecord,
  type OutageFigures,
  outageFigures,
  type RedisKillFigures,
  redisKillFigures,
  type ThrottleFigures,
  throttleFigures,
} from './figures.ts';
import { fleetNow, type InstanceMessage, type SetupMessage, type StartMessage } from './instance.ts';
import { type BenchRedis, tryStartRedis } from './redis.ts';
import {
  type FleetArrival,
  type FleetScript,
  FleetServer,
  INSTANCE_HEADER,
  MAIN_PATH,
  PULSE_PATH,
  type Pulse,
} from './server.ts';

/** The fleet runs, in report order. */
export const FLEET_RUNS = ['outage', 'throttle', 'broken', 'redis-kill'] as const;
export type FleetRunName = (typeof FLEET_RUNS)[number];

/** What the report says about the fleet part: one entry per run that ran, or why none did. */
export interface FleetResult {
  /** Why the fleet part did not run (e.g. "redis-server not found"). */
  readonly unavailable?: string;
  readonly instances: number;
  readonly scale: number;
  /** Wall time of the whole fleet part, child processes' start included. */
  readonly wallMs: number;
  /** The instances' half-open interval (first and longest alike). */
  readonly halfOpenMs: number;
  /** The breaker's consecutive-failure threshold (breakwater's default). */
  readonly threshold: number;
  readonly outage?: {
    readonly description: string;
    readonly independent: OutageFigures;
    readonly shared: OutageFigures;
  };
  readonly throttle?: {
    readonly description: string;
    readonly independent: ThrottleFigures;
    readonly shared: ThrottleFigures;
  };
  readonly broken?: { readonly description: string; readonly instances: readonly InstanceHealth[] };
  readonly redisKill?: { readonly description: string; readonly figures: RedisKillFigures };
}

export interface FleetOptions {
  /** Multiplies every duration of the scripts and the half-open interval (default 1). */
  readonly scale?: number;
  /** The runs to make; default all of FLEET_RUNS. */
  readonly runs?: readonly FleetRunName[];
  /** Called when a run starts and ends, for the progress line. */
  readonly onLog?: (line: string) => void;
}

const INSTANCES = 4;
const HALF_OPEN_MS = 1_000;
const ATTEMPT_TIMEOUT_MS = 2_000;
/** Calls per second each instance starts on the load's endpoint. */
const RPS = 10;

const INSTANCE = fileURLToPath(new URL('./instance.ts', import.meta.url));
/** The workspace's package conditions, so children load @breakwater/* from source as the bench does. */
const CHILD_ARGS = ['--conditions=@breakwater/source', '--no-warnings'];

/** One fleet of instances against one server, as a run needs it. */
interface RunSpec {
  readonly name: string;
  readonly script: FleetScript;
  readonly durationMs: number;
  readonly drainMs: number;
  /** Calls per second per instance on the load's endpoint, and on the pulse endpoint. */
  readonly rps: number;
  readonly pulseRps?: number;
  /** Shared through this Redis, or independent (absent). */
  readonly redisUrl?: string;
  readonly broken?: number;
  readonly halfOpenMs: number;
  /** Kill Redis at `killAt` and start it again at `restartAt` (ms from the start). */
  readonly kill?: { readonly redis: BenchRedis; readonly killAt: number; readonly restartAt: number };
}

interface RunData {
  readonly arrivals: readonly FleetArrival[];
  readonly pulses: readonly Pulse[];
  readonly coolDowns: number;
  readonly instances: readonly InstanceRecord[];
}

/** Instance `id`'s share of the plan: every INSTANCES-th call, carrying its instance header. */
function instanceCalls(plan: readonly PlannedCall[], id: number, instances: number): PlannedCall[] {
  return plan
    .filter((_, k) => k % instances === id)
    .map((call) => ({ ...call, headers: { ...call.headers, [INSTANCE_HEADER]: String(id) } }));
}

function planOf(spec: RunSpec): PlannedCall[][] {
  const shares = (path: string, route: string, rps: number): PlannedCall[][] => {
    const plan = planCalls([{ name: route, path, rps: rps * INSTANCES }], spec.durationMs);
    return Array.from({ length: INSTANCES }, (_, id) => instanceCalls(plan, id, INSTANCES));
  };
  const main = shares(MAIN_PATH, 'customers', spec.rps);
  const pulse = spec.pulseRps ? shares(PULSE_PATH, 'pulse', spec.pulseRps) : [];
  return main.map((calls, id) => [...calls, ...(pulse[id] ?? [])].sort((a, b) => a.at - b.at));
}

/**
 * The processes hosting the instances: host `id` runs instance `id` of every run. Replies are matched
 * to requests by run and type; a host's `failed` or exit rejects what waits on it.
 */
class Hosts {
  readonly #children: ChildProcess[];
  readonly #waiting = new Map<
    string,
    { resolve: (m: InstanceMessage) => void; reject: (e: Error) => void }
  >();

  constructor(count: number) {
    this.#children = Array.from({ length: count }, (_, id) => this.#spawn(id));
  }

  #spawn(id: number): ChildProcess {
    const child = fork(INSTANCE, [], { execArgv: CHILD_ARGS, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-4000);
    });
    child.on('message', (m: InstanceMessage) => {
      const key = `${id} ${m.run}`;
      const waiter = this.#waiting.get(key);
      if (!waiter) return;
      this.#waiting.delete(key);
      if (m.type === 'failed')
        waiter.reject(new Error(`bench fleet: instance ${id} of ${m.run}: ${m.error}`));
      else waiter.resolve(m);
    });
    child.once('exit', (code) => {
      for (const [key, waiter] of this.#waiting) {
        if (!key.startsWith(`${id} `)) continue;
        this.#waiting.delete(key);
        waiter.reject(new Error(`bench fleet: instance host ${id} exited (${code}): ${err}`));
      }
    });
    return child;
  }

  /** Sends `message` to host `id` and resolves with its reply about the same run. */
  ask(id: number, message: SetupMessage | StartMessage): Promise<InstanceMessage> {
    const child = this.#children[id] as ChildProcess;
    return new Promise<InstanceMessage>((resolve, reject) => {
      if (child.exitCode !== null) {
        reject(new Error(`bench fleet: instance host ${id} is gone`));
        return;
      }
      this.#waiting.set(`${id} ${message.run}`, { resolve, reject });
      child.send(message);
    });
  }

  close(): void {
    for (const child of this.#children) {
      if (child.exitCode !== null) continue;
      child.send({ type: 'exit' }, () => {});
      setTimeout(() => child.kill(), 1_000).unref();
    }
  }
}

async function runOnce(spec: RunSpec, hosts: Hosts): Promise<RunData> {
  const server = await FleetServer.start(spec.script, fleetNow);
  const timers: NodeJS.Timeout[] = [];
  try {
    await Promise.all(
      Array.from({ length: INSTANCES }, (_, id) =>
        hosts.ask(id, {
          type: 'setup',
          run: spec.name,
          config: {
            id,
            origin: server.origin,
            ...(spec.redisUrl ? { redisUrl: spec.redisUrl } : {}),
            prefix: `bench-${spec.name}:`,
            broken: spec.broken === id,
            halfOpenMs: spec.halfOpenMs,
            attemptTimeoutMs: ATTEMPT_TIMEOUT_MS,
          },
        }),
      ),
    );
    // A little ahead, so that every instance has its start before the first call is due.
    const startAt = fleetNow() + 200;
    server.begin(startAt);
    const plans = planOf(spec);
    const reports = Array.from({ length: INSTANCES }, (_, id) =>
      hosts.ask(id, {
        type: 'start',
        run: spec.name,
        startAt,
        calls: plans[id] ?? [],
        drainMs: spec.drainMs,
      }),
    );
    const kill = spec.kill;
    const killed = kill
      ? new Promise<void>((resolve, reject) => {
          const at = (ms: number, action: () => Promise<void>, last = false): void => {
            const timer = setTimeout(
              () => action().then(() => last && resolve(), reject),
              startAt + ms - fleetNow(),
            );
            timers.push(timer);
          };
          at(kill.killAt, () => kill.redis.kill());
          at(kill.restartAt, () => kill.redis.restart(), true);
        })
      : Promise.resolve();
    const done = await Promise.all(reports);
    await killed;
    return {
      arrivals: server.arrivals,
      pulses: server.pulses,
      coolDowns: server.coolDowns,
      instances: done.flatMap((m) => (m.type === 'done' ? [m.report] : [])),
    };
  } finally {
    for (const timer of timers) clearTimeout(timer);
    await server.close();
  }
}

/** The runs' scripts at `scale` (times and the half-open interval scaled, rates kept). */
function specs(scale: number) {
  const s = (ms: number): number => Math.round(ms * scale);
  const halfOpenMs = s(HALF_OPEN_MS);
  const down = { from: s(1_000), to: s(5_500) };
  const outage = {
    name: 'outage',
    script: { down },
    durationMs: s(7_000),
    drainMs: 2_000,
    rps: RPS,
    halfOpenMs,
  };
  const bucket = { perSecond: 10, burst: 10 };
  const throttle = {
    name: 'throttle',
    script: { bucket },
    durationMs: s(4_000),
    drainMs: 5_000,
    rps: 4,
    halfOpenMs,
  };
  const broken = {
    name: 'broken',
    script: {},
    durationMs: s(5_000),
    drainMs: 2_000,
    rps: RPS,
    halfOpenMs,
    broken: 0,
  };
  const pulses = { firstAt: s(500), everyMs: 1_250, retryAfterS: 1 };
  const redisKill = {
    name: 'redis-kill',
    script: { pulses },
    durationMs: s(10_000),
    drainMs: 2_000,
    // Twice the others' rate, so that each p99 is of 200 calls, not decided by one.
    rps: 2 * RPS,
    pulseRps: 4,
    halfOpenMs,
    killAt: s(3_500),
    restartAt: s(6_000),
  };
  return { halfOpenMs, down, outage, bucket, throttle, broken, pulses, redisKill };
}

/**
 * Runs the fleet part: the outage and throttle runs with independent and shared instances and the
 * broken-network run side by side (separate servers and prefixes), then the Redis-kill run alone, on
 * a Redis of its own. Never throws: a missing redis-server, or a run that failed, is in the result.
 */
export async function runFleet(options: FleetOptions = {}): Promise<FleetResult> {
  const scale = options.scale ?? 1;
  const wanted = new Set(options.runs ?? FLEET_RUNS);
  const began = fleetNow();
  const sp = specs(scale);
  const base = { instances: INSTANCES, scale, halfOpenMs: sp.halfOpenMs };
  const threshold = DEFAULT_POLICY.breaker.consecutiveFailures;
  const shared = await tryStartRedis();
  if ('unavailable' in shared) return { ...base, threshold, unavailable: shared.unavailable, wallMs: 0 };
  const killable = wanted.has('redis-kill') ? await tryStartRedis() : undefined;
  const hosts = new Hosts(INSTANCES);
  try {
    if (killable && 'unavailable' in killable) {
      return { ...base, threshold, unavailable: killable.unavailable, wallMs: 0 };
    }
    const log = options.onLog ?? (() => {});
    const both = async (spec: RunSpec) => {
      const [independent, together] = await Promise.all([
        runOnce({ ...spec, name: `${spec.name}-independent` }, hosts),
        runOnce({ ...spec, name: `${spec.name}-shared`, redisUrl: shared.url }, hosts),
      ]);
      return { independent, shared: together };
    };
    log('fleet: outage and throttle (independent and shared), one broken instance');
    const [outage, throttle, broken] = await Promise.all([
      wanted.has('outage') ? both(sp.outage) : undefined,
      wanted.has('throttle') ? both(sp.throttle) : undefined,
      wanted.has('broken') ? runOnce({ ...sp.broken, redisUrl: shared.url }, hosts) : undefined,
    ]);
    // Alone: its latency figures should show Redis's absence, not the other runs' load.
    log('fleet: Redis killed mid-run');
    const redisKill = killable
      ? await runOnce(
          {
            ...sp.redisKill,
            redisUrl: killable.url,
            kill: { redis: killable, killAt: sp.redisKill.killAt, restartAt: sp.redisKill.restartAt },
          },
          hosts,
        )
      : undefined;
    const outageOf = (run: RunData) => outageFigures(run.arrivals, run.instances, sp.down, sp.halfOpenMs);
    const throttleOf = (run: RunData) => throttleFigures(run.arrivals, run.coolDowns, run.instances);
    const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    return {
      ...base,
      threshold,
      wallMs: fleetNow() - began,
      ...(outage && {
        outage: {
          description: `${INSTANCES} x ${RPS} calls/s; every request answered 500 from ${seconds(sp.down.from)} to ${seconds(sp.down.to)}, healthy after; half-open interval ${sp.halfOpenMs} ms`,
          independent: outageOf(outage.independent),
          shared: outageOf(outage.shared),
        },
      }),
      ...(throttle && {
        throttle: {
          description: `${INSTANCES} x ${sp.throttle.rps} calls/s for ${seconds(sp.throttle.durationMs)} against one token bucket of ${sp.bucket.perSecond} tokens/s, burst ${sp.bucket.burst}, for the fleet (429 with Retry-After)`,
          independent: throttleOf(throttle.independent),
          shared: throttleOf(throttle.shared),
        },
      }),
      ...(broken && {
        broken: {
          description: `shared; ${INSTANCES} x ${RPS} calls/s for ${seconds(sp.broken.durationMs)} on a healthy upstream; instance 0's fetch always fails (TypeError) before reaching it`,
          instances: healthFigures(broken.instances),
        },
      }),
      ...(redisKill && {
        redisKill: {
          description: `shared; ${INSTANCES} x ${sp.redisKill.rps} calls/s for ${seconds(sp.redisKill.durationMs)} on a healthy upstream, plus ${sp.redisKill.pulseRps} calls/s each on a second endpoint where one request every ${seconds(sp.pulses.everyMs)} gets a 429 with Retry-After: ${sp.pulses.retryAfterS}; Redis SIGKILLed at ${seconds(sp.redisKill.killAt)}, restarted at ${seconds(sp.redisKill.restartAt)}`,
          figures: redisKillFigures(
            redisKill.arrivals,
            redisKill.pulses,
            redisKill.instances,
            sp.redisKill.killAt,
            sp.redisKill.restartAt,
          ),
        },
      }),
    };
  } catch (error) {
    // The bench reports what it could measure: a fleet part that broke is said, the rest still written.
    const message = error instanceof Error ? error.message : String(error);
    const unavailable = `failed: ${message.split('\n')[0]}`;
    return { ...base, threshold, unavailable, wallMs: fleetNow() - began };
  } finally {
    hosts.close();
    await shared.stop();
    if (killable && !('unavailable' in killable)) await killable.stop();
  }
}
