import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ThrottledError } from './errors.ts';
import { ThrottleGate } from './throttle-gate.ts';

const policy = { enabled: true, statuses: [429, 503], releaseSpreadMs: 200 };
const never = new AbortController().signal;

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ThrottleGate', () => {
  it('holds every call while a 429 closure lasts, including calls that already waited', () => {
    const gate = new ThrottleGate(
      'k',
      policy,
      () => 0,
      () => {},
    );
    gate.close(1_000, true);
    expect(gate.holds(false)).toBe(true);
    expect(gate.holds(true)).toBe(true);
    vi.setSystemTime(1_000);
    expect(gate.holds(false)).toBe(false);
  });

  it("holds a 503 closure's calls once: a call that already waited goes on", () => {
    const gate = new ThrottleGate(
      'k',
      policy,
      () => 0,
      () => {},
    );
    gate.close(1_000, false);
    expect(gate.holds(false)).toBe(true);
    expect(gate.holds(true)).toBe(false);
  });

  it('a later closure wins, an earlier one changes nothing', () => {
    const gate = new ThrottleGate(
      'k',
      policy,
      () => 0,
      () => {},
    );
    expect(gate.close(2_000, true)).toBe(true);
    expect(gate.close(1_000, true)).toBe(false);
    expect(gate.closedUntilMs).toBe(2_000);
  });

  it('releases each waiter within the spread after the gate opens, and announces the opening once', async () => {
    const opened = vi.fn();
    const draws = [0, 0.5, 0.99];
    const gate = new ThrottleGate('k', policy, () => draws.shift() ?? 0, opened);
    gate.close(1_000, true);
    const released: number[] = [];
    const waiters = [0, 1, 2].map(() => gate.pass(never, 10_000).then(() => released.push(Date.now())));
    expect(gate.waiting).toBe(3);
    await vi.runAllTimersAsync();
    await Promise.all(waiters);
    expect(released).toEqual([1_000, 1_100, 1_198]);
    expect(opened).toHaveBeenCalledTimes(1);
    expect(gate.waiting).toBe(0);
  });

  it('refuses at once, with the remaining delay, a call whose deadline comes first', async () => {
    const gate = new ThrottleGate(
      'k',
      policy,
      () => 0,
      () => {},
    );
    gate.close(5_000, true);
    vi.setSystemTime(1_000);
    const error = await gate.pass(never, 3_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(4_000);
    expect(gate.waiting).toBe(0);
  });

  it('lets everything through when switched off', async () => {
    const gate = new ThrottleGate(
      'k',
      { ...policy, enabled: false },
      () => 0,
      () => {},
    );
    gate.close(5_000, true);
    expect(gate.holds(false)).toBe(false);
    await expect(gate.pass(never, 1)).resolves.toBe(false);
  });
});
