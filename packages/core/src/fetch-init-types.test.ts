/**
 * The wrapped fetch takes the init its fetch takes: Bun's `unix`, `proxy` and `tls`, Deno's `client`
 * (declared on the second of its two overloads), so that a drop-in wrap of such a fetch compiles where
 * the fetch alone does. The type assertions are checked by the typecheck (`pnpm typecheck`), which
 * covers test files; the runtime tests show such a member reaches the fetch on every attempt.
 */
import { noop } from 'cockatiel';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { fetchWithPolicy, wrapFetchWithPolicies } from './cockatiel.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { type InitOf, type WrappedFetch, wrapFetch } from './wrap-fetch.ts';

/** Bun's fetch, as bun-types declares it: one signature with Bun's init members, and `preconnect`. */
interface BunFetch {
  (input: string | URL | Request, init?: BunInit): Promise<Response>;
  preconnect(url: string | URL): void;
}
interface BunInit extends RequestInit {
  unix?: string;
  proxy?: string;
  tls?: { rejectUnauthorized?: boolean };
}

/** Deno's `Deno.HttpClient` (from `Deno.createHttpClient`), as far as these tests need it. */
interface HttpClient {
  close(): void;
}

/** Deno's fetch, as its lib declares it: the standard signature, then one whose init takes `client`. */
interface DenoFetch {
  (input: string | URL | Request, init?: RequestInit): Promise<Response>;
  (input: string | URL | Request, init?: RequestInit & { client?: HttpClient }): Promise<Response>;
}

// The cast is on purpose: undici's fetch stands in for Bun's and Deno's, typed with the global classes.
const realFetch = undiciFetch as unknown as FetchLike;
const client: HttpClient = { close: () => {} };
const noRetryWait = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 1 } } } as const;

/** A Deno-like fetch over undici that records the `client` of every init it is given. */
function denoLike(seen: unknown[]): DenoFetch {
  return (input: string | URL | Request, init?: RequestInit & { client?: HttpClient }) => {
    seen.push(init?.client);
    return realFetch(input, init);
  };
}

/** A Bun-like fetch over undici that records the Bun members of every init it is given. */
function bunLike(seen: unknown[]): BunFetch {
  const fetch = (input: string | URL | Request, init?: BunInit) => {
    seen.push({ unix: init?.unix, proxy: init?.proxy, tls: init?.tls });
    return realFetch(input, init);
  };
  return Object.assign(fetch, { preconnect: () => {} });
}

