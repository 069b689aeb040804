/**
 * npm undici's fetch (and node-fetch's) wrapped with no cast: it is typed with its own `Request`,
 * `RequestInit` (undici's `dispatcher`) and `Response` classes, which are not the global ones, and
 * `wrapFetch(undiciFetch)` did not compile. The wrapped fetch takes what that fetch takes and resolves
 * to what it resolves to (the runtime hands back the fetch's own Response). The type assertions are
 * checked by the typecheck (`pnpm typecheck`), which covers test files; the runtime tests show the
 * uncast wrap working against a loopback server.
 */

import { noop } from 'cockatiel';
import nodeFetch, { type Response as NodeFetchResponse } from 'node-fetch';
import {
  Agent,
  type Dispatcher,
  Request as UndiciRequest,
  type Response as UndiciResponse,
  fetch as undiciFetch,
} from 'undici';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { fetchWithPolicy, wrapFetchWithPolicies } from './cockatiel.ts';
import { breakwaterKy } from './ky.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { type WrappedFetch, wrapFetch } from './wrap-fetch.ts';

type UndiciInit = NonNullable<Parameters<typeof undiciFetch>[1]>;

const noRetryWait = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 1 } } } as const;

describe("the wrapped fetch of a fetch typed with its own classes has that fetch's types", () => {
  it("undici's: its input, its init with `dispatcher`, and its Response", () => {
    const wrapped = wrapFetch(undiciFetch);
    const dispatcher = new Agent();
    expectTypeOf(wrapped).parameter(1).toEqualTypeOf<UndiciInit | undefined>();
    expectTypeOf(wrapped).returns.resolves.toEqualTypeOf<UndiciResponse>();
    expectTypeOf(wrapped).toExtend<typeof undiciFetch>();
    const calls = () => [
      wrapped('http://127.0.0.1:1/', { dispatcher, method: 'POST', body: '{}' }),
      wrapped(new URL('http://127.0.0.1:1/')),
      wrapped(new UndiciRequest('http://127.0.0.1:1/', { dispatcher })),
      // @ts-expect-error a global Request is not undici's: undici's fetch reads it as the URL "[object Request]"
      wrapped(new Request('http://127.0.0.1:1/')),
      // @ts-expect-error undici's fetch takes no `unix` (Bun's)
      wrapped('http://127.0.0.1:1/', { unix: '/var/run/docker.sock' }),
      // @ts-expect-error nor a dispatcher that is not one
      wrapped('http://127.0.0.1:1/', { dispatcher: 'agent' }),
    ];
    expect(calls).toBeTypeOf('function');
    expect(wrapped.breakers()).toEqual([]);
    return dispatcher.close();
  });

  it("node-fetch's: its Response", () => {
    const wrapped = wrapFetch(nodeFetch);
    expectTypeOf(wrapped).returns.resolves.toEqualTypeOf<NodeFetchResponse>();
    const calls = () => [wrapped('http://127.0.0.1:1/', { method: 'PUT', body: 'x', follow: 0 })];
    expect(calls).toBeTypeOf('function');
  });

  it('keeps the standard types for a fetch written inline, for generic code and for ReturnType', () => {
    // The inline function's parameters are typed from the standard fetch, as before.
    const inline = wrapFetch(async (input, init) => {
      expectTypeOf(input).toEqualTypeOf<string | URL | Request>();
      expectTypeOf(init).toEqualTypeOf<RequestInit | undefined>();
      return new Response('ok');
    });
    expectTypeOf(inline).returns.resolves.toEqualTypeOf<Response>();
    // As code that names the result of any wrap writes it (a helper's return type, say).
    type AnyWrapped = ReturnType<typeof wrapFetch>;
    expectTypeOf<AnyWrapped>().toExtend<WrappedFetch>();
    expectTypeOf<Parameters<AnyWrapped>>().toEqualTypeOf<
      [string | URL | Request, (RequestInit | undefined)?]
    >();
    expectTypeOf<Awaited<ReturnType<AnyWrapped>>>().toEqualTypeOf<Response>();
    function client<F extends FetchLike>(given: F) {
      const wrapped = wrapFetch(given);
      const asStandard: typeof fetch = wrapped;
      return async () => [(await wrapped('http://127.0.0.1:1/', { method: 'POST' })).status, asStandard];
    }
    expect(client(fetch)).toBeTypeOf('function');
  });

  it('through fetchWithPolicy and wrapFetchWithPolicies too; breakwaterKy still refuses it', () => {
    const guarded = fetchWithPolicy(noop, undiciFetch);
    const both = wrapFetchWithPolicies(undiciFetch, { callPolicy: noop, attemptPolicy: noop });
    expectTypeOf(guarded).parameter(1).toEqualTypeOf<UndiciInit | undefined>();
    expectTypeOf(guarded).returns.resolves.toEqualTypeOf<UndiciResponse>();
    expectTypeOf(both).parameter(0).toEqualTypeOf<Parameters<typeof undiciFetch>[0]>();
    expectTypeOf(both).returns.resolves.toEqualTypeOf<UndiciResponse>();
    expectTypeOf(both.breakers).toEqualTypeOf<WrappedFetch['breakers']>();
    const calls = () => [
      // @ts-expect-error ky calls its fetch with a global Request, which undici's fetch reads as a URL
      breakwaterKy({ fetch: undiciFetch }),
    ];
    expect(calls).toBeTypeOf('function');
  });

  it('still refuses what is not a fetch', () => {
    const calls = () => [
      // @ts-expect-error the input must take a URL string
      wrapFetch(async (port: number) => new Response(String(port))),
      // @ts-expect-error it must resolve to a response
      wrapFetch(async (_input: string) => 'ok'),
      // @ts-expect-error nor a signal of another kind
      wrapFetch(async (_input: string, _init?: { signal?: string }) => new Response('ok')),
    ];
    expect(calls).toBeTypeOf('function');
  });
});

