import type { BreakerPolicy } from '@breakwater/policies';
import type { IBackoff, IBackoffFactory } from 'cockatiel';

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
