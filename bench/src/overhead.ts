/**
 * Per-call cost of each client: over an in-memory fetch that answers at once (the library's own cost)
 * and as throughput over real loopback HTTP against a server in its own process (what it does to a real
 * call). Each sample is a batch run in a child process of its own; within it every client is timed in
 * alternating order, so each batch holds paired figures. The report gives the median over the batches
 * with an order-statistics interval ({@link medianInterval}), and ratios computed per batch (paired),
 * so that machines and runs compare.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WrapFetchOptions } from '@breakwater/core';
import { openTelemetry } from '@breakwater/core/telemetry';
import { type Attributes, SpanKind } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { breakwaterOff, NO_BREAKERS } from './breakwater-off.ts';
import type { ClientContext, ClientSpec } from './client.ts';
import { cockatielBare, FEATURE_CLIENTS } from './clients.ts';
import { REDIS_LANE } from './fleet/overhead-lane.ts';
import { ORACLE } from './oracle.ts';
import type { PairReading, PairsMode, WorkerJob, WorkerSample } from './overhead-worker.ts';
import { type Cores, onCore, sustainedCores } from './pinning.ts';
import {
  CONFIDENCE,
  type Estimate,
  medianInterval,
  pairedDifference,
  pairedRatio,
  repeatCoverage,
  trimFor,
} from './stats.ts';
import { type SustainedJob, type SustainedMode, sustainedPairs } from './sustained.ts';

/** One client's figures over the batches. */
export interface OverheadRow {
  readonly client: string;
  /** In-memory: µs per call. Loopback: requests per second. */
  readonly value: Estimate;
  /**
   * Paired per batch, against raw fetch. In-memory: cost ratio (client's µs / fetch's; lower is
   * cheaper). Loopback: throughput ratio (client's requests/s / fetch's; higher is faster).
   */
  readonly vsFetch: Estimate;
  /** The same ratio against breakwater (defaults); null when breakwater was not measured. */
  readonly vsBreakwater: Estimate | null;
  /** In-memory only: µs per call above raw fetch's, paired per batch (issue 17's "at most 3 µs above"). */
  readonly aboveFetch?: Estimate;
}

/**
 * A telemetry setting's per-call cost over breakwater with telemetry off: per batch, the median over
 * rounds of its time next to telemetry off's (see {@link PairsMode}).
 */
export interface TelemetryRow {
  readonly client: string;
  readonly vsOff: Estimate;
}

/**
 * A client's time per call over an in-memory fetch against a base's (raw fetch, cockatiel
 * retry+breaker), each round's pair timed back to back.
 */
export interface MemoryPairRow {
  readonly base: string;
  readonly client: string;
  /** Time per call over the base's. */
  readonly vsBase: Estimate;
  /** µs per call above the base's. */
  readonly aboveBase: Estimate;
}

/** A client's loopback throughput over raw fetch's, each round's pair timed back to back. */
export interface LoopbackPairRow {
  readonly client: string;
  readonly vsFetch: Estimate;
}

/** How the figures were taken, for the report. */
export interface OverheadMethod {
  /** Batches (child processes), i.e. samples per figure. */
  readonly batches: number;
  readonly memoryCalls: number;
  readonly loopbackCalls: number;
  readonly concurrency: number;
  readonly memoryRounds: number;
  readonly loopbackRounds: number;
  /** Untimed in-memory calls per client before the rounds. */
  readonly warmup: number;
  /**
   * The telemetry pairs: rounds per batch and calls per lane per round (see {@link PairsMode}); absent
   * in runs from before the pairing, whose telemetry lanes were timed in the rounds of every client.
   */
  readonly pairRounds?: number;
  readonly pairCalls?: number;
  /** The loopback pairs, likewise (absent in earlier runs), and their untimed calls per client first. */
  readonly loopbackPairRounds?: number;
  readonly loopbackPairCalls?: number;
  readonly loopbackPairWarmup?: number;
  /**
   * The sustained loopback pairs (sustained.ts; absent in earlier runs): pairs of processes per lane,
   * timed calls and untimed calls first per process.
   */
  readonly sustainedPairs?: number;
  readonly sustainedCalls?: number;
  readonly sustainedWarmup?: number;
  /** The cores its client and server processes were pinned to (pinning.ts); absent: not pinned. */
  readonly sustainedCores?: readonly [number, number];
  /** The in-memory pairs likewise (absent in earlier runs). */
  readonly memoryPairRounds?: number;
  readonly memoryPairCalls?: number;
  /**
   * The probability that a repeated run's median falls within a figure's interval: at least the
   * aimed-for confidence when there are enough batches.
   */
  readonly coverage: number;
  /** The sorted sample ranks (1-based) the intervals run between. */
  readonly ranks: readonly [number, number];
}

