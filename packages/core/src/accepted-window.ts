/** Width of one counting slot, ms. */
const SLOT_MS = 50;
/** Slots kept: the window is the last second. */
const SLOTS = 20;

/** What the requests sent over a second came to, counted by when each was sent. */
export interface WindowTally {
  /** Epoch ms where the window starts (its first slot's start). */
  readonly from: number;
  /** Requests sent in the window that the upstream accepted. */
  readonly accepted: number;
  /** Requests sent in the window whose answer has not come yet. */
  readonly pending: number;
  /** Ms from the start of the first slot holding an accepted or pending send to the end of the last. */
  readonly span: number;
}

/**
 * What the upstream did with the requests sent over the last second, in fixed memory (20 slots of
 * 50 ms), each counted in the slot of its send. Under a limiter, what it accepted of the requests sent
 * while it was asked for more is its rate (plus the burst a token bucket held), which is what the
 * adaptive rate is cut from. By send time rather than answer time: at a limiter's 429 (answered at
 * once) the answers of requests it had just accepted are still on their way, and the slot of each
 * send says which of them belong to the second that was throttled (audit s22 F1).
 */
export class AcceptedWindow {
  /** The slot number each cell counts for. */
  private readonly slots: number[] = new Array<number>(SLOTS).fill(-1);
  /** Requests sent in the slot and not answered yet. */
  private readonly out: number[] = new Array<number>(SLOTS).fill(0);
  private readonly accepted: number[] = new Array<number>(SLOTS).fill(0);

  /**
   * A request went at `at` (`out` 1), or the request sent at `at` ended (`out` -1): answered, `accepted`
   * unless with a throttle status, or lost (an error, an abort: not accepted as far as anyone knows).
   */
  add(at: number, out: 1 | -1, accepted = false): void {
    const cell = this.cell(at, out === 1);
    if (cell < 0) return;
    this.out[cell] = (this.out[cell] ?? 0) + out;
    if (accepted) this.accepted[cell] = (this.accepted[cell] ?? 0) + 1;
  }

  /**
   * The second up to `at`, cool-downs included: what a limiter refilled during a cool-down it handed
   * out after it, so the two together are its rate.
   */
  tally(at: number): WindowTally {
    const last = Math.floor(at / SLOT_MS);
    let accepted = 0;
    let pending = 0;
    let first = 0;
    let span = 0;
    for (let slot = last - SLOTS + 1; slot <= last; slot++) {
      const cell = slot % SLOTS;
      if (this.slots[cell] !== slot) continue;
      const counted = accepted + pending;
      accepted += this.accepted[cell] ?? 0;
      // An answer whose send was not counted (sent outside the gate's view) leaves nothing out.
      pending += Math.max(0, this.out[cell] ?? 0);
      if (accepted + pending === counted) continue;
      if (counted === 0) first = slot;
      span = (slot - first + 1) * SLOT_MS;
    }
    return { from: (last - SLOTS + 1) * SLOT_MS, accepted, pending, span };
  }

  /**
   * The cell of `at`'s slot, emptied if it held another; -1 when it holds a newer one and `at` is an
   * answer's send time (a late answer of a send already out of the window). A send is at now: a newer
   * slot then means the wall clock stepped back, and is emptied too, or nothing would be counted until
   * the clock caught up.
   */
  private cell(at: number, send: boolean): number {
    const slot = Math.floor(at / SLOT_MS);
    const cell = slot % SLOTS;
    const held = this.slots[cell] ?? -1;
    if (held > slot && !send) return -1;
    if (held !== slot) {
      this.slots[cell] = slot;
      this.out[cell] = 0;
      this.accepted[cell] = 0;
    }
    return cell;
  }
}
