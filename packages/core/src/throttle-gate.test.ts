import { DEFAULT_POLICY, type Policy, type Verdict } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { Reporter } from './reporter.ts';
import { CLOCK_GRAIN_MS, ThrottleGate } from './throttle-gate.ts';

const throttle = { ...DEFAULT_POLICY.throttle, releaseSpreadMs: 200 };
const never = new AbortController().signal;

function gateWith(overrides: { throttle?: Partial<Policy['throttle']>; random?: () => number } = {}): {
  gate: ThrottleGate;
  events: BreakwaterEvent[];
} {
  const events: BreakwaterEvent[] = [];
  const policy = {
    retry: { ...DEFAULT_POLICY.retry, maxRetryAfterMs: 60_000 },
    throttle: { ...throttle, ...overrides.throttle },
  };
  const report = new Reporter('k', (event) => events.push(event), true);
  return { gate: new ThrottleGate(policy, overrides.random ?? (() => 0), report), events };
}

const response = (status: number, headers: HeadersInit = {}) => ({ status, headers: new Headers(headers) });
const retry503 = (delayMs?: number): Verdict => ({
  action: 'retry',
  breaker: 'failure',
  reason: 'transient-status',
  ...(delayMs === undefined ? {} : { delayMs }),
});

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ThrottleGate', () => {
  /**
   * Two passes: one taken while the gate was open, one released after waiting out a closure; then the
   * gate closes again for 1 s (`strict`: a 429's closure).
   */
  async function passesAfterSecondClosure(strict: boolean) {
    const { gate } = gateWith();
    const fresh = await gate.pass(never, 10_000);
    gate.close(1_000, strict);
    const waiting = gate.pass(never, 10_000);
    await vi.advanceTimersByTimeAsync(1_000);
    const released = await waiting;
    gate.close(1_000, strict);
    return { fresh, released };
  }

  it('holds every call while a 429 closure lasts, including calls that already waited', async () => {
    const { fresh, released } = await passesAfterSecondClosure(true);
    expect(fresh.letsThrough()).toBe(false);
    expect(released.letsThrough()).toBe(false);
    vi.setSystemTime(2_000);
    // Taken before the 429, the pass held a slot at the old rate: the call passes the gate again.
    expect(fresh.letsThrough()).toBe(false);
  });

  it("holds a 503 closure's calls once: a call that already waited goes on", async () => {
    const { fresh, released } = await passesAfterSecondClosure(false);
    expect(fresh.letsThrough()).toBe(false);
    expect(released.letsThrough()).toBe(true);
  });

  it('a later closure wins, an earlier one changes nothing', () => {
    const { gate } = gateWith();
    expect(gate.close(2_000, true)).toBe(true);
    expect(gate.close(1_000, true)).toBe(false);
    expect(gate.closedUntilMs).toBe(2_000);
  });

  it("releases each waiter of a 503's closure within the spread, and announces the opening once", async () => {
    const draws = [0, 0.5, 0.99];
    const { gate, events } = gateWith({ random: () => draws.shift() ?? 0 });
    gate.close(1_000, false);
    const released: number[] = [];
    const waiters = [0, 1, 2].map(() => gate.pass(never, 10_000).then(() => released.push(Date.now())));
    expect(gate.waiting).toBe(3);
    await vi.runAllTimersAsync();
    await Promise.all(waiters);
    expect(released).toEqual([1_000, 1_100, 1_198]);
    expect(events).toEqual([{ type: 'gate-open', key: 'k', at: 1_000 }]);
    expect(gate.waiting).toBe(0);
  });

  it('refuses at once, with the remaining delay, a call whose deadline comes first', async () => {
    const { gate } = gateWith();
    gate.close(5_000, true);
    vi.setSystemTime(1_000);
    const error = await gate.pass(never, 3_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(4_000);
    expect(gate.waiting).toBe(0);
  });

  it('lets everything through when switched off', async () => {
    const { gate } = gateWith({ throttle: { enabled: false } });
    gate.close(5_000, true);
    const pass = await gate.pass(never, 1);
    expect(pass.letsThrough()).toBe(true);
  });
});

describe('ThrottleGate.observe', () => {
  it("closes for the verdict's server delay and reports it itself", () => {
    const { gate, events } = gateWith();
    // The verdict carries the delay classify read: the gate does not read the header again.
    gate.observe(
      response(429),
      { action: 'retry', breaker: 'ignore', reason: 'throttled', delayMs: 2_000 },
      1,
    );
    expect(gate.closedUntilMs).toBe(2_000 + CLOCK_GRAIN_MS);
    // A 429 also sets the adaptive rate (its own `rate-change` event).
    expect(events.filter((e) => e.type === 'throttled')).toEqual([
      {
        type: 'throttled',
        key: 'k',
        at: 0,
        delayMs: 2_000,
        until: 2_000 + CLOCK_GRAIN_MS,
        status: 429,
        source: 'retry-after',
      },
    ]);
  });

  it('closes no longer than retry.maxRetryAfterMs, and reports the delay the server sent', () => {
    const { gate, events } = gateWith();
    const capped: Verdict = {
      action: 'return',
      breaker: 'ignore',
      reason: 'retry-after-exceeds-cap',
      delayMs: 9e9,
    };
    gate.observe(response(429), capped, 1);
    expect(gate.closedUntilMs).toBe(60_000 + CLOCK_GRAIN_MS);
    expect(events.filter((e) => e.type === 'throttled')).toMatchObject([
      { type: 'throttled', delayMs: 9e9, until: 60_000 + CLOCK_GRAIN_MS },
    ]);
  });

  it('closes for the throttling backoff on a 429 without a delay, strictly', async () => {
    const { gate } = gateWith();
    const throttled: Verdict = { action: 'retry', breaker: 'ignore', reason: 'throttled', throttled: true };
    const before = await gate.pass(never, 60_000);
    gate.observe(response(429), throttled, 1);
    const { throttleInitialDelayMs } = DEFAULT_POLICY.retry.backoff;
    expect(gate.closedUntilMs).toBeGreaterThanOrEqual(throttleInitialDelayMs);
    expect(before.letsThrough()).toBe(false);
  });

  it('ignores statuses outside throttle.statuses and a 503 without delay', () => {
    const { gate, events } = gateWith();
    gate.observe(response(502, { 'retry-after': '5' }), retry503(5_000), 1);
    gate.observe(response(503), retry503(), 1);
    expect(gate.closedUntilMs).toBeNull();
    expect(events).toEqual([]);
  });

  it('reads the delay of a throttle status the outcome table does not retry (classify did not)', () => {
    const { gate } = gateWith();
    const clientError: Verdict = { action: 'return', breaker: 'success', reason: 'client-error' };
    gate.observe(response(429, { 'retry-after': '3' }), clientError, 1);
    expect(gate.closedUntilMs).toBe(3_000 + CLOCK_GRAIN_MS);
  });
});
