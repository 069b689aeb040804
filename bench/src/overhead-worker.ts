/**
 * One sample batch of the overhead section, in a process of its own so that one batch's JIT state, GC
 * debt and heap layout do not carry into the next (in one process, run-to-run error reached ±127 %).
 * `node overhead-worker.ts '<WorkerJob JSON>'` prints one line of {@link WorkerSample} JSON;
 * `node overhead-worker.ts '{"sustained": <SustainedJob JSON>}'` prints `{"callsPerSecond": n}`;
 * `node overhead-worker.ts server` runs the loopback server, prints `{"port": n}` and serves until killed.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import type { BenchClient, ClientSpec } from './client.ts';
import { CLIENTS, cockatielBare, FEATURE_CLIENTS } from './clients.ts';
import { REDIS_LANE, redisLane } from './fleet/overhead-lane.ts';
import { TELEMETRY_CLIENTS, TELEMETRY_CONTROL } from './overhead.ts';
import { DEFAULT_ATTEMPT_TIMEOUT_MS } from './scenarios.ts';
import { median } from './stats.ts';
import type { SustainedJob } from './sustained.ts';

/** One way of calling: sequential calls on an in-memory fetch, or concurrent ones over loopback. */
export interface WorkerMode {
  readonly clients: readonly string[];
  /** Calls per client per batch, split evenly over the rounds. */
  readonly calls: number;
  /** Rounds; the order of the clients reverses every round. */
  readonly rounds: number;
  /** Calls in flight at once (1: sequential). */
  readonly concurrency: number;
  /** Untimed calls per client before the first round. */
  readonly warmup: number;
  /** The loopback server's URL; absent: the in-memory fetch. */
  readonly url?: string;
}

export interface WorkerJob {
  /** The batch's index: it rotates the order of the clients. */
  readonly batch: number;
  readonly memory: WorkerMode;
  readonly loopback: WorkerMode;
  /** The redis-server of the Redis lane (issue 14); absent: no such lane. */
  readonly redisUrl?: string;
  /** Telemetry lanes timed in adjacent pairs against telemetry off, in-memory; absent: none. */
  readonly pairs?: PairsMode;
  /** Clients timed in adjacent pairs against raw fetch over loopback; absent: none. */
  readonly loopbackPairs?: PairsMode;
  /** Clients timed in adjacent pairs against each base in turn, in-memory, right after `memory`; absent: none. */
  readonly memoryPairs?: readonly PairsMode[];
  /**
   * breakwater's default lane less one default each, timed in adjacent pairs against it, in-memory,
   * last (their other configurations of breakwater must not reach the JIT before the other figures);
   * absent: none.
   */
  readonly featurePairs?: PairsMode;
}

/** A lane against its base: the medians over the rounds of their time ratio and their difference. */
export interface PairReading {
  /** The lane's time per call over the base's. */
  readonly ratio: number;
  /** The lane's time per call minus the base's, in µs. */
  readonly aboveUs: number;
}

/**
 * Each lane against `base`, timed back to back (`calls` calls each, their order swapped every round)
 * for `rounds` rounds: a difference of a few per cent is then measurable, where the best rounds of
 * lanes timed far apart in a round of every client differ by more than that between two identical lanes.
 */
export interface PairsMode {
  readonly base: string;
  readonly lanes: readonly string[];
  readonly rounds: number;
  readonly calls: number;
  /** Untimed calls per client first. */
  readonly warmup: number;
  /** The loopback server's URL; absent: the in-memory fetch. */
  readonly url?: string;
  /** Calls in flight at once. Default 1. */
  readonly concurrency?: number;
}

/**
 * Milliseconds per call of each client in its fastest round (wall time / calls), per mode. The fastest:
 * on a shared machine, preemption by other processes only ever adds time to a round.
 */
export interface WorkerSample {
  readonly memory: Readonly<Record<string, number>>;
  readonly loopback: Readonly<Record<string, number>>;
  /** Per paired lane: the median over rounds of its time per call over the base lane's next to it. */
  readonly pairs?: Readonly<Record<string, number>>;
  /** The same, over loopback. */
  readonly loopbackPairs?: Readonly<Record<string, number>>;
  /** Per base, then per lane paired with it: in-memory readings. */
  readonly memoryPairs?: Readonly<Record<string, Readonly<Record<string, PairReading>>>>;
  /** Per lane less one default: its reading against breakwater's default lane, in-memory. */
  readonly featurePairs?: Readonly<Record<string, PairReading>>;
}