describe("the wrapped fetch's init type follows the given fetch's", () => {
  it("takes Bun's unix, proxy and tls, and still refuses what Bun's fetch refuses", () => {
    const wrapped = wrapFetch(bunLike([]));
    // Its last overload is Bun's (the first takes RequestInit, for generic code: see below).
    expectTypeOf<Parameters<typeof wrapped>[1]>().toEqualTypeOf<BunInit | undefined>();
    expectTypeOf(wrapped).toExtend<BunFetch>();
    const calls = () => [
      wrapped('http://127.0.0.1:1/', { unix: '/var/run/docker.sock' }),
      wrapped('http://127.0.0.1:1/', { proxy: 'http://127.0.0.1:3128', tls: { rejectUnauthorized: false } }),
      // @ts-expect-error Bun's fetch takes no `client` (Deno's), nor does its wrap
      wrapped('http://127.0.0.1:1/', { client }),
      // @ts-expect-error nor a unix socket path of a number
      wrapped('http://127.0.0.1:1/', { unix: 1 }),
    ];
    expect(calls).toBeTypeOf('function');
  });

  it("takes Deno's client, declared on its second overload", () => {
    const wrapped = wrapFetch(denoLike([]));
    expectTypeOf<InitOf<DenoFetch>>().toExtend<RequestInit>();
    expectTypeOf({ client, method: 'GET' }).toExtend<InitOf<DenoFetch>>();
    const calls = () => [
      wrapped('http://127.0.0.1:1/', { client }),
      // @ts-expect-error Deno's fetch takes no `unix` (Bun's)
      wrapped('http://127.0.0.1:1/', { unix: '/var/run/docker.sock' }),
    ];
    expect(calls).toBeTypeOf('function');
  });

  it("keeps RequestInit for the standard fetch, a fetch that declares no init and a mock's any", () => {
    expectTypeOf(wrapFetch(fetch)).parameter(1).toEqualTypeOf<RequestInit | undefined>();
    expectTypeOf(wrapFetch((_input: string | URL | Request) => Promise.resolve(new Response())))
      .parameter(1)
      .toEqualTypeOf<RequestInit | undefined>();
    // biome-ignore lint/suspicious/noExplicitAny: a mock library's fetch double is typed with any
    const mock = (..._args: any[]): any => Promise.resolve(new Response());
    expectTypeOf(wrapFetch(mock)).parameter(1).toEqualTypeOf<RequestInit | undefined>();
    // The default, as code that names the type without a fetch writes it.
    expectTypeOf<WrappedFetch>().parameter(1).toEqualTypeOf<RequestInit | undefined>();
    const wrapped: WrappedFetch = wrapFetch(bunLike([]));
    const standard: typeof fetch = wrapFetch(fetch);
    expect([wrapped, standard]).toHaveLength(2);
  });

  it('is called with a RequestInit by generic code that wraps any fetch, as before', () => {
    function client<F extends FetchLike>(given: F) {
      const wrapped = wrapFetch(given);
      const guarded = fetchWithPolicy(noop, given);
      const asFetch: FetchLike = wrapped;
      const asStandard: typeof fetch = wrapped;
      return () => [
        wrapped('http://127.0.0.1:1/', { method: 'POST' }),
        guarded('http://127.0.0.1:1/', { method: 'POST' }),
        asFetch,
        asStandard,
      ];
    }
    // A double whose init is declared narrower than RequestInit takes RequestInit's members too.
    const narrow = wrapFetch((_input: string | URL | Request, _init?: { method?: string }) =>
      Promise.resolve(new Response()),
    );
    const calls = () => [narrow('http://127.0.0.1:1/', { method: 'GET', signal: AbortSignal.abort() })];
    expect([client(fetch), calls]).toHaveLength(2);
  });

  it('follows it through fetchWithPolicy and wrapFetchWithPolicies', () => {
    const guarded = fetchWithPolicy(noop, bunLike([]));
    expectTypeOf<Parameters<typeof guarded>[1]>().toEqualTypeOf<BunInit | undefined>();
    expectTypeOf(guarded.preconnect).toEqualTypeOf<BunFetch['preconnect']>();
    const both = wrapFetchWithPolicies(denoLike([]), { callPolicy: noop });
    const calls = () => [
      both('http://127.0.0.1:1/', { client }),
      // @ts-expect-error Deno's fetch takes no `proxy`
      both('http://127.0.0.1:1/', { proxy: 'http://127.0.0.1:3128' }),
    ];
    expect(calls).toBeTypeOf('function');
  });
});

describe("a member of the given fetch's own reaches it on every attempt", () => {
  let server: RoutedServer;
  beforeAll(async () => {
    server = await startRoutedServer();
  });
  afterAll(() => server.close());

  /** 503 on the first request, 200 after: one retry. */
  const flaky = (path: string) =>
    server.route(path, (_req, res, hit) => res.writeHead(hit === 1 ? 503 : 200).end('ok'));

  it("Deno's client, on the first attempt and the retry", async () => {
    const seen: unknown[] = [];
    const wrapped = wrapFetch(denoLike(seen), { policy: noRetryWait });
    const response = await wrapped(flaky('/deno'), { client });
    expect(response.status).toBe(200);
    expect(seen).toEqual([client, client]);
  });

  it("Bun's unix, proxy and tls, with a URL input, through a cockatiel policy around each attempt", async () => {
    const seen: unknown[] = [];
    const wrapped = wrapFetchWithPolicies(bunLike(seen), { policy: noRetryWait, attemptPolicy: noop });
    const tls = { rejectUnauthorized: false };
    const init = { unix: '/var/run/docker.sock', proxy: 'http://127.0.0.1:3128', tls };
    const response = await wrapped(new URL(flaky('/bun')), init);
    expect(response.status).toBe(200);
    expect(seen).toEqual([init, init]);
    expect((seen[1] as BunInit).tls).toBe(tls);
  });
});
