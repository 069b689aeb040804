import type { IncomingMessage } from 'node:http';
import {
  type HeadersInit as UndiciHeadersInit,
  type RequestInit as UndiciInit,
  Request as UndiciRequest,
  fetch as undiciFetch,
} from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const ID = 'ms-correlationid';

/** Three attempts, 1 ms apart: every one answered 503, so the call ends in an HttpError. */
function wrapped() {
  return wrapFetch(undiciFetch, {
    throwHttpErrors: true,
    policy: {
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 1, maxDelayMs: 1 } },
      breaker: { enabled: false },
    },
  });
}

describe('headers are taken when fetch is called, as fetch takes them (issue 17)', () => {
  let server: LoopbackServer;
  /** The correlation id each request reached the server with, in arrival order. */
  let seen: (string | undefined)[];

  beforeEach(async () => {
    seen = [];
    server = await listenOnLoopback((req: IncomingMessage, res) => {
      seen.push(req.headers[ID] as string | undefined);
      res.writeHead(503).end();
    });
  });
  afterEach(() => server.close());

  /** Starts a call, changes the caller's headers at once, and returns the HttpError's correlation id. */
  async function callThenChange(init: UndiciInit, change: () => void): Promise<string | undefined> {
    const call = wrapped()(`${server.origin}/v1/items`, init).catch((e: unknown) => e);
    change();
    const error = await call;
    expect(error).toBeInstanceOf(HttpError);
    return (error as HttpError).correlationId;
  }

  it('a record reused and changed after the call: every retry and the HttpError carry the values at call time', async () => {
    const headers: Record<string, string> = { 'Ms-CorrelationId': 'call-1' };
    const id = await callThenChange({ headers }, () => {
      headers['Ms-CorrelationId'] = 'call-2';
    });
    expect(seen).toEqual(['call-1', 'call-1', 'call-1']);
    expect(id).toBe('call-1');
  });

  it('an array of pairs changed after the call (a pair replaced, a pair edited)', async () => {
    const pair: [string, string] = ['Ms-CorrelationId', 'call-1'];
    const headers: [string, string][] = [pair];
    const id = await callThenChange({ headers }, () => {
      pair[1] = 'call-2';
      headers.push(['Ms-CorrelationId', 'call-3']);
    });
    expect(seen).toEqual(['call-1', 'call-1', 'call-1']);
    expect(id).toBe('call-1');
  });

  it('many calls sharing one headers object, not awaited in between, each keep their own value', async () => {
    const headers: Record<string, string> = {};
    const fetch = wrapped();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      headers['Ms-CorrelationId'] = `call-${i}`;
      calls.push(fetch(`${server.origin}/v1/items`, { headers }).catch((e: unknown) => e));
    }
    const errors = await Promise.all(calls);
    expect(errors.map((e) => (e as HttpError).correlationId)).toEqual([
      'call-0',
      'call-1',
      'call-2',
      'call-3',
    ]);
    for (let i = 0; i < 4; i++) expect(seen.filter((id) => id === `call-${i}`)).toHaveLength(3);
  });
  it('a Headers object, a Map or a Request input changed after the call: every retry sends the values at call time', async () => {
    const headers = new Headers({ 'Ms-CorrelationId': 'call-1' });
    // The global Headers, which undici's types do not name (undici's fetch reads it as pairs).
    const given = headers as unknown as UndiciHeadersInit;
    expect(await callThenChange({ headers: given }, () => headers.set(ID, 'call-2'))).toBe('call-1');
    const map = new Map([['Ms-CorrelationId', 'call-1']]);
    expect(
      // Nor a Map, read the same way.
      await callThenChange({ headers: map as unknown as UndiciHeadersInit }, () =>
        map.set('Ms-CorrelationId', 'call-2'),
      ),
    ).toBe('call-1');
    // undici's own Request (and so its own Headers), as the wrapped fetch is undici's.
    const request = new UndiciRequest(`${server.origin}/v1/items`, {
      headers: { 'Ms-CorrelationId': 'call-1' },
    });
    const call = wrapped()(request).catch((e: unknown) => e);
    request.headers.set(ID, 'call-2');
    expect(((await call) as HttpError).correlationId).toBe('call-1');
    expect(seen).toEqual(Array(9).fill('call-1'));
  });

  it('headers given as a generator (read once) reach every attempt', async () => {
    function* pairs(): Generator<[string, string]> {
      yield ['Ms-CorrelationId', 'call-1'];
    }
    // No HeadersInit to the types either: fetch reads any iterable of pairs.
    expect(await callThenChange({ headers: pairs() as unknown as UndiciHeadersInit }, () => {})).toBe(
      'call-1',
    );
    expect(seen).toEqual(['call-1', 'call-1', 'call-1']);
  });
});

