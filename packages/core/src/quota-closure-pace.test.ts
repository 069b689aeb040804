import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const POLICY = { 'RateLimit-Policy': '"default";q=100;w=1' };

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a spent quota holds the key until its reset, and sets no rate', () => {
  it('a 200 saying r=0;t=1 of 100/s releases 20 waiting calls at the reset: all sent, none early, none refused', async () => {
    const fetch = fakeFetch(
      { status: 200, headers: { RateLimit: '"default";r=0;t=1', ...POLICY } },
      { status: 200, headers: { RateLimit: '"default";r=99;t=1', ...POLICY } },
    );
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      onEvent: (e) => events.push(e),
      policy: { timeout: { totalMs: 10_000 } },
    });
    expect((await wrapped(URL_A)).status).toBe(200);
    const calls = Array.from({ length: 20 }, () =>
      wrapped(URL_A).then(
        (r) => r.status,
        (e: Error) => e.name,
      ),
    );
    await vi.runAllTimersAsync();
    expect(await Promise.all(calls)).toEqual(Array(20).fill(200));
    const sentAt = fetch.calls.slice(1).map((c) => c.at - NOW);
    // Nothing before the reset; everything within the release spread (200 ms) after it.
    expect(Math.min(...sentAt)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...sentAt)).toBeLessThanOrEqual(1_200);
    // One request's answer measures no rate: no cut, no probe, no pacing after the reset.
    expect(events.filter((e) => e.type === 'rate-change')).toEqual([]);
    expect(wrapped.breakers()[0]?.rateLimit).toBeNull();
    expect(wrapped.breakers()[0]?.throttlePhase).toBe('open');
  });

  it('a 429 whose RateLimit fields hold the gate longer than its Retry-After still cuts the rate', async () => {
    const fetch = fakeFetch(
      { status: 429, headers: { 'Retry-After': '1', RateLimit: '"default";r=0;t=2' } },
      { status: 200 },
    );
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      onEvent: (e) => events.push(e),
      policy: { retry: { maxAttempts: 1 } },
    });
    expect((await wrapped(URL_A)).status).toBe(429);
    expect(events.find((e) => e.type === 'throttled')).toMatchObject({ source: 'ratelimit', status: 429 });
    expect(events.find((e) => e.type === 'rate-change')).toMatchObject({ reason: 'throttled' });
    expect(wrapped.breakers()[0]?.rateLimit).not.toBeNull();
  });
});