const KNOWN: readonly ClientSpec[] = [
  ...CLIENTS,
  cockatielBare,
  ...TELEMETRY_CLIENTS,
  TELEMETRY_CONTROL,
  ...FEATURE_CLIENTS,
];
const MEMORY_URL = 'http://in-memory.test/v1/customers';
const memoryFetch: typeof globalThis.fetch = async () => new Response('{}', { status: 200 });

async function create(
  name: string,
  fetchImpl: typeof globalThis.fetch,
  job: Pick<WorkerJob, 'batch' | 'redisUrl'>,
): Promise<BenchClient> {
  const spec =
    name === REDIS_LANE && job.redisUrl !== undefined
      ? redisLane(job.redisUrl, `bench-overhead-${job.batch}:`)
      : KNOWN.find((c) => c.name === name);
  if (!spec) throw new Error(`overhead-worker: unknown client "${name}"`);
  return spec.create({
    fetch: fetchImpl,
    routes: [{ name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' }],
    attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
    breakers: true,
    now: () => performance.now(),
  });
}

/** Wall time (ms) of `calls` calls, `concurrency` at a time, bodies read over loopback. */
async function timeCalls(
  client: BenchClient,
  url: string,
  calls: number,
  concurrency: number,
): Promise<number> {
  const signal = new AbortController().signal;
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started++ < calls) {
      const response = await client.call(url, signal);
      await response.arrayBuffer();
    }
  };
  // A turn of the event loop first, outside the timing, as a live service's loop turns between calls:
  // timing loops that only await microtasks starved every timer, so an exporter's per-span export
  // (the in-memory SDK's) never ran, every span stayed reachable, and the heap grew through a pair's
  // rounds (session 25: the telemetry lanes and their by-hand floor read ~0.1x a call more for it).
  await new Promise((resolve) => setTimeout(resolve, 0));
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, calls) }, lane));
  return performance.now() - t0;
}

/** The clients' order in one round: rotated by the batch, reversed on alternate rounds. */
export function roundOrder<T>(items: readonly T[], batch: number, round: number): T[] {
  const shift = batch % Math.max(items.length, 1);
  const rotated = [...items.slice(shift), ...items.slice(0, shift)];
  return (batch + round) % 2 === 0 ? rotated : rotated.reverse();
}

async function runMode(mode: WorkerMode, job: WorkerJob): Promise<Record<string, number>> {
  const url = mode.url ?? MEMORY_URL;
  const clients = await Promise.all(
    mode.clients.map(
      async (name) => [name, await create(name, mode.url ? globalThis.fetch : memoryFetch, job)] as const,
    ),
  );
  try {
    for (const [, client] of clients) await timeCalls(client, url, mode.warmup, mode.concurrency);
    const perRound = Math.max(1, Math.round(mode.calls / mode.rounds));
    const bestMs = new Map<string, number>(mode.clients.map((n) => [n, Number.POSITIVE_INFINITY]));
    for (let round = 0; round < mode.rounds; round++) {
      for (const [name, client] of roundOrder(clients, job.batch, round)) {
        const ms = await timeCalls(client, url, perRound, mode.concurrency);
        bestMs.set(name, Math.min(bestMs.get(name) ?? ms, ms));
      }
    }
    return Object.fromEntries([...bestMs].map(([n, ms]) => [n, ms / perRound]));
  } finally {
    for (const [, client] of clients) client.close();
  }
}

/**
 * A pair round's ratio, the lane's time over the base's, from the times of the first and second timed.
 */
export function laneOverBase(baseFirst: boolean, firstMs: number, secondMs: number): number {
  return baseFirst ? secondMs / firstMs : firstMs / secondMs;
}

