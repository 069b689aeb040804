import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, TimeoutError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, hangingFetch, type RecordedCall } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

const hang = ({ signal }: RecordedCall): Promise<Response> =>
  new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));

/** Runs `call` to its end on fake time; resolves with what it settled with. */
async function settle(call: Promise<Response>): Promise<unknown> {
  const caught = call.catch((error: unknown) => error);
  await vi.runAllTimersAsync();
  return caught;
}

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
      const error = await settle(wrapped(URL_A));
      expect(error).toBeInstanceOf(TimeoutError);
      // The call still ends on its own deadline.
      expect((error as TimeoutError).scope).toBe('total');
    }
    expect(wrapped.breakers()[0]?.state).toBe('open');
    expect(await settle(wrapped(URL_A))).toBeInstanceOf(BrokenCircuitError);
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

  it('an attempt left less than half its timeout by the deadline is not counted by the breaker', async () => {
    // The 503 is one failure of two that open the breaker. A 503 asking for 4.5 s leaves the retry
    // 0.5 s of a 2 s attempt timeout: no evidence of a hang.
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after-ms': '4500' } }, hang);
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { attemptMs: 2_000, totalMs: 5_000 }, breaker: { consecutiveFailures: 2 } },
      onEvent: (event) => events.push(event),
    });
    // The call ends on the 503 it had (its Response held whole), not on the cut retry.
    expect(((await settle(wrapped(URL_A))) as Response).status).toBe(503);
    const last = events.filter((event) => event.type === 'attempt').at(-1);
    expect(last).toMatchObject({ attempt: 2, reason: 'aborted', errorKind: 'abort' });
    expect(wrapped.breakers()[0]?.state).toBe('closed');
  });

  it('an attempt left at least half its timeout by the deadline counts as timed out', async () => {
    // The retry after a 503 asking for 3.5 s has 1.5 s of a 2 s attempt timeout.
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after-ms': '3500' } }, hang);
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { attemptMs: 2_000, totalMs: 5_000 }, breaker: { consecutiveFailures: 2 } },
      onEvent: (event) => events.push(event),
    });
    // The call ends on the 503 it had (its Response held whole), not on the cut retry.
    expect(((await settle(wrapped(URL_A))) as Response).status).toBe(503);
    const last = events.filter((event) => event.type === 'attempt').at(-1);
    expect(last).toMatchObject({ attempt: 2, reason: 'timeout', errorKind: 'timeout' });
    expect(wrapped.breakers()[0]?.state).toBe('open');
  });
});
