/**
 * `Date.now()` reads whole ms: a response read at ms t came anywhere in [t, t + 1). A gate that reopened
 * at t + the delay let calls out up to 1 ms before the delay had run from the response, and where a
 * round trip takes less than a ms (loopback, a sidecar) they reached the server inside the Retry-After
 * it had given: the bench's `throttle-tenant` smoke counted one (`earlyAfterSeen` 1: sent 999.5 ms after
 * the 429 came, it arrived 0.04 ms before the server's window ended). Fake time has no fraction of a ms,
 * so what is pinned is the rule: the gate holds the key through the whole ms in which the delay ends.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a 429 read at ms t holds its key through the ms in which its delay ends', () => {
  it("nothing is sent before t + delay + 1 ms: not the 429's retry, a caller held, nor one arriving at t + delay", async () => {
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '1' } }, { status: 200 });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { random: () => 0, onEvent: (e) => events.push(e) });
    const first = wrapped(URL_A); // answered 429 at 0: its retry waits at the gate
    await vi.advanceTimersByTimeAsync(0);
    const held = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(1_000);
    const arriving = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(0);
    expect(fetch.calls.map((c) => c.at)).toEqual([0]);
    expect(wrapped.breakers()[0]?.throttledUntil).toBe(1_001);
    expect(events.find((e) => e.type === 'throttled')).toMatchObject({ at: 0, delayMs: 1_000, until: 1_001 });
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch.calls.map((c) => c.at)).toEqual([0, 1_001]);
    await vi.runAllTimersAsync();
    const answers = await Promise.all([first, held, arriving]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    for (const call of fetch.calls.slice(1)) expect(call.at).toBeGreaterThanOrEqual(1_001);
  });
});
