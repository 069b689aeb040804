/**
 * Server-side rate limiting with Retry-After, and the ledger that catches clients sending before the
 * Retry-After they were given has elapsed. Pure: every method takes the time, so tests need no clock.
 */

/** Decision of the rate limiter for one request. */
export type Admission =
  | { readonly throttled: false }
  | { readonly throttled: true; readonly retryAfterS: number };

/**
 * Serves at most `perSecond` requests in any sliding second. The request that exceeds it starts a
 * penalty of `retryAfterS` seconds; every request during the penalty is refused too, each told the
 * whole seconds left (at least 1), as gateways do.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #retryAfterS: number;
  readonly #served: number[] = [];
  #penaltyUntil = Number.NEGATIVE_INFINITY;

  constructor(perSecond: number, retryAfterS: number) {
    if (!(Number.isInteger(perSecond) && perSecond > 0)) {
      throw new RangeError(`perSecond must be a positive integer, got ${perSecond}`);
    }
    if (!(Number.isInteger(retryAfterS) && retryAfterS > 0)) {
      throw new RangeError(`retryAfterS must be a positive integer, got ${retryAfterS}`);
    }
    this.#perSecond = perSecond;
    this.#retryAfterS = retryAfterS;
  }

  admit(now: number): Admission {
    if (now < this.#penaltyUntil) {
      return { throttled: true, retryAfterS: Math.max(1, Math.ceil((this.#penaltyUntil - now) / 1000)) };
    }
    while (this.#served.length > 0 && (this.#served[0] as number) <= now - 1000) this.#served.shift();
    if (this.#served.length >= this.#perSecond) {
      this.#penaltyUntil = now + this.#retryAfterS * 1000;
      return { throttled: true, retryAfterS: this.#retryAfterS };
    }
    this.#served.push(now);
    return { throttled: false };
  }
}

/**
 * A token bucket, as API gateways keep one per tenant (Partner Center's shape): it holds at most
 * `burst` tokens, starts full, and refills at `perSecond` tokens a second. A request takes a token or is
 * refused with the whole seconds until the next token, rounded up (so 1 while the rate is at least
 * 1/s): there is no penalty beyond that, a refused request just finds the bucket empty.
 */
export class TokenBucket {
  readonly #perSecond: number;
  readonly #burst: number;
  #tokens: number;
  #last: number | undefined;

  constructor(perSecond: number, burst: number) {
    if (!(perSecond > 0 && Number.isFinite(perSecond))) {
      throw new RangeError(`perSecond must be a positive number, got ${perSecond}`);
    }
    if (!(Number.isInteger(burst) && burst > 0)) {
      throw new RangeError(`burst must be a positive integer, got ${burst}`);
    }
    this.#perSecond = perSecond;
    this.#burst = burst;
    this.#tokens = burst;
  }

  admit(now: number): Admission {
    if (this.#last !== undefined) {
      this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#last) * this.#perSecond) / 1000);
    }
    this.#last = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return { throttled: false };
    }
    return { throttled: true, retryAfterS: Math.ceil((1 - this.#tokens) / this.#perSecond) };
  }
}

/** How one arriving request relates to the Retry-After values given before it. */
export interface EarlyCheck {
  /** It arrived before some Retry-After the server had already given had elapsed. */
  readonly early: boolean;
  /**
   * ...and the client had received that Retry-After before it sent this request: it could have known.
   * Requests already on the wire when the 429 went out are early but not `earlyAfterSeen`.
   */
  readonly earlyAfterSeen: boolean;
}

/**
 * Remembers every Retry-After given (when, until when) and when the client received it. A Retry-After
 * given while no earlier one is still running opens a cool-down: `coolDowns` counts them, so that
 * arrivals inside the windows (`early`) can be told per cool-down. Gives and
 * receipts are recorded in time order (one process, one monotonic clock), which keeps lookups cheap.
 */
export class RetryAfterLedger {
  #maxDeadline = Number.NEGATIVE_INFINITY;
  readonly #deadlines = new Map<number, number>();
  readonly #seenAt: number[] = [];
  /** Running maximum of the deadlines of the throttles seen by `#seenAt[i]`. */
  readonly #seenMaxDeadline: number[] = [];
  #nextId = 1;
  early = 0;
  earlyAfterSeen = 0;
  /** Retry-After windows announced while no earlier window was still running. */
  coolDowns = 0;

  /** Records a Retry-After of `retryAfterS` given at `now`; returns the id to send with the response. */
  give(now: number, retryAfterS: number): number {
    const id = this.#nextId++;
    const deadline = now + retryAfterS * 1000;
    if (now >= this.#maxDeadline) this.coolDowns++;
    this.#deadlines.set(id, deadline);
    this.#maxDeadline = Math.max(this.#maxDeadline, deadline);
    return id;
  }

  /** The client received throttle `id` at `at`. Unknown ids and repeats are ignored. */
  seen(id: number, at: number): void {
    const deadline = this.#deadlines.get(id);
    if (deadline === undefined) return;
    this.#deadlines.delete(id);
    const prevMax = this.#seenMaxDeadline[this.#seenMaxDeadline.length - 1] ?? Number.NEGATIVE_INFINITY;
    this.#seenAt.push(at);
    this.#seenMaxDeadline.push(Math.max(prevMax, deadline));
  }

  /** Checks and counts a request that arrived at `arrivedAt`, sent by the client at `sentAt`. */
  check(arrivedAt: number, sentAt: number | undefined): EarlyCheck {
    const early = arrivedAt < this.#maxDeadline;
    let earlyAfterSeen = false;
    if (early && sentAt !== undefined) {
      // Last receipt at or before sentAt (binary search: receipts are in time order).
      let lo = 0;
      let hi = this.#seenAt.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((this.#seenAt[mid] as number) <= sentAt) lo = mid + 1;
        else hi = mid;
      }
      const known = lo > 0 ? (this.#seenMaxDeadline[lo - 1] as number) : Number.NEGATIVE_INFINITY;
      earlyAfterSeen = arrivedAt < known;
    }
    if (early) this.early++;
    if (earlyAfterSeen) this.earlyAfterSeen++;
    return { early, earlyAfterSeen };
  }
}
