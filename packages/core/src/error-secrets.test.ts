import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import type { PolicyInput } from '@breakwater/policies';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokenCircuitError, BulkheadRejectedError, ThrottledError, TimeoutError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** Every secret contains this marker; nothing reachable from an error may. */
const MARK = 'S3CR3T';
const QUERY = `?token=${MARK}-query&page=2`;
const AUTH = `Bearer ${MARK}-auth`;
const API_KEY = `${MARK}-api-key`;
const SET_COOKIE = `session=${MARK}-cookie; HttpOnly`;

const fetch = undiciFetch;
const fast: PolicyInput = {
  retry: { maxAttempts: 1 },
};

let server: Server;
let origin: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const secretHeaders = { 'set-cookie': SET_COOKIE, 'x-echo-auth': String(req.headers.authorization) };
    if (path === '/stall') return; // never answers
    if (path === '/throttle') {
      res.writeHead(429, { ...secretHeaders, 'retry-after': '100', 'content-type': 'application/json' });
      res.end('{}');
      return;
    }
    if (path === '/down') {
      res.writeHead(500, secretHeaders);
      res.end('down');
      return;
    }
    res.writeHead(404, { ...secretHeaders, 'content-type': 'application/json' });
    res.end('{"code":3000,"description":"Not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(
  () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
);

const secretInit = () => ({
  headers: { authorization: AUTH, 'x-api-key': API_KEY, cookie: `sid=${MARK}-request-cookie` },
});

/** Every way an error gets printed or serialised, its cause chain included. */
function renderings(error: unknown): Record<string, string> {
  const out: Record<string, string> = {
    inspect: inspect(error),
    inspectDeep: inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true }),
    json: JSON.stringify(error) ?? '',
    string: String(error),
  };
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    out[`stack${depth}`] = current.stack ?? '';
    out[`message${depth}`] = current.message;
    current = current.cause;
  }
  return out;
}

function expectNoSecret(error: unknown): void {
  for (const [how, text] of Object.entries(renderings(error))) {
    expect({ how, leaks: text.includes(MARK) }).toEqual({ how, leaks: false });
  }
}

describe('nothing reachable by inspecting an error carries a secret', () => {
  it('HttpError: no query value, no Set-Cookie, no request credential; error.response stays usable', async () => {
    const wrapped = wrapFetch(fetch, { throwHttpErrors: true, policy: fast });
    const error = await wrapped(`${origin}/missing${QUERY}`, secretInit()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expectNoSecret(error);
    const httpError = error as HttpError;
    expect(httpError.url).toBe(`${origin}/missing?token=REDACTED&page=REDACTED`);
    expect(httpError.code).toBe('3000');
    // The Response is public API: still there for whoever asks for it explicitly.
    expect(httpError.response.status).toBe(404);
    expect(httpError.response.headers.get('set-cookie')).toBe(SET_COOKIE);
    expect(Object.keys(httpError)).not.toContain('response');
    expect({ ...httpError }).not.toHaveProperty('response');
  });

  it('HttpError built by hand from a Response with a secret URL', async () => {
    const response = await fetch(`${origin}/missing${QUERY}`, secretInit());
    // HttpError.from is typed with the global Response; undici's has all it reads.
    const error = await HttpError.from(response);
    expectNoSecret(error);
    expect(error.response).toBe(response);
  });

  it('TimeoutError, attempt and total', async () => {
    const attempt = await wrapFetch(fetch, {
      policy: { ...fast, timeout: { attemptMs: 50, totalMs: 5000 } },
    })(`${origin}/stall${QUERY}`, secretInit()).catch((e: unknown) => e);
    expect(attempt).toMatchObject({ name: 'BreakwaterTimeoutError', scope: 'attempt' });
    expectNoSecret(attempt);
    const total = await wrapFetch(fetch, { policy: { timeout: { attemptMs: 50, totalMs: 50 } } })(
      `${origin}/stall${QUERY}`,
      secretInit(),
    ).catch((e: unknown) => e);
    expect(total).toBeInstanceOf(TimeoutError);
    expect(total).toMatchObject({ scope: 'total' });
    expectNoSecret(total);
  });

  it('ThrottledError', async () => {
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 1000, totalMs: 1000 } } });
    await wrapped(`${origin}/throttle${QUERY}`, secretInit());
    const error = await wrapped(`${origin}/throttle${QUERY}`, secretInit()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expectNoSecret(error);
  });

  it('BrokenCircuitError', async () => {
    const wrapped = wrapFetch(fetch, {
      policy: { ...fast, breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 } },
    });
    await wrapped(`${origin}/down${QUERY}`, secretInit());
    const error = await wrapped(`${origin}/down${QUERY}`, secretInit()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expectNoSecret(error);
  });

  it('BulkheadRejectedError', async () => {
    const controller = new AbortController();
    const wrapped = wrapFetch(fetch, { policy: { ...fast, bulkhead: { maxConcurrent: 1, maxQueued: 0 } } });
    const stalled = wrapped(`${origin}/stall${QUERY}`, { ...secretInit(), signal: controller.signal });
    const error = await wrapped(`${origin}/stall${QUERY}`, secretInit()).catch((e: unknown) => e);
    controller.abort();
    await stalled.catch(() => {});
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expectNoSecret(error);
  });
});
