import pRetry from 'p-retry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakwaterEvent, GiveUpEvent, RetryEvent } from './events.ts';
import { HttpError } from './http-error.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { pRetryOptions } from './p-retry.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/** GitHub's form of a spent quota: no Retry-After, the reset in X-RateLimit-Reset (delta seconds here). */
const SPENT_FOR_1_S = { 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '1' };

/**
 * A 429 whose RateLimit headers say the quota is spent for 1 s, without Retry-After. README lists
 * `RateLimit` among the server delays a retry waits for, and RetryEvent says "another attempt will
 * follow after `delayMs`". The gate held the key until the reset, but the call's own retry decision
 * did not see it: its `retry` event announced the 1-3 s throttling backoff, HttpError.retryAfterMs was
 * undefined, a deadline shorter than the reset was found out only after the backoff (the call waited
 * for nothing), and the adapters, which have no gate, retried into the spent quota.
 */
describe('a spent quota on a retryable response is the wait of its retry', () => {
  it('the retry event announces the reset, from the server, and the attempt follows it', async () => {
    const url = server.route('/v1/quota', (_req, res, hit) => {
      if (hit === 1) res.writeHead(429, SPENT_FOR_1_S).end();
      else res.writeHead(200).end('ok');
    });
    const events: BreakwaterEvent[] = [];
    const fetch = wrapFetch(globalThis.fetch, { onEvent: (e) => events.push(e), random: () => 0 });
    const started = performance.now();
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(990);
    const retry = events.find((e): e is RetryEvent => e.type === 'retry');
    expect(retry).toMatchObject({ delayMs: 1000, delaySource: 'server', status: 429 });
  });

  it('a deadline before the reset hands the 429 back at once, with the reset as retryAfterMs', async () => {
    const url = server.route('/v1/quota-deadline', (_req, res) => {
      res.writeHead(429, SPENT_FOR_1_S).end();
    });
    const events: BreakwaterEvent[] = [];
    const fetch = wrapFetch(globalThis.fetch, {
      onEvent: (e) => events.push(e),
      throwHttpErrors: true,
      random: () => 0,
      policy: { timeout: { totalMs: 500 } },
    });
    const started = performance.now();
    const error = await fetch(url).catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(400);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).retryAfterMs).toBe(1000);
    expect(server.hits.get('/v1/quota-deadline')).toBe(1);
    expect(events.filter((e) => e.type === 'retry')).toEqual([]);
    expect(events.find((e): e is GiveUpEvent => e.type === 'give-up')).toMatchObject({ reason: 'deadline' });
  });

  it('pRetryOptions, which has no gate, waits the reset before retrying an SDK call', async () => {
    const sent: number[] = [];
    const url = server.route('/v1/quota-sdk', (_req, res, hit) => {
      sent.push(performance.now());
      if (hit === 1) res.writeHead(429, SPENT_FOR_1_S).end();
      else res.writeHead(200).end('{}');
    });
    const sdkGet = async (): Promise<unknown> => {
      const res = await fetch(url);
      if (!res.ok) {
        throw Object.assign(new Error(`HTTP ${res.status}`), {
          status: res.status,
          headers: Object.fromEntries(res.headers),
        });
      }
      return res.json();
    };
    // A short throttling backoff, so that only the reset can make the retry wait a second.
    const policy = { retry: { backoff: { throttleInitialDelayMs: 20, maxDelayMs: 100 } } };
    await pRetry(sdkGet, pRetryOptions({ method: 'GET', random: () => 0, policy }));
    expect(sent).toHaveLength(2);
    expect((sent[1] ?? 0) - (sent[0] ?? 0)).toBeGreaterThanOrEqual(990);
  });
});
