import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { READ_AHEAD_BYTES } from './body-reads.ts';
import { breakwaterPolicy, createEndpointBreakers } from './cockatiel.ts';
import type { BreakwaterEvent } from './events.ts';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

// A retried response's body is not read by anyone. Over undici, a body larger than its stream buffer
// (about 64 KiB) holds its socket until it is read or cancelled: with a pool of one connection, kept
// unread through the wait and the retry, it left the retry (and every other call of the origin)
// waiting for that socket until their attempt timeouts.

/** Larger than undici's body buffer, so that an unread body holds its socket. */
const LARGE = 'x'.repeat(200_000);

type Answer = (res: ServerResponse, hit: number) => void;

let server: LoopbackServer;
const answers = new Map<string, Answer>();
const hits = new Map<string, number>();
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = await listenOnLoopback((req: IncomingMessage, res: ServerResponse) => {
    sockets.add(req.socket);
    const path = req.url ?? '/';
    const hit = (hits.get(path) ?? 0) + 1;
    hits.set(path, hit);
    const answer = answers.get(path);
    if (answer) answer(res, hit);
    else res.writeHead(404).end();
  });
});
afterAll(() => server.close());

let agent: Agent;
afterEach(async () => {
  answers.clear();
  hits.clear();
  sockets.clear();
  await agent?.destroy();
});

/** undici's fetch over a pool of one connection to the origin. */
function oneConnectionFetch(): typeof undiciFetch {
  agent = new Agent({ connections: 1 });
  const dispatcher = agent;
  return (input, init) => undiciFetch(input, { ...init, dispatcher });
}

/** Answers `status` with a large body on the first hit, then 200 `ok`. */
function failsOnceLarge(status: number, headers: Record<string, string> = {}): Answer {
  return (res, hit) => {
    if (hit === 1) res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(LARGE);
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  };
}

/** A call through `fetch` to another path of the origin is served at once: no socket is held. */
async function expectServedAtOnce(fetch: typeof undiciFetch): Promise<void> {
  answers.set('/other', (res) => res.end('other'));
  const started = performance.now();
  const other = await fetch(`${server.origin}/other`, { signal: AbortSignal.timeout(2_000) });
  expect(await other.text()).toBe('other');
  expect(performance.now() - started).toBeLessThan(500);
}

const quick = {
  backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
} as const;

/**
 * A hedge, sent 100 ms into a call whose first attempt answers a 502 of `body` at 300 ms, is served on
 * the one connection at once: the call ends on its `ok` well before its attempt timeout.
 */
async function expectHedgeServed(path: string, body: string): Promise<void> {
  answers.set(path, (res, hit) => {
    if (hit === 1) setTimeout(() => res.writeHead(502, { 'content-type': 'text/plain' }).end(body), 300);
    else res.end('ok');
  });
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(oneConnectionFetch(), {
    policy: {
      retry: quick,
      hedging: { enabled: true, delayMs: 100 },
      timeout: { attemptMs: 2_000, totalMs: 10_000 },
    },
    onEvent: (event) => events.push(event),
  });
  const started = performance.now();
  const res = await fetch(`${server.origin}${path}`);
  expect(await res.text()).toBe('ok');
  expect(performance.now() - started).toBeLessThan(1_500);
  expect(events.filter((e) => e.type === 'timeout')).toEqual([]);
}

