import { bulkhead, TimeoutStrategy, timeout } from 'cockatiel';
import type { Hooks as KyHooks } from 'ky';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fetchWithPolicy, wrapFetchWithPolicies } from './cockatiel.ts';
import { breakwaterKy } from './ky.ts';
import { startLocalServer } from './local-server.test-util.ts';

/**
 * Bun's fetch is `typeof fetch` only with its `preconnect`: wrapFetch keeps it (preconnect.test.ts),
 * and so must the adapters that hand back a fetch, or `globalThis.fetch = wrapFetchWithPolicies(...)`
 * stops compiling under Bun and the hint is lost.
 */

interface PreconnectOptions {
  readonly tcp?: boolean;
}

/** A fetch shaped as Bun's: real fetch, plus a `preconnect` that records how it was called. */
function bunShapedFetch() {
  const calls: { self: unknown; url: string | URL; options: PreconnectOptions | undefined }[] = [];
  const real = globalThis.fetch;
  const given = Object.assign(
    (input: string | URL | Request, init?: RequestInit): Promise<Response> => real(input, init),
    {
      preconnect(this: unknown, url: string | URL, options?: PreconnectOptions): void {
        calls.push({ self: this, url, options });
      },
    },
  );
  return { given, calls };
}

const URL_X = 'http://127.0.0.1:9/';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('wrapFetchWithPolicies keeps the given fetch’s preconnect', () => {
  const shapes = {
    'no policy': {},
    attemptPolicy: {
      attemptPolicy: timeout(1_000, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false }),
    },
    callPolicy: { callPolicy: bulkhead(4) },
    'both policies': { attemptPolicy: bulkhead(4), callPolicy: bulkhead(4) },
  };
  for (const [name, policies] of Object.entries(shapes)) {
    it(`with ${name}: typed as the given fetch, called on it`, () => {
      const { given, calls } = bunShapedFetch();
      // The type-level half: without `preconnect` the result is not `typeof given`.
      const wrapped: typeof given = wrapFetchWithPolicies(given, policies);
      wrapped.preconnect(URL_X, { tcp: true });
      expect(calls).toEqual([{ self: given, url: URL_X, options: { tcp: true } }]);
      expect(typeof (wrapped as unknown as { breakers: unknown }).breakers).toBe('function');
    });
  }

  it('invents none for a fetch without one', () => {
    const wrapped = wrapFetchWithPolicies(globalThis.fetch, {
      attemptPolicy: bulkhead(4),
      callPolicy: bulkhead(4),
    });
    expect('preconnect' in wrapped).toBe(false);
  });

  it('still sends every call through the policies and breakwater (a 503 retried)', async () => {
    const server = await startLocalServer();
    server.script('/flaky', { status: 503, headers: { 'retry-after': '0' } }, { status: 200, body: 'ok' });
    const { given } = bunShapedFetch();
    const wrapped = wrapFetchWithPolicies(given, { attemptPolicy: bulkhead(4), callPolicy: bulkhead(1) });
    try {
      const res = await wrapped(`${server.origin}/flaky`);
      expect([res.status, await res.text(), server.count('/flaky')]).toEqual([200, 'ok', 2]);
    } finally {
      await server.close();
    }
  });

  it('fetchWithPolicy keeps it too', () => {
    const { given, calls } = bunShapedFetch();
    const guarded: typeof given = fetchWithPolicy(bulkhead(4), given);
    guarded.preconnect(URL_X);
    expect(calls).toEqual([{ self: given, url: URL_X, options: undefined }]);
  });
});

describe('breakwaterKy: the fetch ky is given keeps the wrapped fetch’s preconnect', () => {
  /** The fetch ky calls, as an `init` hook sees it in the request's options, without sending anything. */
  async function fetchSeenByKy(build: (hooks: KyHooks) => ReturnType<typeof breakwaterKy>): Promise<unknown> {
    let seen: unknown;
    const api = build({
      init: [
        (options) => {
          seen = options.fetch;
        },
      ],
      beforeRequest: [() => new Response('from the hook')],
    });
    expect(await api.get(URL_X).text()).toBe('from the hook');
    return seen;
  }

  it('of the global fetch, when no fetch is given', async () => {
    const { given, calls } = bunShapedFetch();
    vi.stubGlobal('fetch', given);
    const seen = await fetchSeenByKy((hooks) => breakwaterKy({ kyOptions: { hooks } }));
    (seen as typeof given).preconnect(URL_X);
    expect(calls).toEqual([{ self: given, url: URL_X, options: undefined }]);
  });

  it('of the given fetch', async () => {
    const { given, calls } = bunShapedFetch();
    const seen = await fetchSeenByKy((hooks) => breakwaterKy({ fetch: given, kyOptions: { hooks } }));
    (seen as typeof given).preconnect(URL_X, { tcp: true });
    expect(calls).toEqual([{ self: given, url: URL_X, options: { tcp: true } }]);
  });
});
