import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, TimeoutError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, hang, hangingFetch, settleOnFakeTime } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

describe("an attempt cut by the call's deadline (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-27T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with `totalMs` written alone, a hung upstream opens the breaker as attempt timeouts do', async () => {
    // `totalMs` alone makes the attempt timeout the deadline: each attempt is cut by the deadline.
    const fetch = hangingFetch();
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { totalMs: 2_000 } },
      onEvent: (event) => events.push(event),
    });
    for (let i = 0; i < 5; i++) {
      const error = await settleOnFakeTime(wrapped(URL_A));
      expect(error).toBeInstanceOf(TimeoutError);
      // The call still ends on its own deadline.
      expect((error as TimeoutError).scope).toBe('total');
    }
    expect(wrapped.breakers()[0]?.state).toBe('open');
    expect(await settleOnFakeTime(wrapped(URL_A))).toBeInstanceOf(BrokenCircuitError);
    expect(fetch.calls).toHaveLength(5);
    // Told as the timeouts they are, not as a caller's abort.
    const attempts = events.filter((event) => event.type === 'attempt');
    expect(attempts.map((event) => [event.reason, event.errorKind])).toEqual(
      Array(5).fill(['timeout', 'timeout']),
    );
    // One timeout event per call, the call's: the attempt's cut is no second timeout.
    expect(events.filter((event) => event.type === 'timeout').map((event) => event.scope)).toEqual(
      Array(5).fill('total'),
    );
  });

  /**
   * A 503 asking for `retryAfterMs`, then a retry that hangs until the 5 s deadline cuts it (attempt
   * timeout 2 s; the 503 is one failure of the two that open the breaker): the retry's attempt event
   * and the breaker's state. The call ends on the 503 it had (held whole), not on the cut retry.
   */
  async function cutRetry(retryAfterMs: number) {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after-ms': String(retryAfterMs) } }, hang);
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { attemptMs: 2_000, totalMs: 5_000 }, breaker: { consecutiveFailures: 2 } },
      onEvent: (event) => events.push(event),
    });
    expect(((await settleOnFakeTime(wrapped(URL_A))) as Response).status).toBe(503);
    const retry = events.filter((event) => event.type === 'attempt').at(-1);
    return { retry, state: wrapped.breakers()[0]?.state };
  }

  it('an attempt left less than half its timeout by the deadline is not counted by the breaker', async () => {
    // 0.5 s left of a 2 s attempt timeout: no evidence of a hang.
    const { retry, state } = await cutRetry(4_500);
    expect(retry).toMatchObject({ attempt: 2, reason: 'aborted', errorKind: 'abort' });
    expect(state).toBe('closed');
  });

  it('an attempt left at least half its timeout by the deadline counts as timed out', async () => {
    // 1.5 s left of a 2 s attempt timeout.
    const { retry, state } = await cutRetry(3_500);
    expect(retry).toMatchObject({ attempt: 2, reason: 'timeout', errorKind: 'timeout' });
    expect(state).toBe('open');
  });
});
