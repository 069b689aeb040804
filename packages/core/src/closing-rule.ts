import {
  backoffDelay,
  type Policy,
  parseRateLimit,
  parseRetryAfter,
  type Verdict,
  type VerdictReason,
} from '@breakwater/policies';
import type { ThrottledEvent } from './events.ts';

/** How the throttle gate closes after a response. */
export interface Closure {
  /** What the server asked for, as sent (the delay, the time to the reset, or the backoff). */
  readonly delayMs: number;
  /** How long the gate stays closed: `delayMs`, at most `retry.maxRetryAfterMs`; above 0. */
  readonly closedForMs: number;
  /** Holds every call until it ends (a 429, a spent quota); else each call at most once (a 503). */
  readonly strict: boolean;
  /**
   * A 429's (the client is over its rate): the gate cuts the rate and paces the recovery. A spent
   * quota holds as strictly but cuts nothing: the server said when it resets, not how fast to go.
   */
  readonly cuts: boolean;
  readonly source: ThrottledEvent['source'];
}

/** Verdicts of a status in the retry lists: classify read the response's delay headers for them. */
const DELAY_READ: ReadonlySet<VerdictReason> = new Set([
  'throttled',
  'transient-status',
  'not-idempotent',
  'retry-after-exceeds-cap',
]);

/**
 * The evidence that a server is broadly unavailable, not just flapping: of the key's last
 * `EVIDENCE_RESPONSES` responses, those within `EVIDENCE_MS` are looked at, and at least
 * `EVIDENCE_SHARE` of them, and at least `EVIDENCE_MIN` in number, asked for a delay (docs/architecture.md,
 * "Closing rule", for the measurements behind these numbers).
 */
const EVIDENCE_RESPONSES = 20;
const EVIDENCE_MS = 10_000;
const EVIDENCE_SHARE = 0.5;
const EVIDENCE_MIN = 3;

/**
 * Which response closes a key's throttle gate, for how long, and how strictly; it keeps the evidence
 * (the key's recent responses) that decides whether a non-429 delay speaks for the whole server.
 *
 * - RateLimit headers saying the quota is spent (any status, `throttle.rateLimitHeaders`): strict, until
 *   the reset. Nothing more is accepted before it, so nothing is sent. It cuts no rate: the server
 *   said when the quota resets, not that the client went too fast.
 * - A 429 (the client is over its rate): strict, at once, for its delay, or the throttling backoff
 *   when it gave none or one of 0 (`Retry-After: 0`, a date in the past).
 * - Another status of `throttle.statuses` with a delay (a 503's Retry-After): non-strict, and only when
 *   the evidence shows the server broadly unavailable. An occasional one is the server shedding one
 *   request: its own call's retry waits the delay (nextStep), the other callers go on.
 *
 * Where several apply, the longest closure wins. No closure is longer than `retry.maxRetryAfterMs`.
 */
export class ClosingRule {
  private readonly policy: Pick<Policy, 'throttle' | 'retry'>;
  private readonly random: () => number;
  /**
   * The key's last responses, a ring of at most `EVIDENCE_RESPONSES` overwritten in place (no shift
   * per response): when each arrived, and whether it asked for a delay.
   */
  private readonly recent: { at: number; delayed: boolean }[] = [];
  private next = 0;

  constructor(policy: Pick<Policy, 'throttle' | 'retry'>, random: () => number) {
    this.policy = policy;
    this.random = random;
  }

  /**
   * The closure a response after attempt `attempt` calls for, or `undefined` for none. `now`: epoch
   * ms when it arrived. Default now.
   */
  decide(
    response: { readonly status: number; readonly headers: Headers },
    verdict: Verdict,
    attempt: number,
    now = Date.now(),
  ): Closure | undefined {
    const { throttle } = this.policy;
    if (!throttle.enabled) return undefined;
    let byStatus: Closure | undefined;
    if (throttle.statuses.includes(response.status)) byStatus = this.byStatus(response, verdict, attempt);
    else this.remember(false, now);
    const quota = throttle.rateLimitHeaders ? parseRateLimit(response.headers, now) : undefined;
    const byQuota = quota && this.closure(quota.resetMs, true, 'ratelimit');
    // A 429 cuts the rate even when its RateLimit fields hold the gate longer than its delay.
    if (byStatus === undefined || (byQuota !== undefined && byQuota.closedForMs >= byStatus.closedForMs)) {
      return byQuota && { ...byQuota, cuts: byStatus?.cuts === true };
    }
    return byStatus;
  }

  private byStatus(
    response: { readonly status: number; readonly headers: Headers },
    verdict: Verdict,
    attempt: number,
  ): Closure | undefined {
    const delayMs = serverDelay(response, verdict);
    if (response.status === 429) {
      this.remember(false);
      // `Retry-After: 0` or a past date asks for no pause, but the client is still over its rate.
      if (delayMs !== undefined && delayMs > 0) return this.closure(delayMs, true, 'retry-after', true);
      return this.closure(this.throttlingBackoff(attempt), true, 'backoff', true);
    }
    this.remember(delayMs !== undefined);
    if (delayMs === undefined || !this.broadlyUnavailable()) return undefined;
    return this.closure(delayMs, false, 'retry-after');
  }

  private closure(
    delayMs: number,
    strict: boolean,
    source: Closure['source'],
    cuts = false,
  ): Closure | undefined {
    const closedForMs = Math.min(delayMs, this.policy.retry.maxRetryAfterMs);
    return closedForMs > 0 ? { delayMs, closedForMs, strict, cuts, source } : undefined;
  }

  /** Records a response in the evidence window. */
  private remember(delayed: boolean, at = Date.now()): void {
    // Overwritten in place once the ring is full: no object per response.
    const slot = this.recent[this.next];
    if (slot) {
      slot.at = at;
      slot.delayed = delayed;
    } else this.recent[this.next] = { at, delayed };
    this.next = (this.next + 1) % EVIDENCE_RESPONSES;
  }

  private broadlyUnavailable(): boolean {
    const since = Date.now() - EVIDENCE_MS;
    let seen = 0;
    let delayed = 0;
    for (const response of this.recent) {
      if (response.at < since) continue;
      seen++;
      if (response.delayed) delayed++;
    }
    return delayed >= EVIDENCE_MIN && delayed >= seen * EVIDENCE_SHARE;
  }

  private throttlingBackoff(attempt: number): number {
    const state = { retry: attempt, previousDelayMs: undefined, throttled: true };
    return backoffDelay(this.policy.retry.backoff, state, this.random);
  }
}

/**
 * The server's delay, as classify read it into the verdict. Classify reads the delay headers only for
 * statuses it may retry; a throttle status outside those lists (configurable) is read here, once.
 */
function serverDelay(response: { readonly headers: Headers }, verdict: Verdict): number | undefined {
  if (DELAY_READ.has(verdict.reason)) return verdict.delayMs;
  return parseRetryAfter(response.headers, Date.now())?.delayMs;
}
