import type { BreakerPolicy } from '@breakwater/policies';
import { CircuitState, type IBreaker } from 'cockatiel';
import { SlidingWindow } from './sliding-window.ts';
import type { FleetCounter } from './store.ts';

/** What the window counts: every judged call, the failed ones, the slow ones. */
type Counts = { calls: number; failures: number; slow: number };

/** What the breaker knew of one finished call: its breaker verdict and whether it was slow. */
export interface Judged {
  readonly failed: boolean;
  readonly slow: boolean;
}

/**
 * The breaker's opening rule (docs/architecture.md, "The breaker's third outcome"): N consecutive
 * failures, OR a failure share of at least R among at least M calls in the last W ms, OR (with
 * `slowCallMs` set) a slow-call share of at least S among those same M calls, as resilience4j's
 * slow-call rate. cockatiel ships the first two halves (ConsecutiveBreaker, SamplingBreaker) but not
 * together, its SamplingBreaker gates on requests per second rather than on a minimum number of
 * calls, and its IBreaker is told only "success" or "failure", not how long a call took.
 *
 * So the counting is done here, by {@link OpeningRule.record}, in the same turn as the call's result
 * is known, and the answer (open or not) travels with the result to cockatiel's filter: cockatiel
 * then calls `failure` exactly for the results that open the breaker. Nothing shared is left for
 * cockatiel to read later, when another call's result might have changed it.
 */
export class OpeningRule implements IBreaker {
  private readonly policy: BreakerPolicy;
  private readonly window: SlidingWindow<Counts>;
  private consecutive = 0;
  /**
   * The fleet's counts, per instance, and its runs of consecutive failures (a shared store's): see
   * {@link OpeningRule.fleetOpens} and `fleetRunOpens`.
   */
  private readonly fleet: FleetCounter | undefined;

  constructor(policy: BreakerPolicy, fleet?: FleetCounter) {
    this.policy = policy;
    this.fleet = fleet;
    this.window = new SlidingWindow(policy.windowMs, () => ({ calls: 0, failures: 0, slow: 0 }));
  }

  /** cockatiel serialises breaker state with toJSON; breakwater keeps it in memory only. */
  state: unknown = null;

  /**
   * Counts one call of a closed breaker and says whether the breaker must open now. A probe (the
   * breaker half-open) is not counted: it opens the breaker again when it failed or was slow.
   */
  record({ failed, slow }: Judged, probe: boolean): boolean {
    const run = failed ? this.consecutive + 1 : 0;
    // A success tells the fleet only when it ends a run: the healthy path sends nothing.
    if (run || this.consecutive) this.fleet?.run?.(run);
    this.consecutive = run;
    if (probe) return failed || slow;
    const counts = this.window.current();
    counts.calls++;
    if (failed) counts.failures++;
    if (slow) counts.slow++;
    this.fleet?.add('calls');
    if (failed) this.fleet?.add('failures');
    const threshold = this.policy.consecutiveFailures;
    if (failed && (run >= threshold || this.fleet?.opens?.(run, threshold))) return true;
    // Each share can only have grown with a call of its own kind: a plain success opens nothing.
    if (!failed && !slow) return false;
    const total = this.window.total();
    if (failed && this.fleetOpens(total)) return true;
    if (total.calls < this.policy.minimumCalls) return false;
    if (failed && total.failures / total.calls >= this.policy.failureRatio) return true;
    return slow && total.slow / total.calls >= this.policy.slowCallRatio;
  }

  /**
   * The fleet's word on opening: a quorum of instances, not pooled counts. Each instance active in the
   * window votes once, "failing" when its own failure share reaches `failureRatio`; the breaker opens
   * when this instance votes so, with a strict majority of the voters and at least two, and the
   * voters' calls together reach `minimumCalls`. One instance whose own network is broken is one vote
   * whatever its volume, so it cannot open the others' breakers (Polly's objection, #215); an outage
   * seen by all reaches `minimumCalls` with the fleet's calls, sooner than with one instance's.
   */
  private fleetOpens(own: Counts): boolean {
    const ratio = this.policy.failureRatio;
    let voters = 1;
    let failing = 1;
    let { calls } = own;
    for (const other of this.fleet?.others() ?? []) {
      if (!other.calls) continue;
      voters++;
      calls += other.calls;
      if (other.failures / other.calls >= ratio) failing++;
    }
    return (
      own.failures / own.calls >= ratio &&
      failing > 1 &&
      failing * 2 > voters &&
      calls >= this.policy.minimumCalls
    );
  }

  /** A successful probe closes the circuit: what happened before the outage must not reopen it. */
  success(state: CircuitState): void {
    if (state === CircuitState.HalfOpen) this.clear();
  }

  /** Called by cockatiel only for a result {@link OpeningRule.record} said opens the breaker. */
  failure(): boolean {
    return true;
  }

  /** Forgets every count: the breaker starts afresh (a successful probe, a reset by hand). */
  clear(): void {
    if (this.consecutive > 0) this.fleet?.run?.(0);
    this.consecutive = 0;
    this.window.clear();
  }

  /** Calls, failures and slow calls in the current window. */
  counts(): Counts & { consecutive: number } {
    return { ...this.window.total(), consecutive: this.consecutive };
  }
}
