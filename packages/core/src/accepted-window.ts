/** Width of one counting slot, ms. */
const SLOT_MS = 50;
/** Slots kept: the window is the last second. */
const SLOTS = 20;
/** The shortest span worth a rate, ms: a few responses in a few ms say nothing about a rate. */
const MIN_SPAN_MS = 200;

/**
 * How many requests the upstream accepted per second over the last second of sending, in fixed
 * memory (20 slots of 50 ms). Under a token-bucket limiter, what it accepted while it was being
 * asked for more is its rate (plus the burst it held), which is what the adaptive rate is cut from.
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
   * Accepted per second from `since` (at most a second back) to `now`; undefined when that is too
   * short a span to tell, or nothing was accepted in it.
   */
  perSecond(now: number, since: number): number | undefined {
    const last = Math.floor(now / SLOT_MS);
    const first = Math.max(Math.ceil(since / SLOT_MS), last - SLOTS + 1);
    const span = now - first * SLOT_MS;
    if (span < MIN_SPAN_MS) return undefined;
    let count = 0;
    for (let slot = first; slot <= last; slot++) {
      if (this.slots[slot % SLOTS] === slot) count += this.counts[slot % SLOTS] ?? 0;
    }
    return count === 0 ? undefined : (count * 1_000) / span;
  }
}