/**
 * breakwater with `redisStore` beside the in-memory store (`breakwater telemetry: off`, the same
 * configuration), in-memory fetch, paired per batch (issue 14); or why it was not measured.
 */
export type RedisStoreRow =
  | { readonly client: string; readonly value: Estimate; readonly vsInMemory: Estimate }
  | { readonly unavailable: string };

export interface OverheadResult {
  readonly method: OverheadMethod;
  readonly memory: readonly OverheadRow[];
  readonly loopback: readonly OverheadRow[];
  readonly telemetry: readonly TelemetryRow[];
  /**
   * breakwater (and raw fetch, the control) timed back to back with raw fetch over loopback; absent in
   * earlier runs and without breakwater.
   */
  readonly loopbackPairs?: readonly LoopbackPairRow[];
  /**
   * breakwater (and raw fetch, the control) against raw fetch over loopback, each lane held for
   * seconds alone in a process (sustained.ts): throughput with GC and deferred work counted. Absent in
   * earlier runs and without breakwater.
   */
  readonly loopbackSustained?: readonly LoopbackPairRow[];
  /**
   * breakwater (and each base, the control) timed back to back with raw fetch and with cockatiel
   * retry+breaker, in-memory; absent in earlier runs and without breakwater.
   */
  readonly memoryPairs?: readonly MemoryPairRow[];
  /**
   * breakwater's default lane (a second instance, the control, then each lane less one default) timed
   * back to back with it, in-memory, after every other figure: what each default costs per call.
   * Absent in earlier runs and without breakwater.
   */
  readonly features?: readonly MemoryPairRow[];
  /** Present when breakwater was measured in a run that knows of the Redis lane. */
  readonly redis?: RedisStoreRow;
}

