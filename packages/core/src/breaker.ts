import type { BreakerPolicy } from '@breakwater/policies';
import { CircuitState, type IBackoff, type IBackoffFactory, type IBreaker } from 'cockatiel';

/**
 * The opening rule of DESIGN.md: N consecutive failures, OR a failure share of at least R among at least
 * M calls in the last W ms. cockatiel ships each half (ConsecutiveBreaker, SamplingBreaker) but not the
 * two together, and its SamplingBreaker gates on requests per second rather than on a minimum number of
 * calls, so this small IBreaker combines them for cockatiel's CircuitBreakerPolicy to drive.
 *
 * The window is ten time buckets (as Polly's sliding window), so memory stays constant however many
 * calls an endpoint sees.
 */
export class HttpBreaker implements IBreaker {
  private readonly buckets: { start: number; calls: number; failures: number }[] = [];
  private readonly bucketMs: number;
  private readonly policy: BreakerPolicy;
  private readonly now: () => number;
  private consecutive = 0;

  constructor(policy: BreakerPolicy, now: () => number = () => Date.now()) {
    this.policy = policy;
    this.now = now;
    this.bucketMs = Math.max(1, Math.ceil(policy.windowMs / 10));
  }

  /** Serialised counters, as cockatiel's toJSON expects. */
  get state(): unknown {
    return { consecutive: this.consecutive, buckets: this.buckets.map((b) => ({ ...b })) };
  }

  set state(value: unknown) {
    const v = value as {
      consecutive?: number;
      buckets?: { start: number; calls: number; failures: number }[];
    };
    this.consecutive = v.consecutive ?? 0;
    this.buckets.splice(0, this.buckets.length, ...(v.buckets ?? []));
  }

  success(state: CircuitState): void {
    this.consecutive = 0;
    if (state === CircuitState.HalfOpen) {
      // A successful probe closes the circuit: what happened before the outage must not reopen it.
      this.buckets.length = 0;
      return;
    }
    this.record(false);
  }

  failure(state: CircuitState): boolean {
    this.consecutive++;
    if (state === CircuitState.HalfOpen) return true;
    this.record(true);
    if (this.consecutive >= this.policy.consecutiveFailures) return true;
    const { calls, failures } = this.window();
    return calls >= this.policy.minimumCalls && failures / calls >= this.policy.failureRatio;
  }

  /** Calls and failures in the current window. */
  window(): { calls: number; failures: number; consecutive: number } {
    this.prune();
    let calls = 0;
    let failures = 0;
    for (const b of this.buckets) {
      calls += b.calls;
      failures += b.failures;
    }
    return { calls, failures, consecutive: this.consecutive };
  }

  private record(failed: boolean): void {
    this.prune();
    const t = this.now();
    const start = t - (t % this.bucketMs);
    let last = this.buckets.at(-1);
    if (!last || last.start !== start) {
      last = { start, calls: 0, failures: 0 };
      this.buckets.push(last);
    }
    last.calls++;
    if (failed) last.failures++;
  }

  private prune(): void {
    const horizon = this.now() - this.policy.windowMs;
    while (this.buckets.length > 0 && (this.buckets[0]?.start ?? 0) + this.bucketMs <= horizon) {
      this.buckets.shift();
    }
  }
}

/**
 * Half-open waits: `halfOpenAfterMs`, doubling while probes fail, up to `maxHalfOpenAfterMs`, with no
 * jitter (a breaker's wait is a promise to the operator, shown in `breakers()`). Each step remembers its
 * duration so the snapshot can say when the next probe is due.
 */
export class HalfOpenBackoff implements IBackoffFactory<unknown> {
  private readonly policy: BreakerPolicy;
  private readonly onStep: (durationMs: number) => void;

  constructor(policy: BreakerPolicy, onStep: (durationMs: number) => void) {
    this.policy = policy;
    this.onStep = onStep;
  }

  next(): IBackoff<unknown> {
    return this.step(this.policy.halfOpenAfterMs);
  }

  private step(duration: number): IBackoff<unknown> {
    this.onStep(duration);
    return {
      duration,
      next: () => this.step(Math.min(this.policy.maxHalfOpenAfterMs, duration * 2)),
    };
  }
}
