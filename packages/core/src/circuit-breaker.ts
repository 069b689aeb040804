import type { BreakerPolicy, Verdict } from '@breakwater/policies';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  BrokenCircuitError as CockatielBrokenCircuit,
  circuitBreaker,
  handleWhenResult,
} from 'cockatiel';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { HalfOpenBackoff } from './half-open-backoff.ts';
import { OpeningRule } from './opening-rule.ts';
import type { BreakerState } from './types.ts';

/**
 * cockatiel's breaker knows two outcomes, success and failure; the outcome table has a third, `ignore`
 * (a 429 says nothing about the upstream's health). An ignored result leaves the breaker as a thrown
 * value its filter does not handle: cockatiel then rethrows it without counting it.
 */
class Ignored<R> {
  readonly result: R;
  constructor(result: R) {
    this.result = result;
  }
}

/**
 * The circuit breaker of one endpoint key: cockatiel's CircuitBreakerPolicy, driven by the verdicts of
 * the outcome table through {@link OpeningRule}, with breakwater's events and snapshot. Shared by
 * `wrapFetch`'s pipelines and by the breakers for calls that are not fetch calls.
 */
export class CircuitBreaker {
  private readonly key: string;
  private readonly emit: (event: BreakwaterEvent) => void;
  private readonly counts: OpeningRule;
  private readonly breaker: CircuitBreakerPolicy | undefined;
  private openedAt: number | null = null;
  private openForMs = 0;

  constructor(key: string, policy: BreakerPolicy, emit: (event: BreakwaterEvent) => void) {
    this.key = key;
    this.emit = emit;
    this.counts = new OpeningRule(policy);
    if (!policy.enabled) return;
    const breaker = circuitBreaker(
      handleWhenResult((r) => (r as { verdict: Verdict }).verdict.breaker === 'failure'),
      {
        breaker: this.counts,
        halfOpenAfter: new HalfOpenBackoff(policy, (ms) => {
          this.openForMs = ms;
        }),
      },
    );
    breaker.onBreak(() => {
      this.openedAt = Date.now();
      emit({ type: 'break', key, at: this.openedAt, nextProbeAt: this.openedAt + this.openForMs });
    });
    breaker.onHalfOpen(() => emit({ type: 'half-open', key, at: Date.now() }));
    breaker.onReset(() => {
      this.openedAt = null;
      emit({ type: 'reset', key, at: Date.now() });
    });
    this.breaker = breaker;
  }

  /** True while the breaker is closed (or switched off): forgetting it then loses nothing. */
  get closed(): boolean {
    return this.breaker === undefined || this.breaker.state === CircuitState.Closed;
  }

  /**
   * Runs `run` through the breaker, which counts the result's verdict. Rejects at once with
   * BrokenCircuitError while the breaker is open, and while a probe is in flight: cockatiel would make
   * those calls wait for the probe, which may take a whole attempt timeout, and fail-fast is the point.
   */
  async execute<R extends { readonly verdict: Verdict }>(run: () => Promise<R>): Promise<R> {
    const breaker = this.breaker;
    if (!breaker) return run();
    if (breaker.state === CircuitState.HalfOpen) throw this.reject('half-open');
    const probe = breaker.state === CircuitState.Open;
    try {
      return await breaker.execute(async () => {
        const result = await run();
        const { verdict } = result;
        if (verdict.breaker !== 'ignore') return result;
        // A probe that ends without telling anything about the upstream (the caller gave up, an
        // unknown error) must not close the breaker: count it as a failure, so the breaker waits again.
        if (probe && (verdict.reason === 'aborted' || verdict.reason === 'unknown-error')) {
          return { ...result, verdict: { ...verdict, breaker: 'failure' } };
        }
        throw new Ignored(result);
      });
    } catch (error) {
      if (error instanceof Ignored) return error.result as R;
      if (error instanceof CockatielBrokenCircuit) throw this.reject('circuit-open');
      throw error;
    }
  }

  snapshot(): BreakerState {
    const { calls, failures, consecutive } = this.counts.counts();
    const state = this.breaker?.state ?? CircuitState.Closed;
    const open = state === CircuitState.Open;
    return {
      state: open ? 'open' : state === CircuitState.HalfOpen ? 'half-open' : 'closed',
      enabled: this.breaker !== undefined,
      failures,
      calls,
      failureRatio: calls === 0 ? 0 : failures / calls,
      consecutiveFailures: consecutive,
      openedAt: state === CircuitState.Closed ? null : this.openedAt,
      nextProbeAt: open && this.openedAt !== null ? this.openedAt + this.openForMs : null,
    };
  }

  private reject(cause: 'circuit-open' | 'half-open'): BrokenCircuitError {
    const { nextProbeAt } = this.snapshot();
    const retryAfterMs = nextProbeAt === null ? 0 : Math.max(0, nextProbeAt - Date.now());
    this.emit({ type: 'reject', key: this.key, at: Date.now(), cause, retryAfterMs });
    return new BrokenCircuitError({
      endpoint: this.key,
      retryAfterMs,
      state: cause === 'half-open' ? 'half-open' : 'open',
    });
  }
}
