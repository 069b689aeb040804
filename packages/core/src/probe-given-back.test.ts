import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { PROBE_WAIT_MS } from './paced-release.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_ = 'https://api.example.com/v1/items';
const KEY = 'default https://api.example.com';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("the paced recovery's probe, when its call's breaker refuses it", () => {
  it('hands the probe to the next call: the calls held behind it are not held for its bound', async () => {
    // 20 requests accepted at 10/s, then a 429 with a 1 s cool-down: the recovery is paced, probe first.
    const answers = [...Array(20).fill({ status: 200 }), { status: 429, headers: { 'retry-after': '1' } }];
    const fetch = fakeFetch(...answers, { status: 200 });
    const wrapped = wrapFetch(fetch, { random: () => 0 });
    for (let i = 0; i < 20; i++) {
      await wrapped(URL_);
      await vi.advanceTimersByTimeAsync(100);
    }
    const settledAt: number[] = [];
    const call = () =>
      wrapped(URL_)
        .catch((e: unknown) => e)
        .finally(() => settledAt.push(Date.now()));
    // The 429's call, then two more while the gate is closed: all three wait for the cool-down.
    const calls = [call()];
    await vi.advanceTimersByTimeAsync(0);
    const opensAt = Date.now() + 1_000;
    calls.push(call(), call());
    // Isolated by hand during the cool-down: every call released from the gate is refused, sending nothing.
    wrapped.isolate(KEY);
    const results = await (async () => {
      await vi.advanceTimersByTimeAsync(5_000);
      return Promise.all(calls);
    })();
    // The 429's call ends on its 429; the two others are refused by the breaker.
    expect((results[0] as Response).status).toBe(429);
    expect(results.slice(1).every((r) => r instanceof BrokenCircuitError)).toBe(true);
    expect(fetch.calls).toHaveLength(21);
    // Each refused call handed the probe on at once: the last settles a few slots after the cool-down,
    // not after the first probe's bound.
    expect(Math.max(...settledAt) - opensAt).toBeLessThan(PROBE_WAIT_MS);
  });
});