describe('a retried response gives its connection back', () => {
  it('so that the retry does not wait for the socket its body holds', async () => {
    answers.set('/retry', failsOnceLarge(502));
    const events: BreakwaterEvent[] = [];
    const fetch = wrapFetch(oneConnectionFetch(), {
      policy: { retry: quick, timeout: { attemptMs: 2_000, totalMs: 10_000 } },
      onEvent: (event) => events.push(event),
    });
    const started = performance.now();
    const res = await fetch(`${server.origin}/retry`);
    expect(await res.text()).toBe('ok');
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(events.filter((e) => e.type === 'timeout')).toEqual([]);
    expect(hits.get('/retry')).toBe(2);
  });

  it('and a body that is longer than the read-ahead, or stalls, is cancelled when the retry is sent', async () => {
    answers.set('/stalls', (res, hit) => {
      // Headers and part of the body, then nothing: only a cancel frees this socket.
      if (hit === 1) res.writeHead(502, { 'content-type': 'text/plain' }).write(LARGE);
      else res.end('ok');
    });
    const long = 'y'.repeat(READ_AHEAD_BYTES * 2);
    answers.set('/long', (res, hit) => {
      if (hit === 1) res.writeHead(502, { 'content-type': 'text/plain' }).end(long);
      else res.end('ok');
    });
    const fetch = wrapFetch(oneConnectionFetch(), {
      policy: { retry: quick, timeout: { attemptMs: 2_000, totalMs: 10_000 } },
    });
    for (const path of ['/long', '/stalls']) {
      const started = performance.now();
      const res = await fetch(`${server.origin}${path}`);
      expect(await res.text()).toBe('ok');
      expect(performance.now() - started).toBeLessThan(1_500);
    }
  });

  it('while it waits out Retry-After: another endpoint of the origin is served meanwhile, on the same socket', async () => {
    answers.set('/throttled', failsOnceLarge(429, { 'retry-after': '1' }));
    let waiting: () => void = () => {};
    const waitStarted = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const fetch = wrapFetch(oneConnectionFetch(), {
      endpoints: [{ name: 'throttled', match: '/throttled' }],
      policy: { timeout: { attemptMs: 3_000, totalMs: 10_000 } },
      onEvent: (event) => {
        if (event.type === 'retry') waiting();
      },
    });
    const throttled = fetch(`${server.origin}/throttled`);
    // Awaited at the end: a failed assertion before must not leave it unhandled.
    throttled.catch(() => {});
    await waitStarted;
    // The throttled call's retry is a second away: the other call does not wait for it.
    await expectServedAtOnce(fetch);
    expect(await (await throttled).text()).toBe('ok');
    // The 429's body was read to its end, not cancelled: the connection was kept alive and reused.
    expect(sockets.size).toBe(1);
  });

  it('and a call that ends on that response after all still hands its body back whole', async () => {
    answers.set('/isolated', failsOnceLarge(503, { 'retry-after': '1' }));
    const fetch = wrapFetch(oneConnectionFetch(), {
      policy: { timeout: { attemptMs: 3_000, totalMs: 10_000 } },
      // The breaker is held open by hand during the wait: the call ends on the 503 it had.
      onEvent: (event) => {
        if (event.type === 'retry') setTimeout(() => fetch.isolate(event.key), 200);
      },
    });
    const res = await fetch(`${server.origin}/isolated`);
    expect(res.status).toBe(503);
    expect(await res.text()).toBe(LARGE);
    expect(hits.get('/isolated')).toBe(1);
  });

  it('and a caller that cancels that body then frees its connection, even while the body stalls', async () => {
    answers.set('/isolated-stalls', (res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).write(LARGE);
    });
    const fetch = wrapFetch(oneConnectionFetch(), {
      endpoints: [{ name: 'isolated', match: '/isolated-stalls' }],
      policy: { timeout: { attemptMs: 3_000, totalMs: 10_000 } },
      onEvent: (event) => {
        if (event.type === 'retry') setTimeout(() => fetch.isolate(event.key), 200);
      },
    });
    const res = await fetch(`${server.origin}/isolated-stalls`);
    expect(res.status).toBe(503);
    // Resolves, as fetch's body's cancel does (a tee branch's waits for the other branch's).
    await res.body?.cancel();
    await expectServedAtOnce(fetch);
  });

  it('when a hedged attempt waits for the connection of an unacceptable answer', async () => {
    await expectHedgeServed('/hedged', LARGE);
  });
});

