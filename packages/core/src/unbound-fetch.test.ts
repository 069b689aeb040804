import type { PolicyInput } from '@breakwater/policies';
import { bulkhead, TimeoutStrategy, timeout } from 'cockatiel';
import { describe, expect, it } from 'vitest';
import { fetchWithPolicy, wrapFetchWithPolicies } from './cockatiel.ts';
import { breakwaterKy } from './ky.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

const fast: PolicyInput = {
  retry: { backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 } },
};

/**
 * A fetch that insists on being called unbound, as a browser's `window.fetch` does: called as a method
 * of any other object it throws `TypeError: Illegal invocation` (Chromium's message). Strict-mode code,
 * so an unbound call sees `this === undefined`.
 */
function browserLikeFetch(...statuses: number[]): FetchLike & { readonly calls: number[] } {
  const calls: number[] = [];
  const fetch = function (this: unknown, _input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    if (this !== undefined) throw new TypeError('Illegal invocation');
    init?.signal?.throwIfAborted();
    const status = statuses[Math.min(calls.length, statuses.length - 1)] ?? 200;
    calls.push(status);
    return Promise.resolve(new Response(status === 200 ? 'ok' : null, { status }));
  };
  return Object.assign(fetch, { calls });
}

describe('a user-supplied fetch is always called unbound (browser fetch throws Illegal invocation otherwise)', () => {
  it('wrapFetch(globalThis.fetch): the first call succeeds', async () => {
    const inner = browserLikeFetch(200);
    const response = await wrapFetch(inner)(URL_A);
    expect(await response.text()).toBe('ok');
  });

  it('wrapFetch: retries too', async () => {
    const inner = browserLikeFetch(503, 503, 200);
    const response = await wrapFetch(inner, { policy: fast })(URL_A);
    expect(response.status).toBe(200);
    expect(inner.calls).toEqual([503, 503, 200]);
  });

  it('wrapFetch with a bulkhead', async () => {
    const inner = browserLikeFetch(200);
    const wrapped = wrapFetch(inner, { policy: { bulkhead: { maxConcurrent: 1, maxQueued: 1 } } });
    expect((await wrapped(URL_A)).status).toBe(200);
  });

  it('fetchWithPolicy and wrapFetchWithPolicies (call and attempt policies)', async () => {
    const attemptPolicy = timeout(1000, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    expect((await fetchWithPolicy(bulkhead(2), browserLikeFetch(200))(URL_A)).status).toBe(200);
    const wrapped = wrapFetchWithPolicies(browserLikeFetch(503, 200), {
      policy: fast,
      callPolicy: bulkhead(2),
      attemptPolicy,
    });
    expect((await wrapped(URL_A)).status).toBe(200);
  });

  it('breakwaterKy({ fetch })', async () => {
    const api = breakwaterKy({ fetch: browserLikeFetch(200), policy: fast });
    expect(await api.get(URL_A).text()).toBe('ok');
  });
});
