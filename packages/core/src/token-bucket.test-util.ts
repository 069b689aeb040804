import type { ServerResponse } from 'node:http';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';

/** What a {@link tokenBucketFetch} saw: every request, and those it refused. */
export interface BucketCounts {
  requests: number;
  throttled: number;
  /** Date.now() of each 429. */
  readonly throttledAt: number[];
}

/**
 * A gateway's token bucket: `rate` tokens/s, at most `burst` held, refilled as the clock its caller
 * reads moves on.
 */
class TokenBucket {
  private readonly rate: number;
  private readonly burst: number;
  private tokens: number;
  private last: number;

  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = burst;
    this.tokens = burst;
    this.last = now;
  }

  /** Takes a token at `now`: true, or when none is there, the whole seconds to the next (at least 1). */
  take(now: number): true | number {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.rate) / 1_000);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }
}

/** A refusal as the limiter answers it: 429 at once, with `Retry-After` (seconds) when `retryAfter`. */
function refusal(seconds: number, retryAfter: boolean): { status: 429; headers: Record<string, string> } {
  return { status: 429, headers: retryAfter ? { 'retry-after': String(seconds) } : {} };
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
  const bucket = new TokenBucket(rate, burst, Date.now());
  const fetch = (_input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const now = Date.now();
    counts.requests++;
    const taken = bucket.take(now);
    if (taken !== true) {
      counts.throttled++;
      counts.throttledAt.push(now);
      return Promise.resolve(new Response(null, refusal(taken, retryAfter)));
    }
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

/** The same limiter as a real HTTP server on loopback, on the real clock. */
export async function tokenBucketServer(
  rate: number,
  burst: number,
  serveMs: number,
  retryAfter: boolean,
): Promise<LoopbackServer> {
  const bucket = new TokenBucket(rate, burst, performance.now());
  return listenOnLoopback((_req, res: ServerResponse) => {
    const taken = bucket.take(performance.now());
    if (taken === true) {
      setTimeout(() => res.writeHead(200).end('ok'), serveMs);
      return;
    }
    const { status, headers } = refusal(taken, retryAfter);
    res.writeHead(status, headers).end();
  });
}
