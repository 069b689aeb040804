/** Width of one counting slot, ms. */
const SLOT_MS = 50;
/** Slots kept: the window is the last second. */
const SLOTS = 20;

/**
 * How many requests the upstream accepted per second over the last second, in fixed memory (20 slots
 * of 50 ms). Under a limiter, what it accepted while it was asked for more is its rate (plus the burst
 * a token bucket held), which is what the adaptive rate is cut from.
 */
export class AcceptedWindow {
  private readonly counts: number[] = new Array<number>(SLOTS).fill(0);
  /** The slot number each cell counts for. */
  private readonly slots: number[] = new Array<number>(SLOTS).fill(-1);

  record(now: number): void {
    const slot = Math.floor(now / SLOT_MS);
    const cell = slot % SLOTS;
    if (this.slots[cell] !== slot) {
      this.slots[cell] = slot;
      this.counts[cell] = 0;
    }
    this.counts[cell] = (this.counts[cell] ?? 0) + 1;
  }

  /**
   * Accepted per second over the last second, cool-downs included: what a limiter refilled during a
   * cool-down it handed out after it, so the two together are its rate. Undefined when nothing was.
   */
  perSecond(now: number): number | undefined {
    const last = Math.floor(now / SLOT_MS);
    const first = last - SLOTS + 1;
    let count = 0;
    for (let slot = first; slot <= last; slot++) {
      if (this.slots[slot % SLOTS] === slot) count += this.counts[slot % SLOTS] ?? 0;
    }
    return count === 0 ? undefined : (count * 1_000) / (now - first * SLOT_MS);
  }
}