describe('a hedge beside an unacceptable answer longer than the read-ahead', () => {
  it("is not kept waiting for its connection: that answer's body is cancelled", async () => {
    await expectHedgeServed('/hedged-long', 'y'.repeat(READ_AHEAD_BYTES * 2));
  });
});

describe('a fetch whose answer is only Response-like', () => {
  it('is retried as before: its body is not read ahead (it has no clone)', async () => {
    let calls = 0;
    const fetch = wrapFetch(
      async () => {
        calls++;
        if (calls > 1) return new Response('ok');
        const body = new ReadableStream<Uint8Array>({ start: (c) => c.enqueue(new Uint8Array(8)) });
        return {
          status: 502,
          ok: false,
          headers: new Headers(),
          body,
          bodyUsed: false,
        } as unknown as Response;
      },
      { policy: { retry: quick } },
    );
    expect(await (await fetch('https://api.example.com/')).text()).toBe('ok');
    expect(calls).toBe(2);
  });
});

describe("breakwaterPolicy's retry gives the connection back too", () => {
  it('so that the next attempt of its fn does not wait for the socket the last body holds', async () => {
    answers.set('/policy', failsOnceLarge(502));
    const url = `${server.origin}/policy`;
    const fetch = oneConnectionFetch();
    const policy = breakwaterPolicy({ target: { method: 'GET', url }, policy: { retry: quick } });
    const started = performance.now();
    const res = await policy.execute(({ signal }) =>
      // Each attempt is the fn's to bound: 2 s, as an attempt timeout would.
      fetch(url, { signal: AbortSignal.any([signal, AbortSignal.timeout(2_000)]) }),
    );
    expect(await res.text()).toBe('ok');
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(hits.get('/policy')).toBe(2);
  });

  it('and reads it ahead during the wait, so that the connection is kept alive and reused', async () => {
    answers.set('/policy-wait', failsOnceLarge(503, { 'retry-after': '1' }));
    const url = `${server.origin}/policy-wait`;
    const fetch = oneConnectionFetch();
    let waiting: () => void = () => {};
    const waitStarted = new Promise<void>((resolve) => {
      waiting = resolve;
    });
    const policy = breakwaterPolicy({
      target: { method: 'GET', url },
      onEvent: (event) => {
        if (event.type === 'retry') waiting();
      },
    });
    const call = policy.execute(({ signal }) => fetch(url, { signal }));
    call.catch(() => {});
    await waitStarted;
    await expectServedAtOnce(fetch);
    expect(await (await call).text()).toBe('ok');
    expect(sockets.size).toBe(1);
  });

  it('and cancels it when the caller aborts during the wait', async () => {
    // A body that stalls: the read-ahead cannot free its socket, only a cancel can.
    answers.set('/policy-abort', (res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).write(LARGE);
    });
    const url = `${server.origin}/policy-abort`;
    const fetch = oneConnectionFetch();
    const controller = new AbortController();
    const policy = breakwaterPolicy({
      target: { method: 'GET', url },
      policy: { timeout: { totalMs: 10_000 } },
      onEvent: (event) => {
        if (event.type === 'retry') controller.abort();
      },
    });
    // A fn that does not pass the signal on: its body is not aborted with it.
    await expect(policy.execute(() => fetch(url), controller.signal)).rejects.toThrow();
    await expectServedAtOnce(fetch);
  });

  it('and when the breaker refuses the retry, the caller can cancel the body it ends on', async () => {
    answers.set('/policy-isolated', (res) => {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).write(LARGE);
    });
    const url = `${server.origin}/policy-isolated`;
    const fetch = oneConnectionFetch();
    const breakers = createEndpointBreakers({
      onEvent: (event) => {
        if (event.type === 'retry') setTimeout(() => breakers.isolate(event.key), 200);
      },
    });
    const policy = breakwaterPolicy({ target: { method: 'GET', url }, breakers });
    const res = await policy.execute(({ signal }) => fetch(url, { signal }));
    expect(res.status).toBe(503);
    await res.body?.cancel();
    await expectServedAtOnce(fetch);
  });
});
