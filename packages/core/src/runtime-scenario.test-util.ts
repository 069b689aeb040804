/**
 * The scenarios runtimes.test.ts runs under Bun and Deno, one per process:
 *
 *   <runtime> runtime-scenario.test-util.ts <scenario> <loopback origin> [quick start file | origin]
 *
 * It imports breakwater by its package names, resolved to the TypeScript sources through the
 * `@breakwater/source` condition the test passes to the runtime, and prints one line of JSON for the
 * test to assert on. Only what every runtime has is used here (fetch, `process.argv`, dynamic import):
 * Deno runs this with `process` from its Node compatibility layer.
 */
import { type BreakwaterEvent, BrokenCircuitError, wrapFetch } from '@breakwater/core';

const PARTNER_CENTER = 'https://api.partnercenter.microsoft.com';

type Report = Record<string, unknown>;

/**
 * README.md's quick start, as written, from the file the test extracted it to. Its requests go to
 * Partner Center's host; globalThis.fetch is replaced by one that sends them to the loopback server
 * (only the origin changes, so the preset still sees Partner Center's host) and refuses anything else.
 */
async function quickStart(origin: string, file: string): Promise<Report> {
  const realFetch = globalThis.fetch;
  const logged: unknown[][] = [];
  const toLoopback = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== PARTNER_CENTER) throw new Error(`unexpected origin ${url.origin}`);
    return realFetch(`${origin}${url.pathname}${url.search}`, init);
  };
  const { log, error } = console;
  console.log = (...args: unknown[]) => logged.push(['log', ...args]);
  console.error = (...args: unknown[]) => logged.push(['error', ...args]);
  globalThis.fetch = toLoopback as typeof fetch;
  try {
    await import(file);
  } finally {
    globalThis.fetch = realFetch;
    console.log = log;
    console.error = error;
  }
  return { logged };
}

/** One call to a path answering 503 with `Retry-After: 1` once, then 200. */
async function retryAfter(origin: string): Promise<Report> {
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, { onEvent: (event) => events.push(event) });
  const started = performance.now();
  const res = await fetch(`${origin}/flaky`);
  return {
    status: res.status,
    body: await res.json(),
    ms: performance.now() - started,
    retries: events.filter((event) => event.type === 'retry'),
  };
}

/**
 * Calls to a path that always answers 500 until one is refused (at most `limit`, so a breaker that
 * never opens ends the scenario), with the default policy: 500 is not retried and counts as a
 * failure, and 5 consecutive failures open the breaker.
 */
async function breaker(origin: string, limit = 10): Promise<Report> {
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, { onEvent: (event) => events.push(event) });
  const statuses: number[] = [];
  for (let i = 0; i < limit; i++) {
    const started = performance.now();
    try {
      const res = await fetch(`${origin}/down`);
      await res.body?.cancel();
      statuses.push(res.status);
    } catch (error) {
      const refusal = {
        name: (error as Error).name,
        isBrokenCircuitError: error instanceof BrokenCircuitError,
        endpoint: error instanceof BrokenCircuitError ? error.endpoint : undefined,
        state: error instanceof BrokenCircuitError ? error.state : undefined,
        retryAfterMs: error instanceof BrokenCircuitError ? error.retryAfterMs : undefined,
        message: (error as Error).message,
        ms: performance.now() - started,
      };
      const breakers = fetch.breakers().map(({ key, state, failures, consecutiveFailures }) => ({
        key,
        state,
        failures,
        consecutiveFailures,
      }));
      const types = events.map((event) => event.type);
      return { statuses, refusal, breakers, events: types };
    }
  }
  return { statuses, refusal: null };
}

/**
 * GETs to paths whose first request loses its connection before any response (reset, or closed
 * without a word), then answer 200: each is retried once, as a network error of the runtime's fetch.
 */
async function networkErrors(origin: string): Promise<Report> {
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, { onEvent: (event) => events.push(event) });
  const outcomes: unknown[] = [];
  for (const path of ['/reset', '/closed']) {
    try {
      const res = await fetch(`${origin}${path}`);
      outcomes.push([path, res.status, await res.text()]);
    } catch (error) {
      outcomes.push([path, String(error), String((error as Error).cause)]);
    }
  }
  const retries = events.flatMap((event) => (event.type === 'retry' ? [[event.attempt, event.reason]] : []));
  return { outcomes, retries };
}

/**
 * The wrapped fetch's `preconnect` (Bun's fetch has one; Deno's has none, nor must the wrapped one):
 * called for `target`, then the test's `probe` server is asked until `target` saw the connection.
 */
async function preconnect(probe: string, target: string): Promise<Report> {
  // Typed with lib dom's fetch here, which has no preconnect: Bun's is there at run time only.
  const fetch = wrapFetch(globalThis.fetch) as unknown as { preconnect?: (url: string) => void };
  const kind = typeof fetch.preconnect;
  if (typeof fetch.preconnect !== 'function') return { preconnect: kind };
  fetch.preconnect(`${target}/`);
  let connections = 0;
  const started = performance.now();
  while (connections === 0 && performance.now() - started < 5000) {
    connections = Number(await (await globalThis.fetch(`${probe}/connections`)).text());
    if (connections === 0) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { preconnect: kind, connections };
}

async function main(): Promise<Report> {
  const [scenario, origin, file] = process.argv.slice(2);
  if (!origin?.startsWith('http://127.0.0.1:')) throw new Error(`not a loopback origin: ${origin}`);
  if (scenario === 'quick-start' && file) return quickStart(origin, file);
  if (scenario === 'retry-after') return retryAfter(origin);
  if (scenario === 'breaker') return breaker(origin);
  if (scenario === 'network-errors') return networkErrors(origin);
  if (scenario === 'preconnect' && file?.startsWith('http://127.0.0.1:')) return preconnect(origin, file);
  throw new Error(`unknown scenario ${scenario}`);
}

const runtime = 'Bun' in globalThis ? 'bun' : 'Deno' in globalThis ? 'deno' : 'node';
try {
  console.log(JSON.stringify({ runtime, ...(await main()) }));
} catch (error) {
  console.log(JSON.stringify({ runtime, thrown: String((error as Error)?.stack ?? error) }));
  process.exitCode = 1;
}