async function runPairs(mode: PairsMode, job: WorkerJob): Promise<Record<string, PairReading>> {
  const url = mode.url ?? MEMORY_URL;
  const concurrency = mode.concurrency ?? 1;
  const [base, ...lanes] = await Promise.all(
    [mode.base, ...mode.lanes].map((name) => create(name, mode.url ? globalThis.fetch : memoryFetch, job)),
  );
  if (!base) return {};
  try {
    for (const client of [base, ...lanes]) await timeCalls(client, url, mode.warmup, concurrency);
    const ratios: number[][] = lanes.map(() => []);
    const differences: number[][] = lanes.map(() => []);
    for (let round = 0; round < mode.rounds; round++) {
      // By batch too: with an odd count of rounds, the base would otherwise go first once more in every batch.
      const baseFirst = (round + job.batch) % 2 === 0;
      for (const [i, lane] of lanes.entries()) {
        const [first, second] = baseFirst ? [base, lane] : [lane, base];
        const a = await timeCalls(first, url, mode.calls, concurrency);
        const b = await timeCalls(second, url, mode.calls, concurrency);
        ratios[i]?.push(laneOverBase(baseFirst, a, b));
        differences[i]?.push(((baseFirst ? b - a : a - b) * 1000) / mode.calls);
      }
    }
    return Object.fromEntries(
      mode.lanes.map((name, i) => [
        name,
        { ratio: median(ratios[i] ?? []), aboveUs: median(differences[i] ?? []) },
      ]),
    );
  } finally {
    for (const client of [base, ...lanes]) client.close();
  }
}

/** Each lane's time ratio to its base. */
function ratiosOf(readings: Record<string, PairReading>): Record<string, number> {
  return Object.fromEntries(Object.entries(readings).map(([name, reading]) => [name, reading.ratio]));
}

/** Each mode's pairs, keyed by its base. */
async function runPairsByBase(
  modes: readonly PairsMode[],
  job: WorkerJob,
): Promise<Record<string, Record<string, PairReading>>> {
  const byBase: Record<string, Record<string, PairReading>> = {};
  for (const mode of modes) byBase[mode.base] = await runPairs(mode, job);
  return byBase;
}

async function serve(): Promise<void> {
  const server = createServer({ keepAlive: true }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  // Node closes a keep-alive socket idle for 5 s by default; a batch's in-memory modes take longer
  // than that between its loopback rounds, and a raw fetch reusing a socket the server is closing fails
  // ("other side closed") with no retry to hide it.
  server.keepAliveTimeout = 10 * 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
}

async function sample(job: WorkerJob): Promise<void> {
  const memory = await runMode(job.memory, job);
  // Before any loopback call: a real fetch makes V8 drop the in-memory path's optimised code.
  const memoryPairs = job.memoryPairs ? await runPairsByBase(job.memoryPairs, job) : undefined;
  const loopback = job.loopback.clients.length > 0 ? await runMode(job.loopback, job) : {};
  const loopbackPairs = job.loopbackPairs ? ratiosOf(await runPairs(job.loopbackPairs, job)) : undefined;
  const pairs = job.pairs ? ratiosOf(await runPairs(job.pairs, job)) : undefined;
  const featurePairs = job.featurePairs ? await runPairs(job.featurePairs, job) : undefined;
  const sampled: WorkerSample = {
    memory,
    loopback,
    ...(pairs ? { pairs } : {}),
    ...(loopbackPairs ? { loopbackPairs } : {}),
    ...(memoryPairs ? { memoryPairs } : {}),
    ...(featurePairs ? { featurePairs } : {}),
  };
  process.stdout.write(`${JSON.stringify(sampled)}\n`);
  // Keep-alive sockets and client timers would hold the process open.
  process.exit(0);
}

/** One client alone, warmed up, then timed over `job.calls` calls in one go (sustained.ts). */
async function sustain(job: SustainedJob): Promise<void> {
  const client = await create(job.client, globalThis.fetch, { batch: 0 });
  await timeCalls(client, job.url, job.warmup, job.concurrency);
  const ms = await timeCalls(client, job.url, job.calls, job.concurrency);
  client.close();
  process.stdout.write(`${JSON.stringify({ callsPerSecond: (job.calls * 1000) / ms })}\n`);
  process.exit(0);
}

// Only when run as a script: tests import roundOrder.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv[2];
  if (arg === 'server') await serve();
  else if (arg) {
    const job = JSON.parse(arg) as WorkerJob | { readonly sustained: SustainedJob };
    if ('sustained' in job) await sustain(job.sustained);
    else await sample(job);
  }
}
