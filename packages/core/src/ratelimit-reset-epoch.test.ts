import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BreakwaterEvent, GiveUpEvent, ThrottledEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/**
 * A 429 whose un-prefixed RateLimit reset is an epoch (seconds since 1970, 10^9 and more) rather than
 * the drafts' delta seconds: README's RateLimit table calls such a value garbage, ignored, never closing
 * the gate. It was read as a 56-year server delay: the 429 came back after one attempt (`give-up`
 * `retry-after-exceeds-cap`) and every call of the key was held for `maxRetryAfterMs`.
 */
it.each([
  [
    'RateLimit-Remaining: 0 + RateLimit-Reset',
    () => ({ 'RateLimit-Remaining': '0', 'RateLimit-Reset': epochIn(30) }),
  ],
  ['RateLimit: r=0;t=', () => ({ RateLimit: `"default";r=0;t=${epochIn(30)}` })],
])('a 429 with an epoch %s is retried after the throttling backoff', async (_, headers) => {
  const url = server.route('/v1/items', (_req, res, hit) => {
    if (hit === 1) res.writeHead(429, headers()).end();
    else res.writeHead(200).end('ok');
  });
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(globalThis.fetch, {
    onEvent: (e) => events.push(e),
    policy: { retry: { backoff: { throttleInitialDelayMs: 20, maxDelayMs: 100 } } },
  });
  const started = performance.now();
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(await res.text()).toBe('ok');
  expect(server.hits.get('/v1/items')).toBe(2);
  expect(performance.now() - started).toBeLessThan(2_000);
  expect(events.filter((e): e is GiveUpEvent => e.type === 'give-up')).toEqual([]);
  const throttled = events.filter((e): e is ThrottledEvent => e.type === 'throttled');
  expect(throttled.map((e) => e.source)).toEqual(['backoff']);
  expect(fetch.breakers()[0]?.throttledUntil).toBeNull();
});

function epochIn(seconds: number): string {
  return String(Math.floor(Date.now() / 1000) + seconds);
}