describe("the caller's init is taken when fetch is called, as fetch takes it", () => {
  let server: LoopbackServer;
  /** Method, path and correlation id of each request the server saw, in arrival order. */
  let seen: string[];
  let answer: number;

  beforeEach(async () => {
    seen = [];
    answer = 200;
    server = await listenOnLoopback((req: IncomingMessage, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers[ID] ?? '-'}`);
      res.writeHead(answer).end();
    });
  });
  afterEach(() => server.close());

  it('one init reused for calls queued at a bulkhead: each is sent with the method and headers it had at its call', async () => {
    const f = wrapFetch(undiciFetch, {
      policy: { bulkhead: { maxConcurrent: 1, maxQueued: 10 }, breaker: { enabled: false } },
    });
    const init: UndiciInit = {};
    const calls = ['a', 'b', 'c'].map((id, i) => {
      init.method = i === 2 ? 'DELETE' : 'GET';
      init.headers = { 'Ms-CorrelationId': id };
      return f(`${server.origin}/v1/items/${id}`, init);
    });
    await Promise.all(calls);
    expect(seen).toEqual(['GET /v1/items/a a', 'GET /v1/items/b b', 'DELETE /v1/items/c c']);
  });

  it('an init inheriting its members (a Request as init, an Object.create of defaults): sent as fetch sends it', async () => {
    const request = new Request(`${server.origin}/v1/items`, {
      method: 'DELETE',
      headers: { 'Ms-CorrelationId': 'from-request' },
    });
    const defaults = Object.create({ method: 'DELETE', headers: { 'Ms-CorrelationId': 'inherited' } });
    const f = wrapped();
    // On purpose: a global Request is no undici RequestInit to the types, but fetch reads it as one.
    for (const init of [request, defaults] as UndiciInit[]) {
      await f(`${server.origin}/v1/items`, init);
      await undiciFetch(`${server.origin}/v1/items`, init);
    }
    // Each pair: breakwater's request, then undici's own.
    expect(seen).toEqual([
      'DELETE /v1/items from-request',
      'DELETE /v1/items from-request',
      'DELETE /v1/items inherited',
      'DELETE /v1/items inherited',
    ]);
  });

  it("an init's getters are read once per call, as fetch reads them, however many attempts there are", async () => {
    answer = 503;
    const reads: Record<string, number> = {};
    class Init {
      get method(): string {
        reads.method = (reads.method ?? 0) + 1;
        return 'GET';
      }
      get headers(): Record<string, string> {
        reads.headers = (reads.headers ?? 0) + 1;
        return { 'Ms-CorrelationId': 'getter' };
      }
    }
    expect(await wrapped()(`${server.origin}/v1/items`, new Init()).catch((e) => e)).toBeInstanceOf(
      HttpError,
    );
    expect(seen).toEqual(Array(3).fill('GET /v1/items getter'));
    expect(reads).toEqual({ method: 1, headers: 1 });
  });

  it('init changed after the call: the retry is sent as the call was made', async () => {
    answer = 503;
    const init: UndiciInit = { method: 'GET', headers: { 'Ms-CorrelationId': 'call-1' } };
    const call = wrapped()(`${server.origin}/v1/items`, init).catch((e: unknown) => e);
    init.method = 'DELETE';
    delete init.headers;
    expect(await call).toBeInstanceOf(HttpError);
    expect(seen).toEqual(['GET /v1/items call-1', 'GET /v1/items call-1', 'GET /v1/items call-1']);
  });
});
