import { afterEach, describe, expect, it, vi } from 'vitest';
import { AttemptClock, AttemptSignal, CLOCK_TICK_MS } from './attempt-clock.ts';

describe('AttemptClock: the attempt signal is its own entry (issue 17, round 3)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Two attempts started on one clock with timeout `ms` under fake timers, the second stopped at once. */
  function dueAndStopped(ms: number): { due: AttemptSignal; stopped: AttemptSignal } {
    vi.useFakeTimers();
    const clock = new AttemptClock();
    const due = new AttemptSignal(undefined);
    const stopped = new AttemptSignal(undefined);
    clock.start(due, ms);
    clock.start(stopped, ms);
    clock.stop(stopped);
    return { due, stopped };
  }

  it('expires a coarse timeout within one tick, never early, and a stopped one never', async () => {
    const { due, stopped } = dueAndStopped(2_000);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(due.expired).toBe(false);
    await vi.advanceTimersByTimeAsync(CLOCK_TICK_MS + 1);
    expect(due.expired).toBe(true);
    expect(due.signal.aborted).toBe(true);
    expect(stopped.expired).toBe(false);
    expect(stopped.signal.aborted).toBe(false);
  });

  it('keeps every other attempt on the clock whichever ends first, twice, or after it expired', async () => {
    vi.useFakeTimers();
    const clock = new AttemptClock();
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => new AttemptSignal(undefined)) as [
      AttemptSignal,
      AttemptSignal,
      AttemptSignal,
      AttemptSignal,
      AttemptSignal,
    ];
    clock.start(a, 1_000);
    clock.start(b, 5_000);
    clock.start(c, 5_000);
    clock.start(d, 5_000);
    // The newest, the oldest and one between; one of them twice.
    clock.stop(d);
    clock.stop(b);
    clock.stop(b);
    await vi.advanceTimersByTimeAsync(1_000 + CLOCK_TICK_MS);
    expect(a.expired).toBe(true);
    // Its attempt ends after the clock expired it: nothing else may come off.
    clock.stop(a);
    clock.start(e, 5_000);
    await vi.advanceTimersByTimeAsync(4_000 + CLOCK_TICK_MS);
    expect([b.expired, c.expired, d.expired, e.expired]).toEqual([false, true, false, false]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(e.expired).toBe(true);
  });

  it('gives a short timeout a timer of its own, on time, which stop clears', async () => {
    const { due, stopped } = dueAndStopped(150);
    await vi.advanceTimersByTimeAsync(149);
    expect(due.expired).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(due.expired).toBe(true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(stopped.expired).toBe(false);
  });

  it("with a caller's signal, a signal first read after the expiry is made aborted", async () => {
    vi.useFakeTimers();
    const clock = new AttemptClock();
    const signal = new AttemptSignal(new AbortController().signal);
    clock.start(signal, 1_000);
    await vi.advanceTimersByTimeAsync(1_000 + CLOCK_TICK_MS);
    expect(signal.ready).toBeUndefined();
    expect(signal.signal.aborted).toBe(true);
  });
});
