import type { ServerResponse } from 'node:http';
import { fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** The limiter of audit s22 F1: a token bucket of `RATE` tokens/s holding at most `BURST`. */
const RATE = 20;
const BURST = 5;
/** How long an accepted request takes to be served, ms: its answer comes after the others' 429s. */
const SERVE_MS = 20;
const CALLERS = 80;
const TOTAL_MS = 30_000;

interface Limiter {
  readonly server: LoopbackServer;
  readonly counts: { requests: number; throttled: number };
}

/** Refuses at once when the bucket is empty, with or without `Retry-After` (seconds to a token, at least 1). */
async function tokenBucket(retryAfter: boolean): Promise<Limiter> {
  const counts = { requests: 0, throttled: 0 };
  let tokens = BURST;
  let last = performance.now();
  const server = await listenOnLoopback((_req, res: ServerResponse) => {
    const now = performance.now();
    tokens = Math.min(BURST, tokens + ((now - last) * RATE) / 1_000);
    last = now;
    counts.requests++;
    if (tokens >= 1) {
      tokens -= 1;
      setTimeout(() => res.writeHead(200).end('ok'), SERVE_MS);
      return;
    }
    counts.throttled++;
    const wait = String(Math.max(1, Math.ceil((1 - tokens) / RATE)));
    res.writeHead(429, retryAfter ? { 'retry-after': wait } : {}).end();
  });
  return { server, counts };
}

/** Starts every caller at once; the status each ended with (or what it threw) and when, ms from the start. */
async function burst(limiter: Limiter): Promise<Array<{ result: number | string; ms: number }>> {
  const url = `${limiter.server.origin}/orders`;
  // The retry budget stays out: what is measured is the paced recovery alone.
  const wrapped = wrapFetch(undiciFetch as unknown as FetchLike, {
    policy: { retryBudget: { enabled: false }, timeout: { totalMs: TOTAL_MS } },
  });
  const start = performance.now();
  return Promise.all(
    Array.from({ length: CALLERS }, () =>
      wrapped(url).then(
        async (r) => {
          await r.text();
          return { result: r.status, ms: performance.now() - start };
        },
        (e: unknown) => ({ result: (e as Error).name, ms: performance.now() - start }),
      ),
    ),
  );
}

describe.concurrent(`${CALLERS} callers at once against a ${RATE}/s token bucket of burst ${BURST} (loopback, undici)`, () => {
  for (const retryAfter of [false, true]) {
    it(`every caller is served within its ${TOTAL_MS} ms deadline (Retry-After ${retryAfter ? 'sent' : 'absent'})`, async () => {
      const limiter = await tokenBucket(retryAfter);
      try {
        const outcomes = await burst(limiter);
        // Before: 45 of 80 ended on the 429 at ~1.4 s, refused a slot at the 1/s read from one answer.
        expect(outcomes.filter((o) => o.result === 200)).toHaveLength(CALLERS);
      } finally {
        await limiter.server.close();
      }
    }, 60_000);
  }
});
