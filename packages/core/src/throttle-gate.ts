import type { ThrottlePolicy } from '@breakwater/policies';
import { ThrottledError } from './errors.ts';
import { sleep } from './sleep.ts';

/**
 * The throttle gate of one endpoint key. No JavaScript client shares what one caller was told with the
 * others: ky and undici honour Retry-After per call, cockatiel and p-retry not at all, so concurrent
 * callers keep sending into a cool-down. Here a server delay closes the gate for every call to the key,
 * and the calls that waited are released one per `releaseIntervalMs`, jittered within it, so the
 * upstream does not meet them all in the same millisecond the cool-down ends.
 */
export class ThrottleGate {
  private readonly key: string;
  private readonly policy: ThrottlePolicy;
  private readonly random: () => number;
  private readonly onOpen: () => void;
  private closedUntil = 0;
  /** The earliest time the next waiting call may be released; reserved slot by slot. */
  private nextSlot = 0;
  private announcedOpen = true;
  waiting = 0;

  constructor(key: string, policy: ThrottlePolicy, random: () => number, onOpen: () => void) {
    this.key = key;
    this.policy = policy;
    this.random = random;
    this.onOpen = onOpen;
  }

  /** Epoch ms until which the gate is closed, or null when it is open. */
  get closedUntilMs(): number | null {
    return this.closedUntil > Date.now() ? this.closedUntil : null;
  }

  /**
   * Closes the gate for `delayMs` from now (a later closure wins; an earlier one changes nothing).
   * @returns true when this call moved the gate's reopening later.
   */
  close(delayMs: number): boolean {
    const until = Date.now() + delayMs;
    if (until <= this.closedUntil) return false;
    this.closedUntil = until;
    this.nextSlot = until;
    this.announcedOpen = false;
    return true;
  }

  /**
   * Waits until the gate lets this call through. Rejects at once with ThrottledError, sending nothing,
   * when the call's slot falls after its deadline; rejects with the signal's reason on abort.
   */
  async pass(signal: AbortSignal, deadlineAt: number): Promise<void> {
    let now = Date.now();
    while (this.policy.enabled && (this.closedUntil > now || this.nextSlot > now)) {
      const slot = Math.max(this.closedUntil, this.nextSlot);
      const interval = this.policy.releaseIntervalMs;
      const wakeAt = slot + Math.floor(this.random() * interval);
      if (wakeAt > deadlineAt) {
        throw new ThrottledError({ endpoint: this.key, retryAfterMs: Math.max(0, this.closedUntil - now) });
      }
      this.nextSlot = slot + interval;
      this.waiting++;
      try {
        await sleep(wakeAt - now, signal);
      } finally {
        this.waiting--;
      }
      now = Date.now();
      // Released: go, unless another response closed the gate again while this call slept.
      if (this.closedUntil <= now) break;
    }
    if (!this.announcedOpen) {
      this.announcedOpen = true;
      this.onOpen();
    }
  }
}