export interface OverheadOptions {
  /**
   * Batches, each in a child process of its own; odd (the median is then one of them). Default 11:
   * their full range holds a repeated run's median with 98.8 % (see stats.ts), so that of the ~50
   * figures a run states about one in a hundred moves out of its brackets on a repeat; dropping the
   * extreme batch at each end would take 13 for 97.0 %, and the run's time.
   */
  readonly batches?: number;
  /** Timed in-memory calls per client per batch. Default 600. */
  readonly memoryCalls?: number;
  /** Timed loopback calls per client per batch. Default 240. */
  readonly loopbackCalls?: number;
  /** Loopback calls in flight at once (keep-alive). Default 32, as issue 17 measured. */
  readonly concurrency?: number;
  /**
   * In-memory rounds per batch, alternating the clients' order; each client's fastest counts. Default
   * 12: short rounds (50 calls) interleave the clients finely, so a slow spell of the machine hits
   * each of them in some rounds and not in their fastest.
   */
  readonly memoryRounds?: number;
  /** Loopback rounds per batch, as for `memoryRounds`. Default 4 (60 calls: ~2 waves of 32 each). */
  readonly loopbackRounds?: number;
  /**
   * Untimed in-memory calls per client before a batch's first round. Default 20 000: V8 compiles the
   * hot functions with its optimising tier only after about 10 000 to 13 000 calls, and a long-running
   * service runs past that. Timed in blocks of 500 calls in one process, breakwater went from 38-40 µs
   * per call to 20-23 µs there (cockatiel retry+breaker 21-23 to 19-20, raw fetch 35-40 to 18-25),
   * with `--trace-opt` showing breakwater's functions compiled ("hot and stable") in that window;
   * between 1000 and 5000 calls nothing changes, which is why an earlier default of 1000 looked warm.
   * With 50, rounds timed code still being compiled by the baseline tiers. The loopback mode runs after
   * it in the same process and warms up with two waves of calls (2 x `concurrency`), for the
   * connections only: its per-client table is timed while the clients' code re-optimises (see
   * {@link OverheadOptions.loopbackPairWarmup}), the target's loopback pairs are not.
   */
  readonly warmup?: number;
  /**
   * Rounds of the telemetry pairs per batch (odd: the median is one of them). Default 201: each a
   * lane's calls back to back with telemetry off's, the order swapped every round. With 41, the control
   * (a second instance of telemetry off) spread over [1.01, 1.04] in five batches and the no-SDK lane
   * over [0.99, 1.05], wider than issue 15's 5 % can be judged by; with 201 (session 26, same machine):
   * [1.010, 1.022] and [1.016, 1.038]. A round is ~1 ms a lane: the cost is seconds a run.
   */
  readonly pairRounds?: number;
  /** Calls per lane per pair round. Default 100. */
  readonly pairCalls?: number;
  /**
   * Rounds of the loopback pairs per batch (odd). Default 61. With 15, the control (raw fetch against
   * itself) spread over [0.94, 1.16] in the published run (11 batches): a lane at exactly raw fetch's
   * throughput could not have been judged "at least 0.95x". With 61 (session 26, five batches):
   * [1.000, 1.017]. A round of 64 calls is ~5 ms.
   */
  readonly loopbackPairRounds?: number;
  /** Calls per client per loopback pair round. Default 64: two waves of 32 in flight. */
  readonly loopbackPairCalls?: number;
  /**
   * Untimed loopback calls per client before the loopback pairs' first round. Default 15 000. The
   * in-memory warm-up does not carry over: switched to a real fetch (another call target, undici's
   * Response, the signal now read), V8 throws away the optimised code of breakwater's call path
   * (`--trace-deopt`: wrapped, runAttempt, answered, decide, intake), and compiles it again, with
   * undici's fetch path, only after 10 000 to 13 000 loopback calls (`--trace-opt`, 32 in flight).
   * With two waves of warm-up, the pairs timed calls 300 to 1300 after the switch: breakwater's
   * code deoptimised beside raw fetch's, which has next to none of its own.
   */
  readonly loopbackPairWarmup?: number;
  /**
   * Pairs of processes per lane of the sustained loopback figure (sustained.ts; odd). Default 7: a pair
   * of pinned processes takes ~15 s here; with seven, session 27's two published runs read the control
   * at [0.96, 1.12] (unpinned) and [0.88, 1.00] (pinned), the full range of seven. 0: not measured.
   */
  readonly sustainedPairs?: number;
  /** Timed loopback calls per sustained process, in one go. Default 30 000 (~3 s here). */
  readonly sustainedCalls?: number;
  /** Untimed loopback calls per sustained process first. Default 15 000, as the loopback pairs'. */
  readonly sustainedWarmup?: number;
  /**
   * Rounds of the in-memory pairs (and of the feature pairs) per batch (odd). Default 101 (41 before
   * session 26, whose controls spread over up to [0.97, 1.03]). Issue 17's in-memory targets are judged
   * from them: the fastest of 12 rounds of 50 calls, taken for each client apart, spread a batch's ratio
   * to cockatiel retry+breaker over 1.24x-1.96x in one run, where pairing resolves a few per cent.
   */
  readonly memoryPairRounds?: number;
  /** Calls per client per in-memory pair round. Default 100. */
  readonly memoryPairCalls?: number;
  /** Called after each batch (for the progress line). */
  readonly onBatch?: (done: number, of: number) => void;
  /**
   * The redis-server of the Redis store lane, measured with breakwater's telemetry variants; or why
   * there is none (reported as such). Default: no Redis lane, nothing reported.
   */
  readonly redis?: { readonly url: string } | { readonly unavailable: string };
}

