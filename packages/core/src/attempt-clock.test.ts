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
