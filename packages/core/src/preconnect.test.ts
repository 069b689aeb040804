import { describe, expect, it } from 'vitest';
import { wrapFetch } from './index.ts';
import { startTimedServer } from './local-server.test-util.ts';

/**
 * Bun types its fetch as fetch's call signature plus `fetch.preconnect(url, options)`, so that
 * `typeof fetch` there requires it: `globalThis.fetch = wrapFetch(globalThis.fetch)` and any option
 * typed `typeof fetch` need the wrapped fetch to have it. Under Bun itself, runtimes.test.ts.
 */

interface PreconnectOptions {
  readonly dns?: boolean;
  readonly tcp?: boolean;
  readonly http?: boolean;
  readonly https?: boolean;
}

/** A fetch shaped as Bun's: real fetch, plus a `preconnect` that records how it was called. */
function bunShapedFetch() {
  const calls: { self: unknown; url: string | URL; options: PreconnectOptions | undefined }[] = [];
  const given = Object.assign(
    (input: string | URL | Request, init?: RequestInit): Promise<Response> => globalThis.fetch(input, init),
    {
      preconnect(this: unknown, url: string | URL, options?: PreconnectOptions): void {
        calls.push({ self: this, url, options });
      },
    },
  );
  return { given, calls };
}

describe("the given fetch's preconnect (Bun's)", () => {
  it('stays on the wrapped fetch, typed as the given fetch, and reaches the given fetch as its method', () => {
    const { given, calls } = bunShapedFetch();
    // The assignment is the type-level half: without `preconnect` the wrapped fetch is not `typeof given`.
    const wrapped: typeof given = wrapFetch(given);
    wrapped.preconnect('http://127.0.0.1:9/', { tcp: true });
    expect(calls).toEqual([{ self: given, url: 'http://127.0.0.1:9/', options: { tcp: true } }]);
  });

  it('leaves the calls to breakwater: a retried 503 still goes through the wrapped fetch', async () => {
    let hits = 0;
    const server = await startTimedServer({
      '/flaky': (_req, res) => {
        hits += 1;
        if (hits === 1) res.writeHead(503, { 'retry-after': '0' }).end('busy');
        else res.writeHead(200).end('ok');
      },
    });
    try {
      const { given } = bunShapedFetch();
      const wrapped = wrapFetch(given);
      const res = await wrapped(`${server.origin}/flaky`);
      expect([res.status, await res.text(), hits]).toEqual([200, 'ok', 2]);
    } finally {
      await server.close();
    }
  });

  it('is not invented: a fetch without preconnect gives a wrapped fetch without one', () => {
    expect('preconnect' in wrapFetch(globalThis.fetch)).toBe(false);
  });
});