/** A reader nobody collects from: the SDK aggregates every measurement, as it does between scrapes. */
class UncollectedReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** Spans kept in memory before the exporter is emptied, so that a long run does not measure the GC. */
const MAX_KEPT_SPANS = 10_000;

/**
 * breakwater with telemetry off, on without an SDK (the API's no-ops) and on with the SDK's in-memory
 * span exporter (behind a SimpleSpanProcessor, then a BatchSpanProcessor, production's usual one) and
 * an uncollected metric reader, same configuration otherwise (no `onEvent`): what the `telemetry`
 * option costs per call. Last, the SDK work of such a call done by hand around raw fetch and around
 * breakwater with telemetry off (behind each processor): what the SDK alone costs, with no breakwater
 * telemetry code, the floor of the with-SDK figures. No context manager is registered: its cost is the SDK's.
 */
export const TELEMETRY_CLIENTS: readonly ClientSpec[] = [
  telemetryClient('breakwater telemetry: off', () => undefined),
  telemetryClient('breakwater telemetry: no SDK', () => openTelemetry()),
  telemetryClient('breakwater telemetry: in-memory SDK', (spans) =>
    openTelemetry(inMemorySdk(new SimpleSpanProcessor({ exporter: spans }))),
  ),
  telemetryClient('breakwater telemetry: in-memory SDK, batch processor', (spans) =>
    openTelemetry(inMemorySdk(new BatchSpanProcessor({ exporter: spans }))),
  ),
  sdkByHandClient('in-memory SDK alone, no breakwater', (context) => context.fetch),
  sdkByHandClient('breakwater telemetry: off, the same SDK work by hand', breakwaterOff),
  sdkByHandClient(
    'breakwater telemetry: off, the same SDK work by hand, batch processor',
    breakwaterOff,
    true,
  ),
];

function inMemorySdk(processor: SimpleSpanProcessor | BatchSpanProcessor) {
  return {
    tracerProvider: new TracerProvider({ spanProcessors: [processor] }),
    meterProvider: new MeterProvider({ readers: [new UncollectedReader()] }),
  };
}

/** Empties `spans` now and then, so that a long run does not measure the GC of kept spans. */
function bounded(spans: InMemorySpanExporter): void {
  if (spans.getFinishedSpans().length > MAX_KEPT_SPANS) spans.reset();
}

function telemetryClient(
  name: string,
  telemetry: (spans: InMemorySpanExporter) => WrapFetchOptions['telemetry'],
): ClientSpec {
  return {
    name,
    description: `${name}: one endpoint rule per route, no onEvent`,
    async create(context: ClientContext) {
      const spans = new InMemorySpanExporter();
      const f = breakwaterOff(context, telemetry(spans));
      return {
        call: (url, signal) => {
          bounded(spans);
          return f(url, { signal });
        },
        ...NO_BREAKERS,
      };
    },
  };
}

/**
 * `inner(context)` (raw fetch, or breakwater with telemetry off) with what breakwater's telemetry asks
 * of the SDK for a call that succeeds at once, done by hand around it: one CLIENT span with the same
 * attributes, and one record in each of two histograms with the same attribute sets (no counter: a
 * success counts no event). The SDK's cost, none of breakwater's telemetry code.
 */
