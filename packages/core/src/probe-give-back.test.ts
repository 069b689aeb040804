/**
 * The paced recovery's probe handed back (its call sent nothing, or was aborted): the next call goes as
 * the probe while the others are still held for it; once its 1 s bound has passed, calls flow again and
 * no new probe is armed (review s22: a probe aborted late re-armed one, and the next caller held every
 * other behind it for another second).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROBE_WAIT_MS, Probe } from './paced-release.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 100_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Probe.giveBack', () => {
  it('within the bound: the next call out goes as the probe', () => {
    const probe = new Probe();
    probe.arm();
    expect(probe.take(Date.now())).toBe(true);
    vi.setSystemTime(Date.now() + 200);
    probe.giveBack();
    expect(probe.take(Date.now())).toBe(true);
  });

  it('after the bound: no new probe, nobody held', () => {
    const probe = new Probe();
    probe.arm();
    const sent = Date.now();
    expect(probe.take(sent)).toBe(true);
    vi.setSystemTime(sent + PROBE_WAIT_MS + 400);
    probe.giveBack();
    expect(probe.pending).toBe(false);
    expect(probe.take(Date.now())).toBe(false);
    expect(probe.heldUntil(Date.now())).toBe(0);
  });
});
