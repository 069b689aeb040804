import type { BreakerPolicy } from '@breakwater/policies';
import { CircuitState, type IBreaker } from 'cockatiel';
import { SlidingWindow } from './sliding-window.ts';

/**
 * The breaker's opening rule (docs/architecture.md, "The breaker's third outcome"): N consecutive
 * failures, OR a failure share of at least R among at least M calls in the last W ms. cockatiel ships
 * each half (ConsecutiveBreaker, SamplingBreaker) but not the two together, and its SamplingBreaker
 * gates on requests per second rather than on a minimum number of calls, so this small IBreaker
 * combines them for cockatiel's CircuitBreakerPolicy to drive.
 */
export class OpeningRule implements IBreaker {
  private readonly policy: BreakerPolicy;
  private readonly window: SlidingWindow<{ calls: number; failures: number }>;
  private consecutive = 0;

  constructor(policy: BreakerPolicy) {
    this.policy = policy;
    this.window = new SlidingWindow(policy.windowMs, () => ({ calls: 0, failures: 0 }));
  }

  /** cockatiel serialises breaker state with toJSON; breakwater keeps it in memory only. */
  state: unknown = null;

  success(state: CircuitState): void {
    this.consecutive = 0;
    if (state === CircuitState.HalfOpen) {
      // A successful probe closes the circuit: what happened before the outage must not reopen it.
      this.window.clear();
      return;
    }
    this.window.current().calls++;
  }

  failure(state: CircuitState): boolean {
    this.consecutive++;
    if (state === CircuitState.HalfOpen) return true;
    const counts = this.window.current();
    counts.calls++;
    counts.failures++;
    if (this.consecutive >= this.policy.consecutiveFailures) return true;
    const { calls, failures } = this.window.total();
    return calls >= this.policy.minimumCalls && failures / calls >= this.policy.failureRatio;
  }

  /** Calls and failures in the current window. */
  counts(): { calls: number; failures: number; consecutive: number } {
    return { ...this.window.total(), consecutive: this.consecutive };
  }
}