function sdkByHandClient(
  name: string,
  inner: (context: ClientContext) => (url: string, init: RequestInit) => Promise<Response>,
  batch = false,
): ClientSpec {
  return {
    name,
    description: `${name}: one span and two histogram records per call`,
    async create(context: ClientContext) {
      const fetch = inner(context);
      const spans = new InMemorySpanExporter();
      const processor = batch
        ? new BatchSpanProcessor({ exporter: spans })
        : new SimpleSpanProcessor({ exporter: spans });
      const { tracerProvider, meterProvider } = inMemorySdk(processor);
      const tracer = tracerProvider.getTracer('sdk-alone');
      const meter = meterProvider.getMeter('sdk-alone');
      const attempts = meter.createHistogram('http.client.request.duration', { unit: 's' });
      const calls = meter.createHistogram('breakwater.call.duration', { unit: 's' });
      const request: Attributes = {
        'http.request.method': 'GET',
        'server.address': 'in-memory.test',
        'server.port': 80,
        'breakwater.endpoint': 'customers',
      };
      const attempt = { ...request, 'http.response.status_code': 200 };
      const call = { ...attempt, 'breakwater.attempts': 1 };
      const options = { kind: SpanKind.CLIENT };
      return {
        async call(url, signal) {
          bounded(spans);
          const started = performance.now();
          const span = tracer.startSpan('GET', options);
          span.setAttributes(request);
          span.setAttribute('url.full', url);
          const response = await fetch(url, { signal });
          span.setAttribute('http.response.status_code', response.status);
          span.end();
          const seconds = (performance.now() - started) / 1000;
          attempts.record(seconds, attempt);
          calls.record(seconds, call);
          return response;
        },
        ...NO_BREAKERS,
      };
    },
  };
}

const WORKER = fileURLToPath(new URL('./overhead-worker.ts', import.meta.url));
/** The workspace's package conditions, so the child loads @breakwater/* from source as this process does. */
const CHILD_ARGS = ['--conditions=@breakwater/source', '--no-warnings'];

/**
 * Runs the worker with `arg` (on `core`, when given); resolves with its first stdout line once it has
 * printed one.
 */
function startWorker(arg: string, core?: number): { child: ChildProcess; line: Promise<string> } {
  const [command, args] = onCore([...CHILD_ARGS, WORKER, arg], core);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const line = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const end = out.indexOf('\n');
      if (end >= 0) resolve(out.slice(0, end));
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      reject(new Error(`overhead: worker exited (${code}) before answering: ${err.slice(-2000)}`)),
    );
  });
  return { child, line };
}

async function runBatch(job: WorkerJob): Promise<WorkerSample> {
  return JSON.parse(await startWorker(JSON.stringify(job)).line) as WorkerSample;
}

/** One sustained run in a worker process of its own (on `core`, when given): its calls per second. */
async function runSustained(job: SustainedJob, core?: number): Promise<number> {
  const started = startWorker(JSON.stringify({ sustained: job }), core);
  const { callsPerSecond } = JSON.parse(await started.line) as { callsPerSecond: number };
  return callsPerSecond;
}

/**
 * The sustained pairs: with `cores`, against a loopback server of their own on the server's core, each
 * client's process on the client's (pinning.ts); without, against the section's server, unpinned.
 */
async function sustainedRows(mode: SustainedMode, cores: Cores | undefined): Promise<LoopbackPairRow[]> {
  if (!cores) return sustainedPairs(mode, (job) => runSustained(job));
  const server = startWorker('server', cores.server);
  try {
    const url = await customersUrl(server);
    return await sustainedPairs({ ...mode, url }, (job) => runSustained(job, cores.client));
  } finally {
    server.child.kill();
  }
}

/** The URL the overhead's clients call on a loopback server worker, once it listens. */
async function customersUrl(server: { line: Promise<string> }): Promise<string> {
  const { port } = JSON.parse(await server.line) as { port: number };
  return `http://127.0.0.1:${port}/v1/customers`;
}

const BREAKWATER = 'breakwater';
const COCKATIEL_BARE = cockatielBare.name;

