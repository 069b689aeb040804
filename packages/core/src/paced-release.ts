import type { GateProbe } from './store.ts';

/**
 * How long the calls held behind a probe wait for its response at most, ms. A limiter refuses in a
 * round trip; a probe still out after 1 s (the shortest cool-down `Retry-After` can state) says the
 * upstream is slow, not that it throttles, and holding every caller behind it would turn that latency
 * into a queue. The adaptive rate still paces the calls released at the bound.
 */
export const PROBE_WAIT_MS = 1_000;

/**
 * The probe of a paced recovery: after a 429's cool-down, the first call out goes alone, and the others
 * wait for its response (bounded by {@link PROBE_WAIT_MS}) before the rate releases them. A probe that
 * meets a 429 closes the gate again, so only one request learns that the cool-down was not enough.
 */
export class Probe implements GateProbe {
  private armed = false;
  private holdUntil = 0;

  /** A throttle's cool-down started: the first call after it goes alone. */
  arm(): void {
    this.armed = true;
  }

  /** The call let out at `now` goes as the probe, if one is due: the others are held from now. */
  take(now: number): boolean {
    if (!this.armed) return false;
    this.armed = false;
    this.holdUntil = now + PROBE_WAIT_MS;
    return true;
  }

  /**
   * The probe's call sent nothing (its breaker refused it) or was aborted: the next call out goes as
   * the probe, unless the bound has passed already and calls flow again (review s22: a probe aborted
   * after it re-armed one, and the next caller held everyone behind it for another second).
   */
  giveBack(): void {
    if (this.holdUntil === 0) return;
    const flowing = this.holdUntil <= Date.now();
    this.holdUntil = 0;
    if (!flowing) this.armed = true;
  }

  /** Epoch ms until which calls wait for the probe (0 when none is out), whether one is due to go. */
  heldUntil(now: number): number {
    return this.holdUntil > now ? this.holdUntil : 0;
  }

  /** True from the cool-down until the probe's response (or the bound). */
  get pending(): boolean {
    return this.armed || this.holdUntil > Date.now();
  }

  /** A response of the key arrived: the probe (if one is out) has its answer. True when one was out. */
  answer(): boolean {
    if (this.holdUntil === 0) return false;
    this.holdUntil = 0;
    return true;
  }
}
