import type { RetryBudgetPolicy, Verdict } from '@breakwater/policies';
import { SlidingWindow } from './sliding-window.ts';
import type { FleetCounter } from './store.ts';

/**
 * The retry budget of one endpoint key. Per-call retry limits do not stop a fleet of callers from
 * multiplying the load on a failing upstream (4 attempts each = 4x); a budget shared by every call to
 * the key does. Finagle's model: retries may be at most `ratio` of the first attempts in the window,
 * plus `minRetries` per window so that a quiet endpoint can still retry.
 */
export class RetryBudget {
  private readonly policy: RetryBudgetPolicy;
  private readonly window: SlidingWindow<{ calls: number; retries: number }>;
  /** The fleet's counts (a shared store's): the bound then holds for the fleet, not one process. */
  private readonly fleet: FleetCounter | undefined;

  constructor(policy: RetryBudgetPolicy, fleet?: FleetCounter) {
    this.policy = policy;
    this.fleet = fleet;
    this.window = new SlidingWindow(policy.windowMs, () => ({ calls: 0, retries: 0 }));
  }

  /** Counts a first attempt (never refused). `now`: epoch ms, if the caller just read it. Default now. */
  recordCall(now?: number): void {
    this.window.current(now).calls++;
    this.fleet?.add('calls');
  }

  /** Takes one retry from the budget; false when the budget is spent (the retry must not happen). */
  tryRetry(): boolean {
    if (!this.policy.enabled) return true;
    if (this.left() < 1) return false;
    this.window.current().retries++;
    this.fleet?.add('retries');
    return true;
  }

  /** Retries still allowed in the current window (Infinity when the budget is switched off). */
  left(): number {
    if (!this.policy.enabled) return Number.POSITIVE_INFINITY;
    let { calls, retries } = this.window.total();
    // The other instances' counts as of the last refresh: deciding never waits for the store.
    for (const other of this.fleet?.others() ?? []) {
      calls += other.calls;
      retries += other.retries;
    }
    return Math.max(0, Math.floor(this.policy.minRetries + this.policy.ratio * calls) - retries);
  }
}

/**
 * Whether the retry of `verdict` is paced by the key's throttle gate, and so takes nothing from the
 * budget: a 429's retry (reason `throttled`) while the gate is on and paces the key at an adaptive
 * rate (the `gate`'s `rateLimit`, null when it sets none; read only for such a retry). Every send of
 * a paced key, first attempts and retries alike, waits for a slot of a rate set from what the
 * upstream accepted, so such a retry adds no load beyond that pace: the gate bounds it. Charged to the budget as well, a burst of 80
 * callers into a 20/s token bucket had 48 given up after their one 429.
 *
 * Everything else stays budgeted: 5xx and network-error retries (the failing upstream the budget is
 * for), a 503's delay (its closure holds calls once and releases them within `releaseSpreadMs`, no
 * rate), a 429 with the gate off (`throttle.enabled: false`) or setting no pace (`throttle.adaptive:
 * false`, or 429 left out of `throttle.statuses`), hedges, and the adapters' retries (no gate).
 *
 * Neither model this budget draws on exempts throttles, for neither paces: gRPC's retry throttling
 * (proposal A6) counts as a failure every RPC that ends with a status it may retry (so a listed
 * RESOURCE_EXHAUSTED too) or with pushback saying not to, and Finagle's RetryBudget charges every
 * retry alike; Polly's retry strategy (v8 `RetryStrategyOptions`) has no budget, and bounds a 429's
 * retries by `MaxRetryAttempts` alone. The exemption follows A6's own for transparent retries, not
 * counted "since retry throttling is designed to prevent server application overload": a paced retry
 * cannot add to it. The pace is read when the retry is decided, and again when it has passed the
 * gate (pipeline.ts): one whose pace lapsed meanwhile (the key's `quietMs` passed while it waited) is
 * unpaced, and pays the budget then or is not sent.
 */
export function pacedRetry(verdict: Verdict, gate: { readonly rateLimit: number | null }): boolean {
  // The gate's rate is null unless it paces the key: off, or not adaptive, it never sets one.
  return verdict.reason === 'throttled' && verdict.action === 'retry' && gate.rateLimit !== null;
}
