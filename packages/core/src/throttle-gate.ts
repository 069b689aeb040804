import type { ThrottlePolicy } from '@breakwater/policies';
import { ThrottledError } from './errors.ts';
import { sleep } from './sleep.ts';

/**
 * The throttle gate of one endpoint key. No JavaScript client shares what one caller was told with the
 * others: ky and undici honour Retry-After per call, cockatiel and p-retry not at all, so concurrent
 * callers keep sending into a cool-down. Here a server delay closes the gate for every call to the key,
 * and the calls that waited are released each at a random moment within `releaseSpreadMs` after the
 * gate opens, so the upstream does not meet them all in the same millisecond the cool-down ends.
 * Spreading (rather than releasing one call per fixed interval) never caps the endpoint's throughput
 * below what the callers offer, so a queue cannot build up behind the gate.
 */
export class ThrottleGate {
  private readonly key: string;
  private readonly policy: ThrottlePolicy;
  private readonly random: () => number;
  private readonly onOpen: () => void;
  private closedUntil = 0;
  /** The part of the closure that a 429 set: it holds every call, however long it has waited. */
  private strictUntil = 0;
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
   *
   * `strict` (a 429: the client is over its rate) holds every call until it ends. A non-strict closure
   * (a 503's Retry-After: the server says it is unavailable) holds each call at most once: a call
   * already released from the gate goes on even if another 503 closed it again meanwhile. A server
   * that puts Retry-After on a few percent of its 503s would otherwise keep the gate shut and starve
   * every caller (measured in the bench's `flap` scenario).
   * @returns true when this call moved the gate's reopening later.
   */
  close(delayMs: number, strict: boolean): boolean {
    const until = Date.now() + delayMs;
    if (strict) this.strictUntil = Math.max(this.strictUntil, until);
    if (until <= this.closedUntil) return false;
    this.closedUntil = until;
    this.announcedOpen = false;
    return true;
  }

  /**
   * Waits until the gate lets this call through. Rejects at once with ThrottledError, sending nothing,
   * when the call's release falls after its deadline; rejects with the signal's reason on abort.
   * @returns whether the call waited (see {@link holds}).
   */
  async pass(signal: AbortSignal, deadlineAt: number): Promise<boolean> {
    let now = Date.now();
    let waited = false;
    for (;;) {
      // A call released while another response closed the gate again waits for the new closure,
      // unless it has waited once already and the new closure is not a 429's.
      const until = waited ? this.strictUntil : this.closedUntil;
      if (!this.policy.enabled || until <= now) break;
      const wakeAt = until + Math.floor(this.random() * this.policy.releaseSpreadMs);
      if (wakeAt > deadlineAt) {
        throw new ThrottledError({ endpoint: this.key, retryAfterMs: this.closedUntil - now });
      }
      this.waiting++;
      try {
        await sleep(wakeAt - now, signal);
      } finally {
        this.waiting--;
      }
      waited = true;
      now = Date.now();
    }
    if (!this.announcedOpen) {
      this.announcedOpen = true;
      this.onOpen();
    }
    return waited;
  }

  /**
   * True when the gate would hold a call now: checked with no await before the send, since another
   * caller's response may close the gate between a call passing it and its request going out.
   */
  holds(waited: boolean): boolean {
    return this.policy.enabled && (waited ? this.strictUntil : this.closedUntil) > Date.now();
  }
}
