/**
 * Per-call cost of each client, measured with tinybench in one run: over an in-memory fetch that
 * answers at once (the library's own cost) and over real loopback HTTP (what it adds to a real call).
 * Figures are ratios to raw fetch measured in the same run, so machines compare.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WrapFetchOptions, wrapFetch } from '@breakwater/core';
import { openTelemetry } from '@breakwater/core/telemetry';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Bench } from 'tinybench';
import type { ClientContext, ClientSpec } from './client.ts';
import { DEFAULT_ATTEMPT_TIMEOUT_MS } from './scenarios.ts';

export interface OverheadRow {
  readonly client: string;
  /** Mean ms per call. */
  readonly meanMs: number;
  /** Relative margin of error of the mean, in %. */
  readonly rme: number;
  readonly samples: number;
  /** mean / raw fetch's mean in the same run. */
  readonly ratioToFetch: number;
}

export interface OverheadResult {
  readonly memory: readonly OverheadRow[];
  readonly loopback: readonly OverheadRow[];
}

export interface OverheadOptions {
  /**
   * Time budget per task, mode and round (ms). Default 100 (was 150: cut, with a round, to keep the full
   * bench under two minutes once the throttle-tenant and budget scenarios joined it).
   */
  readonly timeMs?: number;
  /** Rounds; each task keeps its fastest round, which discounts JIT warm-up and GC noise. Default 2 (one in each order). */
  readonly rounds?: number;
}

type Call = () => Promise<void>;

async function measure(
  clients: readonly ClientSpec[],
  fetchImpl: typeof globalThis.fetch,
  url: string,
  readBody: boolean,
  timeMs: number,
  rounds: number,
): Promise<OverheadRow[]> {
  const signal = new AbortController().signal;
  const calls: [string, Call][] = [];
  const closers: (() => void)[] = [];
  for (const spec of clients) {
    const client = await spec.create({
      fetch: fetchImpl,
      routes: [{ name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' }],
      attemptTimeoutMs: DEFAULT_ATTEMPT_TIMEOUT_MS,
      breakers: true,
      now: () => performance.now(),
    });
    closers.push(() => client.close());
    calls.push([
      spec.name,
      async () => {
        const response = await client.call(url, signal);
        if (readBody) await response.arrayBuffer();
      },
    ]);
  }
  const best = new Map<string, OverheadRow>();
  try {
    for (let round = 0; round < rounds; round++) {
      // Alternate the order: whichever task runs first pays for warming the shared machinery.
      const ordered = round % 2 === 0 ? calls : [...calls].reverse();
      for (const row of await measureOnce(ordered, timeMs)) {
        const prev = best.get(row.client);
        if (!prev || row.meanMs < prev.meanMs) best.set(row.client, row);
      }
    }
  } finally {
    for (const close of closers) close();
  }
  const rows = calls.map(([name]) => best.get(name) as OverheadRow);
  const raw = rows[0]?.meanMs ?? Number.NaN;
  return rows.map((r) => ({ ...r, ratioToFetch: r.meanMs / raw }));
}

async function measureOnce(calls: readonly [string, Call][], timeMs: number): Promise<OverheadRow[]> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.round(timeMs / 2), throws: true });
  for (const [name, call] of calls) bench.add(name, call);
  await bench.run();
  return bench.tasks.map((task) => {
    const result = task.result;
    if (result.state !== 'completed')
      throw new Error(`overhead: ${task.name} did not complete (${result.state})`);
    return {
      client: task.name,
      meanMs: result.latency.mean,
      rme: result.latency.rme,
      samples: result.latency.samplesCount,
      ratioToFetch: Number.NaN,
    };
  });
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
 * span exporter and an uncollected metric reader, same configuration otherwise (no `onEvent`): what
 * the `telemetry` option costs per call. No context manager is registered: its cost is the SDK's.
 */
export const TELEMETRY_CLIENTS: readonly ClientSpec[] = [
  telemetryClient('breakwater telemetry: off', () => undefined),
  telemetryClient('breakwater telemetry: no SDK', () => openTelemetry()),
  telemetryClient('breakwater telemetry: in-memory SDK', (spans) =>
    openTelemetry({
      tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] }),
      meterProvider: new MeterProvider({ readers: [new UncollectedReader()] }),
    }),
  ),
];

function telemetryClient(
  name: string,
  telemetry: (spans: InMemorySpanExporter) => WrapFetchOptions['telemetry'],
): ClientSpec {
  return {
    name,
    description: `${name}: one endpoint rule per route, no onEvent`,
    async create(context: ClientContext) {
      const spans = new InMemorySpanExporter();
      const chosen = telemetry(spans);
      const f = wrapFetch(context.fetch, {
        endpoints: context.routes.map((r) => ({
          name: r.name,
          match: r.match,
          policy: { timeout: { attemptMs: context.attemptTimeoutMs } },
        })),
        ...(chosen ? { telemetry: chosen } : {}),
      });
      return {
        call: (url, signal) => {
          if (spans.getFinishedSpans().length > MAX_KEPT_SPANS) spans.reset();
          return f(url, { signal });
        },
        breakers: () => [],
        transitions: () => [],
        events: () => ({}),
        close() {},
      };
    },
  };
}

/**
 * Runs both measurements. The first client must be raw fetch: ratios are to it. When breakwater is
 * among the clients, its telemetry variants ({@link TELEMETRY_CLIENTS}) are measured in the same run.
 */
export async function runOverhead(
  chosen: readonly ClientSpec[],
  options: OverheadOptions = {},
): Promise<OverheadResult> {
  const timeMs = options.timeMs ?? 100;
  const rounds = options.rounds ?? 2;
  const clients = chosen.some((c) => c.name === 'breakwater') ? [...chosen, ...TELEMETRY_CLIENTS] : chosen;
  const memoryFetch: typeof globalThis.fetch = async () => new Response('{}', { status: 200 });
  const memory = await measure(
    clients,
    memoryFetch,
    'http://in-memory.test/v1/customers',
    false,
    timeMs,
    rounds,
  );

  const server = createServer({ keepAlive: true }, (_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const loopback = await measure(
      clients,
      globalThis.fetch,
      `http://127.0.0.1:${port}/v1/customers`,
      true,
      timeMs,
      rounds,
    );
    return { memory, loopback };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
