import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * An error body that sends a few bytes and stalls: without a bound of breakwater's own, reading it
 * lasts until undici's body timeout (300 s), whatever the call's deadline.
 */
const fetch = undiciFetch as unknown as FetchLike;
/** Far below undici's 300 s, far above the deadlines used here: the bound is the deadline, not luck. */
const HANG_LIMIT_MS = 5_000;

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
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

/**
 * Attempt timeout 200 ms, deadline 300 ms, and a fixed 150 ms backoff: when the veto read is cut at
 * 200 ms, the retry would end past the deadline, so the call hands back the 503 (no race with a second
 * attempt cut by the deadline, which would end in TimeoutError instead).
 */
const SHORT = {
  retry: { backoff: { kind: 'none', initialDelayMs: 150, maxDelayMs: 150, throttleInitialDelayMs: 150 } },
  timeout: { attemptMs: 200, totalMs: 300 },
} as const;

/** How a promise settled and after how many ms; 'hung' if not within HANG_LIMIT_MS. */
async function timed<T>(
  promise: Promise<T>,
): Promise<{ ms: number; value?: T; error?: unknown; hung?: true }> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<{ hung: true }>((resolve) => {
    timer = setTimeout(() => resolve({ hung: true }), HANG_LIMIT_MS);
  });
  const settled = await Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    hung,
  ]);
  clearTimeout(timer);
  return { ms: performance.now() - started, ...settled };
}

describe("a stalled JSON error body never outlives the call's deadline", () => {
  it('503 with the default throwHttpErrors: false resolves with the Response by the deadline', async () => {
    const wrapped = wrapFetch(fetch, { policy: SHORT });
    const result = await timed(wrapped(`${origin}/stall`));
    expect(result.hung).toBeUndefined();
    expect((result.value as Response).status).toBe(503);
    expect(requests).toBe(1);
    expect(result.ms).toBeLessThan(300 + 500);
  });

  it('503 with throwHttpErrors: true rejects with an HttpError without payload by the deadline', async () => {
    const wrapped = wrapFetch(fetch, {
      throwHttpErrors: true,
      policy: SHORT,
    });
    const result = await timed(wrapped(`${origin}/stall`));
    expect(result.hung).toBeUndefined();
    expect(result.error).toBeInstanceOf(HttpError);
    expect((result.error as HttpError).status).toBe(503);
    expect((result.error as HttpError).code).toBeUndefined();
    expect(result.ms).toBeLessThan(300 + 500);
  });

  it('an HttpError for a 503 that is not retried (POST) is bounded by the attempt timeout', async () => {
    const wrapped = wrapFetch(fetch, {
      throwHttpErrors: true,
      policy: { timeout: { attemptMs: 200, totalMs: 30_000 } },
    });
    const result = await timed(wrapped(`${origin}/stall`, { method: 'POST', body: 'x' }));
    expect(result.error).toBeInstanceOf(HttpError);
    expect(result.ms).toBeLessThan(200 + 500);
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
    const result = await timed(wrapped(`${origin}/stall`));
    expect(result.hung).toBeUndefined();
    expect((result.value as Response).status).toBe(503);
    expect(requests).toBe(2);
    expect(result.ms).toBeLessThan(2 * 150 + 500);
  });

  it("the caller's abort ends the veto read at once, rejecting with the abort reason", async () => {
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 10_000, totalMs: 30_000 } } });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    setTimeout(() => controller.abort(reason), 100);
    const result = await timed(wrapped(`${origin}/stall`, { signal: controller.signal }));
    expect(result.error).toBe(reason);
    expect(result.ms).toBeLessThan(100 + 500);
  });
});
