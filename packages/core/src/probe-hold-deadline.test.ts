import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledError } from './errors.ts';
import { fakeFetch, hang } from './fake-fetch.test-util.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

/**
 * A key paced after a 429 (20 answers at 10/s, a 429 asking for 1 s), whose probe then hangs; a call
 * that comes 100 ms after the probe has 600 ms: its deadline falls inside the probe's 1 s bound.
 */
async function heldBehindHangingProbe(timeout: { attemptMs?: number; totalMs: number }) {
  const script = [
    ...Array(20).fill({ status: 200 }),
    { status: 429, headers: { 'retry-after': '1' } },
    hang,
    { status: 200 },
  ];
  const fetch = fakeFetch(...script);
  const wrapped = wrapFetch(fetch, { policy: { timeout, retry: { maxAttempts: 1 } }, random: () => 0 });
  for (let i = 0; i < 20; i++) {
    await wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(100);
  }
  expect((await wrapped(URL_A)).status).toBe(429);
  await vi.advanceTimersByTimeAsync(1_000 + CLOCK_GRAIN_MS);
  const probeAt = Date.now();
  const probe = wrapped(URL_A).catch((error: unknown) => error);
  await vi.advanceTimersByTimeAsync(100);
  const deadline = Date.now() + 600;
  const outcome: { after?: number; error?: unknown; status?: number } = {};
  void wrapped(URL_A).then(
    (response) => Object.assign(outcome, { after: Date.now() - probeAt, status: response.status }),
    (error: unknown) => Object.assign(outcome, { after: Date.now() - probeAt, error }),
  );
  await vi.advanceTimersByTimeAsync(2_000);
  await probe;
  return {
    outcome,
    deadlineAfter: deadline - probeAt,
    sentAfterDeadline: fetch.calls.filter((c) => c.at > deadline),
  };
}

describe("a call held behind the paced recovery's probe (review s25, fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('whose deadline falls inside the probe bound is refused by its deadline, never sent after it', async () => {
    const { outcome, deadlineAfter, sentAfterDeadline } = await heldBehindHangingProbe({
      attemptMs: 300,
      totalMs: 600,
    });
    expect(sentAfterDeadline).toEqual([]);
    expect(outcome.error).toBeInstanceOf(ThrottledError);
    expect(outcome.after).toBe(deadlineAfter);
    // Until the bound's end, when a call may go again.
    expect((outcome.error as ThrottledError).retryAfterMs).toBe(1_000 - deadlineAfter);
  });

  it('goes as the next probe when the hanging probe is cut by its own deadline (totalMs alone)', async () => {
    // The probe's attempt is cut at 600 ms by its deadline, a timeout the breaker counts: it still
    // hands the probe on, rather than hold every caller to its 1 s bound.
    const { outcome, deadlineAfter, sentAfterDeadline } = await heldBehindHangingProbe({ totalMs: 600 });
    expect(sentAfterDeadline).toEqual([]);
    expect(outcome.status).toBe(200);
    expect(outcome.after).toBeLessThan(deadlineAfter);
  });
});
