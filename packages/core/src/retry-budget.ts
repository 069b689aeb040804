import type { RetryBudgetPolicy } from '@breakwater/policies';
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
