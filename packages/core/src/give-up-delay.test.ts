import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { BreakwaterEvent, GiveUpEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 26, 12, 0, 0) });
});
afterEach(() => {
  vi.useRealTimers();
});

/** GiveUpEvent.delayMs: the server's delay of the last outcome, for `deadline` as for the cap. */
it.each([
  ['retry-after-exceeds-cap', { totalMs: 120_000 }, '90'],
  ['deadline', { totalMs: 5_000 }, '20'],
])('a give-up %s carries the delay the server asked for', async (reason, timeout, retryAfter) => {
  const fetch = fakeFetch({ status: 503, headers: { 'Retry-After': retryAfter } });
  const events: BreakwaterEvent[] = [];
  const wrapped = wrapFetch(fetch, { onEvent: (e) => events.push(e), policy: { timeout } });
  const pending = wrapped('https://api.test/v1/items');
  await vi.runAllTimersAsync();
  expect((await pending).status).toBe(503);
  const giveUp = events.find((e): e is GiveUpEvent => e.type === 'give-up');
  expect(giveUp).toMatchObject({ reason, delayMs: Number(retryAfter) * 1000, attempts: 1 });
});
