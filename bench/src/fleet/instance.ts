/**
 * The process hosting instance `id` of the fleet runs (`node --conditions=@breakwater/source
 * instance.ts`, spoken to over IPC): each instance of a fleet is in a process of its own, as the
 * instances of a service are. Loading the core from source costs a second of CPU, so one process hosts
 * its instance of every run (the runs share nothing: each has its own server, store and prefix). Told
 * `setup`, it builds the run's wrapFetch (the in-memory store, or `redisStore` on the run's Redis) and
 * says `ready`; told `start`, it runs its share of the open-loop plan and answers `done` with its call
 * records and breakwater's events, timed on the clock every process of the run shares.
 */
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { wrapFetch } from '@breakwater/core';
import { redisStore } from '@breakwater/redis';
import { createClient } from 'redis';
import { NO_BREAKERS } from '../breakwater-off.ts';
import type { BenchClient } from '../client.ts';
import { instrumentFetch } from '../instrument.ts';
import { type CallRecord, type PlannedCall, runOpenLoop } from '../load.ts';

/** The clock of a fleet run: epoch ms with sub-ms precision, the same in every process of the machine. */
export const fleetNow = (): number => performance.timeOrigin + performance.now();

export interface InstanceConfig {
  readonly id: number;
  readonly origin: string;
  /** The run's Redis; absent: the in-memory store (an independent instance). */
  readonly redisUrl?: string;
  /** The key prefix the fleet shares. */
  readonly prefix: string;
  /** Its own network is broken: every attempt fails with a TypeError before reaching the server. */
  readonly broken: boolean;
  /** The breaker's half-open interval (first and longest alike, so intervals are comparable). */
  readonly halfOpenMs: number;
  readonly attemptTimeoutMs: number;
}

/** Builds the run's instance. */
export interface SetupMessage {
  readonly type: 'setup';
  readonly run: string;
  readonly config: InstanceConfig;
}

/** The parent's go: the run's start (a fleetNow value) and this instance's calls. */
export interface StartMessage {
  readonly type: 'start';
  readonly run: string;
  readonly startAt: number;
  readonly calls: readonly PlannedCall[];
  readonly drainMs: number;
}

/** One breakwater event, in ms from the run's start. */
export interface InstanceEvent {
  readonly t: number;
  readonly type: string;
  readonly key: string;
}

export interface InstanceReport {
  readonly id: number;
  readonly broken: boolean;
  readonly records: readonly CallRecord[];
  readonly events: readonly InstanceEvent[];
  /** breakers() at the end: state and whether it was shared. */
  readonly breakers: readonly { readonly key: string; readonly state: string; readonly sharing: string }[];
}

type ParentMessage = SetupMessage | StartMessage | { readonly type: 'exit' };

export type InstanceMessage =
  | { readonly type: 'ready'; readonly run: string }
  | { readonly type: 'done'; readonly run: string; readonly report: InstanceReport }
  | { readonly type: 'failed'; readonly run: string; readonly error: string };

/** A fetch on a host whose network is down, failing as undici does: before any request leaves. */
const brokenNetwork: typeof globalThis.fetch = async () => {
  const cause = Object.assign(new Error('connect ENETUNREACH 127.0.0.1'), { code: 'ENETUNREACH' });
  throw new TypeError('fetch failed', { cause });
};

/** `<rule name> <origin>[ <header>=<value>]` as the rule name: the figures name endpoints by rule. */
const ruleOf = (key: string): string => key.split(' ')[0] ?? key;

async function storeOf(config: InstanceConfig) {
  if (config.redisUrl === undefined) return { store: undefined, close: async () => {} };
  // Reconnects every 100 ms, so a restarted Redis is found again within the run.
  const client = createClient({ url: config.redisUrl, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => {});
  await client.connect();
  const store = redisStore({ client, prefix: config.prefix });
  return {
    store,
    close: async () => {
      store.close();
      client.destroy();
    },
  };
}

/** A built instance, waiting for its start. */
interface Built {
  readonly call: BenchClient;
  readonly breakers: () => InstanceReport['breakers'];
  readonly events: { at: number; type: string; key: string }[];
  readonly close: () => Promise<void>;
}

async function build(config: InstanceConfig): Promise<Built> {
  const events: { at: number; type: string; key: string }[] = [];
  const { store, close } = await storeOf(config);
  const base = config.broken ? brokenNetwork : globalThis.fetch;
  const rule = (name: string, path: string, throttle = {}) => ({
    name,
    match: `GET */${path.replace(/^\//, '')}`,
    policy: {
      timeout: { attemptMs: config.attemptTimeoutMs },
      breaker: { halfOpenAfterMs: config.halfOpenMs, maxHalfOpenAfterMs: config.halfOpenMs },
      throttle,
    },
  });
  const f = wrapFetch(instrumentFetch(base, { seen() {} }, fleetNow), {
    // The pulse route tells whether a closure is shared by whether the others hold back in its window:
    // paced sends after a 429 would hold them back too, shared or not, so that route is not paced.
    endpoints: [rule('customers', '/v1/customers'), rule('pulse', '/v1/pulse', { adaptive: false })],
    ...(store ? { store } : {}),
    onEvent: (e) => events.push({ at: fleetNow(), type: e.type, key: ruleOf(e.key) }),
  });
  const call: BenchClient = {
    call: (url, signal, headers) => f(url, headers ? { signal, headers } : { signal }),
    ...NO_BREAKERS,
  };
  const breakers = () =>
    f.breakers().map((b) => ({ key: ruleOf(b.key), state: b.state, sharing: b.sharing }));
  return { call, breakers, events, close };
}

async function runInstance(
  config: InstanceConfig,
  built: Built,
  start: StartMessage,
): Promise<InstanceReport> {
  const lane = {
    name: `instance ${config.id}`,
    client: built.call,
    origin: config.origin,
    records: [],
    started: 0,
  };
  await runOpenLoop({
    plan: start.calls,
    lanes: [lane],
    now: fleetNow,
    startAt: start.startAt,
    drainMs: start.drainMs,
  });
  const report: InstanceReport = {
    id: config.id,
    broken: config.broken,
    records: lane.records,
    events: built.events.map((e) => ({ t: e.at - start.startAt, type: e.type, key: e.key })),
    breakers: built.breakers(),
  };
  await built.close();
  return report;
}

/** Serves the parent's messages until told to exit. */
function host(): void {
  const runs = new Map<string, { config: InstanceConfig; built: Promise<Built> }>();
  const reply = (message: InstanceMessage): void => {
    process.send?.(message);
  };
  const fail = (run: string) => (error: unknown) =>
    reply({
      type: 'failed',
      run,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  process.on('message', (m: ParentMessage) => {
    if (m.type === 'exit') {
      process.disconnect?.();
      process.exit(0);
    }
    if (m.type === 'setup') {
      const built = build(m.config);
      runs.set(m.run, { config: m.config, built });
      built.then(() => reply({ type: 'ready', run: m.run }), fail(m.run));
      return;
    }
    const entry = runs.get(m.run);
    if (!entry) return fail(m.run)(new Error(`bench fleet: no setup for run ${m.run}`));
    runs.delete(m.run);
    entry.built
      .then((built) => runInstance(entry.config, built, m))
      .then((report) => reply({ type: 'done', run: m.run, report }), fail(m.run));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) host();
