import { PROBE_WAIT_MS } from '@breakwater/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FleetProbe } from './gate-probe.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 100_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A probe whose lease answers what the test says, counting the asks, the kicks and the accepted answers. */
function probe(answer: () => true | number | Promise<true | number>) {
  const seen = { asks: 0, kicks: 0, accepted: 0 };
  const lease = () => {
    seen.asks++;
    return answer();
  };
  const fleet = new FleetProbe({ lease, accepted: () => seen.accepted++ }, () => seen.kicks++);
  return { fleet, seen };
}

describe('FleetProbe', () => {
  it('a probe handed back after its bound (aborted late) arms no new one: calls flow again', () => {
    const { fleet } = probe(() => true);
    const now = Date.now();
    fleet.arm(now);
    fleet.heldUntil(now);
    expect(fleet.take(now)).toBe(true);
    vi.setSystemTime(now + PROBE_WAIT_MS + 400);
    fleet.giveBack();
    expect(fleet.pending).toBe(false);
    expect(fleet.take(Date.now())).toBe(false);
  });

  it('asks for the lease once per cool-down, and only once it is over', () => {
    const { fleet, seen } = probe(() => true);
    const now = Date.now();
    fleet.arm(now + 1_000);
    expect(fleet.heldUntil(now)).toBe(0);
    expect(seen.asks).toBe(0);
    // Granted at once (the store is down, or answered in time): this instance's next call probes.
    expect(fleet.heldUntil(now + 1_000)).toBe(0);
    fleet.take(now + 1_000);
    expect(fleet.heldUntil(now + 1_001)).toBe(now + 1_000 + PROBE_WAIT_MS);
    expect(fleet.answer(true)).toBe(true);
    expect(seen).toEqual({ asks: 1, kicks: 0, accepted: 1 });
  });

  it('a probe handed back unused: the next call probes under the lease this instance holds, none asked again', () => {
    const { fleet, seen } = probe(() => true);
    const now = Date.now();
    fleet.arm(now);
    expect(fleet.heldUntil(now)).toBe(0);
    expect(fleet.take(now)).toBe(true);
    fleet.giveBack();
    expect(fleet.heldUntil(now + 1)).toBe(0);
    expect(fleet.pending).toBe(true);
    expect(fleet.take(now + 1)).toBe(true);
    expect(fleet.heldUntil(now + 2)).toBe(now + 1 + PROBE_WAIT_MS);
    // Given back twice, or after the probe's answer: nothing to hand on.
    expect(fleet.answer(true)).toBe(true);
    fleet.giveBack();
    expect(fleet.pending).toBe(false);
    expect(seen).toEqual({ asks: 1, kicks: 0, accepted: 1 });
  });

  it("refused: holds the calls for the holder's probe, and lets them go when the fleet hears its answer", async () => {
    const { fleet, seen } = probe(() => Promise.resolve(300));
    const now = Date.now();
    fleet.arm(now);
    // Held while the lease is asked for.
    expect(fleet.heldUntil(now)).toBe(now + PROBE_WAIT_MS);
    await vi.advanceTimersByTimeAsync(5);
    expect(seen.kicks).toBe(1);
    // The holder's lease runs 300 ms: no probe of this instance is due, the calls wait for the holder's.
    expect(fleet.heldUntil(Date.now())).toBe(now + 300);
    fleet.take(Date.now());
    expect(fleet.answer(true)).toBe(false);
    fleet.fleetAnswered();
    expect(fleet.heldUntil(Date.now())).toBe(0);
    expect(fleet.pending).toBe(false);
    expect(seen).toEqual({ asks: 1, kicks: 2, accepted: 0 });
  });

  it('a lease answer that comes after a new cool-down started is void', async () => {
    let answer: (value: true | number) => void = () => {};
    const { fleet, seen } = probe(() => new Promise((resolve) => (answer = resolve)));
    const now = Date.now();
    fleet.arm(now);
    fleet.heldUntil(now);
    fleet.arm(now + 2_000);
    // A refusal for the old cool-down, applied, would disarm the new one: no lease asked when it ends.
    answer(300);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen.kicks).toBe(0);
    expect(fleet.pending).toBe(true);
    fleet.heldUntil(now + 2_000);
    expect(seen.asks).toBe(2);
  });
});
