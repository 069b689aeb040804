import type { FetchLike } from './types.ts';

/** What a {@link tokenBucketFetch} saw: every request, and those it refused. */
export interface BucketCounts {
  requests: number;
  throttled: number;
  /** Date.now() of each 429. */
  readonly throttledAt: number[];
}

/**
 * A token-bucket limiter as a fetch, on the test's clock (fake timers): `rate` tokens/s, at most `burst`
 * held. A request that finds a token is served after `serveMs`; one that finds none is answered 429 at
 * once, with `Retry-After` (whole seconds to the next token, at least 1) when `retryAfter`.
 */
export function tokenBucketFetch(
  rate: number,
  burst: number,
  serveMs: number,
  retryAfter: boolean,
): FetchLike & { counts: BucketCounts } {
  const counts: BucketCounts = { requests: 0, throttled: 0, throttledAt: [] };
  let tokens = burst;
  let last = Date.now();
  const fetch = (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const now = Date.now();
    tokens = Math.min(burst, tokens + ((now - last) * rate) / 1_000);
    last = now;
    counts.requests++;
    if (tokens < 1) {
      counts.throttled++;
      counts.throttledAt.push(now);
      const wait = String(Math.max(1, Math.ceil(((1 - tokens) * 1_000) / rate / 1_000)));
      return Promise.resolve(
        new Response(null, { status: 429, headers: retryAfter ? { 'retry-after': wait } : {} }),
      );
    }
    tokens -= 1;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => resolve(new Response('ok')), serveMs);
      init?.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(init.signal?.reason);
      });
    });
  };
  return Object.assign(fetch, { counts });
}
