/**
 * Per-call cost of each client, measured with tinybench in one run: over an in-memory fetch that
 * answers at once (the library's own cost) and over real loopback HTTP (what it adds to a real call).
 * Figures are ratios to raw fetch measured in the same run, so machines compare.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Bench } from 'tinybench';
import type { ClientSpec } from './client.ts';

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
  /** Time budget per task, mode and round (ms). Default 300. */
  readonly timeMs?: number;
  /** Rounds; each task keeps its fastest round, which discounts JIT warm-up and GC noise. Default 2. */
  readonly rounds?: number;
}

async function measure(
  clients: readonly ClientSpec[],
  fetchImpl: typeof globalThis.fetch,
  url: string,
  readBody: boolean,
  timeMs: number,
  rounds: number,
): Promise<OverheadRow[]> {
  let best: OverheadRow[] = [];
  for (let round = 0; round < rounds; round++) {
    const rows = await measureOnce(clients, fetchImpl, url, readBody, timeMs);
    best =
      best.length === 0 ? rows : best.map((b, i) => (rows[i] && rows[i].meanMs < b.meanMs ? rows[i] : b));
  }
  const raw = best[0]?.meanMs ?? Number.NaN;
  return best.map((r) => ({ ...r, ratioToFetch: r.meanMs / raw }));
}

async function measureOnce(
  clients: readonly ClientSpec[],
  fetchImpl: typeof globalThis.fetch,
  url: string,
  readBody: boolean,
  timeMs: number,
): Promise<OverheadRow[]> {
  const signal = new AbortController().signal;
  const bench = new Bench({ time: timeMs, warmupTime: Math.round(timeMs / 2), throws: true });
  const closers: (() => void)[] = [];
  for (const spec of clients) {
    const client = await spec.create({
      fetch: fetchImpl,
      routes: [{ name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' }],
      attemptTimeoutMs: 10_000,
      now: () => performance.now(),
    });
    closers.push(() => client.close());
    bench.add(spec.name, async () => {
      const response = await client.call(url, signal);
      if (readBody) await response.arrayBuffer();
    });
  }
  try {
    await bench.run();
  } finally {
    for (const close of closers) close();
  }
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

/**
 * Runs both measurements. The first client must be raw fetch: ratios are to it.
 */
export async function runOverhead(
  clients: readonly ClientSpec[],
  options: OverheadOptions = {},
): Promise<OverheadResult> {
  const timeMs = options.timeMs ?? 300;
  const rounds = options.rounds ?? 2;
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
