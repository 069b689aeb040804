import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * A fixed-window limiter on loopback: `QUOTA` requests per `WINDOW_MS`, every answer carrying the IETF
 * RateLimit fields. A request past the quota inside a window is answered 429 and counted as early:
 * the server had said the quota was spent.
 */
const QUOTA = 3;
const WINDOW_MS = 1_000;

let server: LoopbackServer;
let windowStart = 0;
let used = 0;
let early = 0;
let accepted = 0;

beforeAll(async () => {
  server = await listenOnLoopback((_req, res) => {
    const now = performance.now();
    if (now - windowStart >= WINDOW_MS) {
      windowStart = now;
      used = 0;
    }
    const resetS = Math.ceil((windowStart + WINDOW_MS - now) / 1000);
    if (used >= QUOTA) {
      early++;
      res.writeHead(429, { RateLimit: `"default";r=0;t=${resetS}` }).end();
      return;
    }
    used++;
    accepted++;
    res
      .writeHead(200, {
        RateLimit: `"default";r=${QUOTA - used};t=${resetS}`,
        'RateLimit-Policy': `"default";q=${QUOTA};w=1`,
      })
      .end('ok');
  });
});

afterAll(() => server.close());

async function run(rateLimitHeaders: boolean): Promise<{ early: number; statuses: number[] }> {
  windowStart = -WINDOW_MS;
  early = 0;
  accepted = 0;
  const wrapped = wrapFetch(undiciFetch, {
    policy: { throttle: { rateLimitHeaders }, retry: { maxAttempts: 1 } },
  });
  const statuses: number[] = [];
  // The first QUOTA calls spend the window's quota; the last of them is told r=0.
  for (let i = 0; i < QUOTA; i++) statuses.push((await wrapped(`${server.origin}/items`)).status);
  const rest = await Promise.all(Array.from({ length: QUOTA }, () => wrapped(`${server.origin}/items`)));
  statuses.push(...rest.map((r) => r.status));
  return { early, statuses };
}

describe('RateLimit fields from a real server (undici fetch, loopback)', () => {
  it('sends nothing between "quota spent" and the reset, then completes every call', async () => {
    const { early: sentEarly, statuses } = await run(true);
    expect(sentEarly).toBe(0);
    expect(statuses).toEqual(Array(2 * QUOTA).fill(200));
    expect(accepted).toBe(2 * QUOTA);
  });

  it('with throttle.rateLimitHeaders off, the same calls run into the spent quota', async () => {
    const { early: sentEarly } = await run(false);
    expect(sentEarly).toBe(QUOTA);
  });
});