/**
 * Whether a client gets overhead figures: not the oracle (it is no library, only the scenarios' limit)
 * nor breakwater's other configurations (they share its hot path; the time goes to the peers).
 */
function measured(name: string): boolean {
  return name !== ORACLE && !name.startsWith(`${BREAKWATER}-`);
}
const TELEMETRY_OFF = 'breakwater telemetry: off';

/**
 * A second, identical instance of {@link TELEMETRY_OFF}, paired with it as the telemetry lanes are: its
 * figure shows what the pairing resolves (an identical lane's ratio: 1.00x, within what brackets).
 */
export const TELEMETRY_CONTROL: ClientSpec = telemetryClient(
  'breakwater telemetry: off, a second instance (control)',
  () => undefined,
);

/** Rows of one mode from the batches' samples; `toValue` turns ms per call into the reported unit. */
function rows(
  clients: readonly string[],
  samples: readonly Readonly<Record<string, number>>[],
  toValue: (ms: number) => number,
  withDifference = false,
): OverheadRow[] {
  const series = (name: string): number[] => samples.map((s) => toValue(s[name] as number));
  const hasBreakwater = clients.includes(BREAKWATER);
  const fetch = series(clients[0] as string);
  return clients.map((client) => ({
    client,
    value: medianInterval(series(client)),
    vsFetch: pairedRatio(series(client), fetch),
    vsBreakwater: hasBreakwater ? pairedRatio(series(client), series(BREAKWATER)) : null,
    ...(withDifference ? { aboveFetch: pairedDifference(series(client), fetch) } : {}),
  }));
}

/** Each in-memory pair's figures over the batches. */
function memoryPairRows(modes: readonly PairsMode[], samples: readonly WorkerSample[]): MemoryPairRow[] {
  return modes.flatMap(({ base, lanes }) =>
    lanes.map((client) =>
      pairRow(
        base,
        client,
        samples.map((s) => s.memoryPairs?.[base]?.[client] as PairReading),
      ),
    ),
  );
}

/** Each feature pair's figures over the batches. */
function featureRows({ base, lanes }: PairsMode, samples: readonly WorkerSample[]): MemoryPairRow[] {
  return lanes.map((client) =>
    pairRow(
      base,
      client,
      samples.map((s) => s.featurePairs?.[client] as PairReading),
    ),
  );
}

/** One lane's pair readings over the batches, as intervals. */
function pairRow(base: string, client: string, readings: readonly PairReading[]): MemoryPairRow {
  return {
    base,
    client,
    vsBase: medianInterval(readings.map((r) => r.ratio)),
    aboveBase: medianInterval(readings.map((r) => r.aboveUs)),
  };
}

function redisRow(
  redis: { readonly url: string } | { readonly unavailable: string },
  memory: readonly Readonly<Record<string, number>>[],
): RedisStoreRow {
  if ('unavailable' in redis) return { unavailable: redis.unavailable };
  const series = (name: string): number[] => memory.map((s) => s[name] as number);
  return {
    client: REDIS_LANE,
    value: medianInterval(series(REDIS_LANE).map((ms) => ms * 1000)),
    vsInMemory: pairedRatio(series(REDIS_LANE), series(TELEMETRY_OFF)),
  };
}

/** The telemetry lanes and the control, each paired with telemetry off. */
function pairsMode(options: OverheadOptions, warmup: number): PairsMode {
  return {
    base: TELEMETRY_OFF,
    lanes: [TELEMETRY_CONTROL.name, ...TELEMETRY_CLIENTS.slice(1).map((c) => c.name)],
    rounds: options.pairRounds ?? 201,
    calls: options.pairCalls ?? 100,
    warmup,
  };
}

/**
 * Per base (raw fetch, then cockatiel retry+breaker when measured), the base itself (the control) and
 * breakwater, each paired with it in-memory. Run right after the in-memory mode, whose warm-up carries
 * over (no loopback call yet); each new instance still takes `warmup` calls.
 */
