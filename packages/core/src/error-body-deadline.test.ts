import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpError } from './http-error.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * An error body that sends a few bytes and stalls: without a bound of breakwater's own, reading it
 * lasts until undici's body timeout (300 s), whatever the call's deadline.
 *
 * The timers and clocks are fake (vitest's), the server and undici real: time moves only when a test
 * moves it, and only once the client has the response's head (real I/O, waited for in real time). A
 * slow machine then cannot time an attempt out before its head arrives, which under load turned the
 * 503 these tests expect into a timeout (2 runs in 10 with two cores busy); and the bounds below are
 * the code's exact guarantees, not a margin for the event loop's lag.
 */
let answered = 0;
let onAnswered: () => void = () => {};
/** Real undici fetch, counting the responses whose head reached the client. */
const fetch: typeof undiciFetch = (input, init) =>
  undiciFetch(input, init).then((response) => {
    answered++;
    onAnswered();
    return response;
  });

/**
 * Resolves once `count` responses of the test have reached the client, and the promise jobs they
 * started have run (a turn of the event loop: setImmediate is not faked). Not `vi.waitUntil`, which
 * moves the fake clock while it polls.
 */
function headsIn(count: number): Promise<void> {
  return new Promise((resolve) => {
    onAnswered = () => {
      if (answered >= count) setImmediate(resolve);
    };
    onAnswered();
  });
}

let server: Server;
let origin: string;
let requests = 0;
const open = new Set<ServerResponse>();
beforeAll(async () => {
  server = createServer((_req, res) => {
    requests++;
    open.add(res);
    res.writeHead(503, { 'content-type': 'application/json' });
    res.write('{"code": 50'); // ...and never the rest
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
beforeEach(() => {
  requests = 0;
  answered = 0;
  vi.useFakeTimers({
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
  });
});
afterEach(() => {
  vi.useRealTimers();
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

/**
 * Attempt timeout 200 ms, deadline 300 ms, and a fixed 150 ms backoff. The veto read runs until the
 * sooner of the retry's wait (150 ms, raised to the 250 ms floor) and the attempt's timeout: it is cut
 * at 200 ms. The step after it is judged from the read's end, as if the whole wait were still ahead:
 * 200 + 150 ms passes the deadline, so the call hands back the 503 at 200 ms, give-up `deadline` (no
 * race with a second attempt cut by the deadline, which would end in TimeoutError instead).
 */
const SHORT = {
  retry: { backoff: { kind: 'none', initialDelayMs: 150, maxDelayMs: 150, throttleInitialDelayMs: 150 } },
  timeout: { attemptMs: 200, totalMs: 300 },
} as const;

/** How a promise settled, as far as it has: `pending` until it does. */
function watch<T>(promise: Promise<T>): { value?: T; error?: unknown; pending: boolean } {
  const state: { value?: T; error?: unknown; pending: boolean } = { pending: true };
  promise.then(
    (value) => Object.assign(state, { value, pending: false }),
    (error: unknown) => Object.assign(state, { error, pending: false }),
  );
  return state;
}

/**
 * Moves the fake clock `ms` ahead, once the `heads`-th response's head is in; `heads` 0 moves it at
 * once. Timers due on the way run in order, with the promise jobs they start.
 */
async function advance(ms: number, heads = 0): Promise<void> {
  if (heads > 0) await headsIn(heads);
  await vi.advanceTimersByTimeAsync(ms);
}

describe("a stalled JSON error body never outlives the call's deadline", () => {
  it('503 with the default throwHttpErrors: false resolves with the Response by the deadline', async () => {
    const wrapped = wrapFetch(fetch, { policy: SHORT });
    const call = watch(wrapped(`${origin}/stall`));
    await advance(300, 1);
    expect(call.pending).toBe(false);
    expect(call.value?.status).toBe(503);
    expect(requests).toBe(1);
  });

  it('503 with throwHttpErrors: true rejects with an HttpError without payload by the deadline', async () => {
    const wrapped = wrapFetch(fetch, {
      throwHttpErrors: true,
      policy: SHORT,
    });
    const call = watch(wrapped(`${origin}/stall`));
    await advance(300, 1);
    expect(call.pending).toBe(false);
    expect(call.error).toBeInstanceOf(HttpError);
    expect((call.error as HttpError).status).toBe(503);
    expect((call.error as HttpError).code).toBeUndefined();
  });

  it('an HttpError for a 503 that is not retried (POST) is bounded by the attempt timeout', async () => {
    const wrapped = wrapFetch(fetch, {
      throwHttpErrors: true,
      policy: { timeout: { attemptMs: 200, totalMs: 30_000 } },
    });
    const call = watch(wrapped(`${origin}/stall`, { method: 'POST', body: 'x' }));
    await advance(200, 1);
    expect(call.pending).toBe(false);
    expect(call.error).toBeInstanceOf(HttpError);
    expect(requests).toBe(1);
  });

  it('a veto read cut by the attempt timeout is no veto: the call is retried by its verdict', async () => {
    const wrapped = wrapFetch(fetch, {
      policy: {
        retry: {
          maxAttempts: 2,
          backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
        },
        timeout: { attemptMs: 150, totalMs: 30_000 },
      },
    });
    const call = watch(wrapped(`${origin}/stall`));
    await advance(150, 1); // the first veto read is cut...
    await advance(1); // ...the 1 ms backoff passes, and the retry is sent
    await advance(150, 2);
    expect(call.pending).toBe(false);
    expect(call.value?.status).toBe(503);
    expect(requests).toBe(2);
  });

  it("the caller's abort ends the veto read at once, rejecting with the abort reason", async () => {
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 10_000, totalMs: 30_000 } } });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    setTimeout(() => controller.abort(reason), 100);
    const call = watch(wrapped(`${origin}/stall`, { signal: controller.signal }));
    await advance(99, 1);
    expect(call.pending).toBe(true);
    await advance(1);
    expect(call.pending).toBe(false);
    expect(call.error).toBe(reason);
  });
});