describe("undici's fetch wrapped with no cast, against a loopback server", () => {
  let server: RoutedServer;
  let agent: Agent;
  beforeAll(async () => {
    server = await startRoutedServer();
    agent = new Agent();
  });
  afterAll(async () => {
    await agent.close();
    await server.close();
  });

  /** 503 on the first request, 200 with the method and body after: one retry. */
  const flaky = (path: string) =>
    server.route(path, (req, res, hit) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
      });
      req.on('end', () => res.writeHead(hit === 1 ? 503 : 200).end(`${req.method} ${body}`));
    });

  /** A dispatcher that counts the requests it is given, passing them to `agent`. */
  function counting(): { dispatcher: Dispatcher; count: () => number } {
    let count = 0;
    const dispatcher = agent.compose((dispatch) => (options, handler) => {
      count += 1;
      return dispatch(options, handler);
    });
    return { dispatcher, count: () => count };
  }

  it("retries a 503 with the init's dispatcher on every attempt, and hands back undici's Response", async () => {
    const { dispatcher, count } = counting();
    const wrapped = wrapFetch(undiciFetch, { policy: noRetryWait });
    const response = await wrapped(flaky('/init'), { method: 'PUT', body: 'hello', dispatcher });
    expect([response.status, await response.text()]).toEqual([200, 'PUT hello']);
    expect(response).toBeInstanceOf((await import('undici')).Response);
    expect([server.hits.get('/init'), count()]).toEqual([2, 2]);
  });

  it("fetchWithPolicy hands undici's fetch the caller's abort, from the signal of undici's Request", async () => {
    const url = server.route('/hang', () => {});
    const controller = new AbortController();
    const guarded = fetchWithPolicy(noop, undiciFetch);
    const call = guarded(new UndiciRequest(url, { signal: controller.signal }));
    while (!server.hits.get('/hang')) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    const pending = new Promise((resolve) => setTimeout(resolve, 2000, 'still pending'));
    expect(await Promise.race([call.then(String, (error: Error) => error.name), pending])).toBe('AbortError');
  });

  it("fetchWithPolicy rejects as the fetch does for a missing input, and ignores an input's signal that is none", async () => {
    const fetch = async (input: unknown) => {
      if (input === null) throw new TypeError('Failed to parse URL from null');
      return new Response('ok');
    };
    const guarded = fetchWithPolicy(noop, fetch as FetchLike);
    const missing = (guarded as (input: unknown) => Promise<Response>)(null);
    await expect(missing).rejects.toThrow('Failed to parse URL from null');
    const foreign = { url: 'http://127.0.0.1:1/', signal: { aborted: false } };
    const answered = await (guarded as (input: unknown) => Promise<Response>)(foreign);
    expect(await answered.text()).toBe('ok');
  });

  it("takes undici's Request, its body and dispatcher replayed on the retry", async () => {
    const { dispatcher, count } = counting();
    const wrapped = wrapFetch(undiciFetch, { policy: noRetryWait });
    const request = new UndiciRequest(flaky('/request'), { method: 'PUT', body: '{"a":1}', dispatcher });
    const response = await wrapped(request);
    expect([response.status, await response.text()]).toEqual([200, 'PUT {"a":1}']);
    expect([server.hits.get('/request'), count()]).toEqual([2, 2]);
  });
});