function memoryPairsModes(options: OverheadOptions, bases: readonly string[], warmup: number): PairsMode[] {
  return bases.map((base) => ({
    base,
    lanes: [base, BREAKWATER],
    rounds: options.memoryPairRounds ?? 101,
    calls: options.memoryPairCalls ?? 100,
    warmup,
  }));
}

/**
 * breakwater's default lane against itself (the control) and each lane less one default, paired with
 * it in-memory with the in-memory pairs' rounds and calls, run last in a batch.
 */
function featurePairsMode(options: OverheadOptions, warmup: number): PairsMode {
  return {
    base: BREAKWATER,
    lanes: [BREAKWATER, ...FEATURE_CLIENTS.map((c) => c.name)],
    rounds: options.memoryPairRounds ?? 101,
    calls: options.memoryPairCalls ?? 100,
    warmup,
  };
}

/** breakwater and a control (raw fetch against itself), each paired with raw fetch over loopback. */
function loopbackPairsMode(
  options: OverheadOptions,
  fetch: string,
  url: string,
  concurrency: number,
): PairsMode {
  return {
    base: fetch,
    lanes: [fetch, BREAKWATER],
    rounds: options.loopbackPairRounds ?? 61,
    calls: options.loopbackPairCalls ?? 2 * concurrency,
    warmup: options.loopbackPairWarmup ?? 15_000,
    url,
    concurrency,
  };
}

/** breakwater and a control (raw fetch in two processes), each against raw fetch, held for seconds. */
function sustainedMode(
  options: OverheadOptions,
  fetch: string,
  url: string,
  concurrency: number,
): SustainedMode | undefined {
  const pairs = options.sustainedPairs ?? 7;
  if (pairs === 0) return undefined;
  return {
    base: fetch,
    client: BREAKWATER,
    pairs,
    url,
    warmup: options.sustainedWarmup ?? 15_000,
    calls: options.sustainedCalls ?? 30_000,
    concurrency,
  };
}

/** Refuses a count of samples whose median would not be one of them. */
function oddCount(name: string, count: number): void {
  if (!Number.isInteger(count) || count < 1 || count % 2 === 0) {
    throw new Error(`overhead: ${name} must be an odd count (the median is then one sample), got ${count}`);
  }
}

/**
 * Runs both measurements. The first client must be raw fetch: ratios are to it. When breakwater is
 * among the clients, its telemetry variants ({@link TELEMETRY_CLIENTS}) are measured in the same
 * batches over the in-memory fetch.
 */
export async function runOverhead(
  chosen: readonly ClientSpec[],
  options: OverheadOptions = {},
): Promise<OverheadResult> {
  const batches = options.batches ?? 11;
  oddCount('batches', batches);
  for (const name of ['pairRounds', 'loopbackPairRounds', 'memoryPairRounds'] as const) {
    const rounds = options[name];
    if (rounds !== undefined) oddCount(name, rounds);
  }
  if (options.sustainedPairs) oddCount('sustainedPairs', options.sustainedPairs);
  const memoryCalls = options.memoryCalls ?? 600;
  const loopbackCalls = options.loopbackCalls ?? 240;
  const concurrency = options.concurrency ?? 32;
  const memoryRounds = options.memoryRounds ?? 12;
  const loopbackRounds = options.loopbackRounds ?? 4;
  const warmup = options.warmup ?? 20_000;
  const names = chosen.map((c) => c.name).filter(measured);
  const withTelemetry = names.includes(BREAKWATER);
  const redisUrl = withTelemetry && options.redis && 'url' in options.redis ? options.redis.url : undefined;
  // The telemetry lanes are timed in pairs against telemetry off; the Redis lane next to it here.
  const memoryNames = redisUrl ? [...names, TELEMETRY_OFF, REDIS_LANE] : names;
  const pairs = withTelemetry ? pairsMode(options, warmup) : undefined;
  const server = startWorker('server');
  try {
    const url = await customersUrl(server);
    const loopbackPairs = withTelemetry
      ? loopbackPairsMode(options, names[0] as string, url, concurrency)
      : undefined;
    const memoryPairs = withTelemetry
      ? memoryPairsModes(
          options,
          [names[0] as string, COCKATIEL_BARE].filter((name) => names.includes(name)),
          warmup,
        )
      : undefined;
    const featurePairs = withTelemetry ? featurePairsMode(options, warmup) : undefined;
    const samples: WorkerSample[] = [];
    for (let batch = 0; batch < batches; batch++) {
      samples.push(
        await runBatch({
          batch,
          memory: {
            clients: memoryNames,
            calls: memoryCalls,
            rounds: memoryRounds,
            concurrency: 1,
            warmup,
          },
          loopback: {
            clients: names,
            calls: loopbackCalls,
            rounds: loopbackRounds,
            concurrency,
            warmup: 2 * concurrency,
            url,
          },
          ...(redisUrl ? { redisUrl } : {}),
          ...(pairs ? { pairs } : {}),
          ...(loopbackPairs ? { loopbackPairs } : {}),
          ...(memoryPairs ? { memoryPairs } : {}),
          ...(featurePairs ? { featurePairs } : {}),
        }),
      );
      options.onBatch?.(batch + 1, batches);
    }
    const sustained = withTelemetry
      ? sustainedMode(options, names[0] as string, url, concurrency)
      : undefined;
    const cores = sustained && sustainedCores();
    const loopbackSustained = sustained && (await sustainedRows(sustained, cores));
    const memory = samples.map((s) => s.memory);
    const k = trimFor(batches, CONFIDENCE);
    return {
      method: {
        batches,
        memoryCalls,
        loopbackCalls,
        concurrency,
        memoryRounds,
        loopbackRounds,
        warmup,
        ...(pairs ? { pairRounds: pairs.rounds, pairCalls: pairs.calls } : {}),
        ...(loopbackPairs
          ? {
              loopbackPairRounds: loopbackPairs.rounds,
              loopbackPairCalls: loopbackPairs.calls,
              loopbackPairWarmup: loopbackPairs.warmup,
            }
          : {}),
        ...(memoryPairs?.[0]
          ? { memoryPairRounds: memoryPairs[0].rounds, memoryPairCalls: memoryPairs[0].calls }
          : {}),
        ...(sustained
          ? {
              sustainedPairs: sustained.pairs,
              sustainedCalls: sustained.calls,
              sustainedWarmup: sustained.warmup,
              ...(cores ? { sustainedCores: [cores.client, cores.server] as const } : {}),
            }
          : {}),
        coverage: repeatCoverage(batches, k),
        ranks: [k + 1, batches - k],
      },
      memory: rows(names, memory, (ms) => ms * 1000, true),
      loopback: rows(
        names,
        samples.map((s) => s.loopback),
        (ms) => 1000 / ms,
      ),
      telemetry: (pairs?.lanes ?? []).map((name) => ({
        client: name,
        vsOff: medianInterval(samples.map((s) => s.pairs?.[name] as number)),
      })),
      ...(loopbackPairs
        ? {
            loopbackPairs: loopbackPairs.lanes.map((client) => ({
              client,
              // Time over fetch's, turned into throughput over fetch's.
              vsFetch: medianInterval(samples.map((s) => 1 / (s.loopbackPairs?.[client] as number))),
            })),
          }
        : {}),
      ...(loopbackSustained ? { loopbackSustained } : {}),
      ...(memoryPairs ? { memoryPairs: memoryPairRows(memoryPairs, samples) } : {}),
      ...(featurePairs ? { features: featureRows(featurePairs, samples) } : {}),
      ...(withTelemetry && options.redis ? { redis: redisRow(options.redis, memory) } : {}),
    };
  } finally {
    server.child.kill();
  }
}
