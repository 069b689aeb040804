import type { BreakerPolicy, Verdict } from '@breakwater/policies';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  BrokenCircuitError as CockatielBrokenCircuit,
  circuitBreaker,
  handleWhenResult,
  type IDisposable,
} from 'cockatiel';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { HalfOpenBackoff } from './half-open-backoff.ts';
import { type Judged, OpeningRule } from './opening-rule.ts';
import { type EventCall, ofCall } from './reporter.ts';
import type { BreakwaterStore } from './store.ts';
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

/** Counts a result of a call as it settles: see {@link CircuitBreaker.execute}. */
export type Count<R> = (result: R) => R | Promise<R>;

/** The count of a call cockatiel runs (it counts the result itself) or of a switched-off breaker. */
const uncounted = <R>(result: R): R => result;

/** A result on its way through cockatiel, with {@link OpeningRule.record}'s answer. */
interface Counted<R> {
  readonly result: R;
  readonly opens: boolean;
}

/** The hold of a switched-off breaker isolated by hand: there is no cockatiel breaker to hold. */
const NO_BREAKER_HOLD: IDisposable = { dispose() {} };

/**
 * The circuit breaker of one endpoint key: cockatiel's CircuitBreakerPolicy, driven by the verdicts of
 * the outcome table and the calls' durations through {@link OpeningRule}, with breakwater's events and
 * snapshot, and a hold by hand (`isolate`, `close`). Shared by `wrapFetch`'s pipelines and by the
 * breakers for calls that are not fetch calls.
 */
export class CircuitBreaker {
  private readonly key: string;
  private readonly emit: (event: BreakwaterEvent) => void;
  private readonly counts: OpeningRule;
  private readonly slowCallMs: number | null;
  private readonly breaker: CircuitBreakerPolicy | undefined;
  private openedAt: number | null = null;
  private openForMs = 0;
  /** Set while isolated by hand: cockatiel's own isolation, released by `close`. */
  private hold: IDisposable | undefined;
  private isolatedAt: number | null = null;
  /** True while `close` drives cockatiel through isolation: those transitions are not reported. */
  private quiet = false;
  /** Told when the breaker starts refusing calls (it opened, or was isolated by hand). */
  private readonly onRefusing: (() => void) | undefined;
  /** A shared store, for the fleet's probe lease and counts; none for a lone process. */
  private readonly fleet: BreakwaterStore | undefined;
  /** `maxHalfOpenAfterMs`: how long a due probe waits for a call before the breaker is {@link idle}. */
  private readonly forgetAfterMs: number;

  constructor(
    key: string,
    policy: BreakerPolicy,
    emit: (event: BreakwaterEvent) => void,
    fleet?: BreakwaterStore,
    onRefusing?: () => void,
  ) {
    this.key = key;
    this.emit = emit;
    this.fleet = fleet;
    this.onRefusing = onRefusing;
    this.counts = new OpeningRule(policy, fleet?.counter?.(`breaker:${key}`, policy.windowMs));
    this.slowCallMs = policy.slowCallMs;
    this.forgetAfterMs = policy.maxHalfOpenAfterMs;
    if (!policy.enabled) return;
    const breaker = circuitBreaker(
      handleWhenResult((r) => (r as Counted<unknown>).opens),
      {
        breaker: this.counts,
        halfOpenAfter: new HalfOpenBackoff(policy, (ms) => {
          this.openForMs = ms;
        }),
      },
    );
    breaker.onBreak(() => {
      // cockatiel reports its isolation as a break; the registry reports an isolation by hand.
      if (this.hold !== undefined || this.quiet) return;
      this.openedAt = Date.now();
      emit({ type: 'break', key, at: this.openedAt, nextProbeAt: this.openedAt + this.openForMs });
      this.onRefusing?.();
    });
    breaker.onHalfOpen(() => emit({ type: 'half-open', key, at: Date.now() }));
    breaker.onReset(() => {
      this.openedAt = null;
      if (this.quiet) return;
      emit({ type: 'reset', key, at: Date.now() });
      this.fleet?.probeClosed(key);
    });
    this.breaker = breaker;
  }

  /** True while the breaker is closed (or switched off) and not isolated: forgetting it then loses nothing. */
  get closed(): boolean {
    return (
      this.hold === undefined && (this.breaker === undefined || this.breaker.state === CircuitState.Closed)
    );
  }

  /**
   * True when forgetting the breaker loses nothing worth its memory: it is {@link closed}, or open by
   * failures with its probe due for `maxHalfOpenAfterMs` (the longest wait between probes) and no call
   * since. An endpoint gone for good (a customer's dead webhook) otherwise stayed open, and kept, for
   * the process's life. Forgotten, its next call goes as a plain call rather than as the probe.
   */
  idle(now: number): boolean {
    if (this.closed) return true;
    const dueAt = this.nextProbeAt();
    return dueAt !== null && now >= dueAt + this.forgetAfterMs;
  }

  /**
   * Holds the breaker open by hand, until {@link CircuitBreaker.close}: every call is refused, with no
   * probe, even when the breaker is switched off. A probe in flight is forgotten. Silent: the registry,
   * which also holds keys that have no breaker yet, reports it.
   */
  isolate(at: number = Date.now()): void {
    if (this.hold !== undefined) return;
    this.isolatedAt = at;
    // Set first: cockatiel reports its isolation as a break, which `onBreak` must then leave unsaid.
    this.hold = NO_BREAKER_HOLD;
    this.hold = this.breaker?.isolate() ?? NO_BREAKER_HOLD;
    this.onRefusing?.();
  }

  /**
   * Closes the breaker by hand, isolated or opened by failures, and forgets its counts: the window
   * starts afresh. cockatiel closes a breaker only by ending an isolation, so an open one is isolated
   * and released at once, quietly. Silent: the registry reports it.
   */
  close(): void {
    this.quiet = true;
    try {
      (this.hold ?? this.breaker?.isolate())?.dispose();
    } finally {
      this.quiet = false;
    }
    this.hold = undefined;
    this.isolatedAt = null;
    this.openedAt = null;
    this.counts.clear();
  }

  /**
   * Another instance's probe succeeded: an open breaker here closes too (not one isolated by hand, nor
   * one whose own probe is in flight, which decides for itself), and says so.
   */
  closedByFleet(): void {
    if (this.hold !== undefined || this.breaker?.state !== CircuitState.Open) return;
    this.close();
    this.emit({ type: 'reset', key: this.key, at: Date.now() });
  }

  /**
   * Epoch ms until which every call is refused: the next probe's time while open, Infinity while
   * isolated by hand; undefined while a call may go (closed, switched off) or no refusal has a known
   * end (half-open: the probe in flight decides, and mostly closes the breaker within a round trip, so
   * a retry due meanwhile waits for it rather than giving up; the refusal's hint, `retryAfterMs`, is
   * the half-open interval).
   */
  refusedUntil(): number | undefined {
    if (this.hold !== undefined) return Number.POSITIVE_INFINITY;
    return this.nextProbeAt() ?? undefined;
  }

  /** While the breaker is open by failures (not isolated), epoch ms when its next probe may go; else null. */
  private nextProbeAt(): number | null {
    const open = this.hold === undefined && this.breaker?.state === CircuitState.Open;
    return open && this.openedAt !== null ? this.openedAt + this.openForMs : null;
  }

  /**
   * Runs `run` through the breaker, which counts the result's verdict and, with `slowCallMs` set, its
   * duration (until `run` settles: for a fetch attempt, until the response headers). Rejects at once
   * with BrokenCircuitError while the breaker is open or isolated, and while a probe is in flight:
   * cockatiel would make those calls wait for the probe, which may take a whole attempt timeout, and
   * fail-fast is the point.
   *
   * `run` is given `count`, to apply to its result in the turn the result is known and settle with what
   * it returns: the count then costs the healthy path no promise (a `then` of its own would). `call`:
   * the call a refusal's `reject` event is about (a resume's carries its count).
   */
  execute<R extends { readonly verdict: Verdict }>(
    run: (count: Count<R>) => Promise<R>,
    call?: EventCall,
  ): Promise<R> {
    // One place decides "closed": countIfClosed.
    const count = this.countIfClosed<R>();
    if (!count) {
      if (this.hold !== undefined) return Promise.reject(this.reject('isolated', undefined, call));
      return this.executeOpen(this.breaker as CircuitBreakerPolicy, run, call);
    }
    try {
      return run(count);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * The count of a call this breaker lets through now without cockatiel (closed, or switched off), for
   * a caller that runs the call itself and applies the count in the turn its result is known, as
   * {@link execute} does; undefined while the call must go through `execute` (open, half-open, isolated).
   */
  countIfClosed<R extends { readonly verdict: Verdict }>(): Count<R> | undefined {
    const breaker = this.breaker;
    if (this.hold !== undefined) return undefined;
    if (!breaker) return uncounted;
    if (breaker.state !== CircuitState.Closed) return undefined;
    // The monotonic clock: a step of the wall clock is no slow call. Read only when a duration counts.
    if (this.slowCallMs === null) return (result) => this.closedResult(breaker, result, 0);
    const started = performance.now();
    return (result) => this.closedResult(breaker, result, performance.now() - started);
  }

  /**
   * A result of a call the closed breaker let through. cockatiel's execute would do nothing for it
   * but call its breaker's `success`, a no-op for a closed {@link OpeningRule} (or rethrow an ignored
   * one), unless it opens the breaker: only then does it go through cockatiel, which opens. Sparing
   * the healthy path cockatiel's execute saves three promises per attempt; cockatiel stays the state
   * machine. A result that would open a breaker no longer closed changes nothing: opened or isolated
   * meanwhile, cockatiel would keep it so; half-open, the probe out decides.
   */
  private closedResult<R extends { readonly verdict: Verdict }>(
    breaker: CircuitBreakerPolicy,
    result: R,
    durationMs: number,
  ): R | Promise<R> {
    const { verdict } = result;
    if (verdict.breaker === 'ignore') return result;
    if (!this.counts.record(this.judge(verdict, durationMs), false)) return result;
    if (breaker.state !== CircuitState.Closed) return result;
    const counted: Counted<R> = { result, opens: true };
    return breaker.execute(() => Promise.resolve(counted)).then(() => result);
  }

  /** {@link execute} while the breaker is open or half-open: cockatiel's execute decides (the probe). */
  private async executeOpen<R extends { readonly verdict: Verdict }>(
    breaker: CircuitBreakerPolicy,
    run: (count: Count<R>) => Promise<R>,
    call: EventCall | undefined,
  ): Promise<R> {
    if (breaker.state === CircuitState.HalfOpen) throw this.reject('half-open', undefined, call);
    // With a shared store, one probe per half-open interval for the whole fleet: a call due to probe
    // here probes only if this instance takes the fleet's lease (granted at once when the store is
    // down: the local breaker decides alone); else it is refused as if the breaker were still open.
    const dueAt = this.nextProbeAt();
    if (this.fleet && dueAt !== null && Date.now() >= dueAt) {
      const lease = await this.fleet.tryLease(this.key, this.openForMs, this.forgetAfterMs);
      if (lease !== true) throw this.reject('circuit-open', lease, call);
      // Another call of this process may have become the probe while this one waited for the lease.
      if ((breaker.state as CircuitState) === CircuitState.HalfOpen)
        throw this.reject('half-open', undefined, call);
    }
    try {
      const counted = await breaker.execute(async (): Promise<Counted<R>> => {
        // Asked as the call starts: a `half-open` listener may have closed the breaker by hand, and
        // cockatiel then runs the call as a closed one, whose failure must not count as a failed probe.
        const probe = breaker.state === CircuitState.HalfOpen;
        const started = performance.now();
        let result = await run(uncounted);
        const durationMs = performance.now() - started;
        const { verdict } = result;
        // A probe that ends without telling anything about the upstream (the caller gave up, an
        // unknown error) must not close the breaker: count it as a failure, so the breaker waits again.
        if (probe && verdict.breaker === 'ignore' && isBlind(verdict)) {
          result = { ...result, verdict: { ...verdict, breaker: 'failure' } };
        } else if (verdict.breaker === 'ignore') {
          throw new Ignored(result);
        }
        return { result, opens: this.counts.record(this.judge(result.verdict, durationMs), probe) };
      });
      return counted.result;
    } catch (error) {
      if (error instanceof Ignored) return error.result as R;
      if (error instanceof CockatielBrokenCircuit) {
        // Refused as another call became the probe (half-open meanwhile): told so, with the interval.
        const state = breaker.state as CircuitState;
        const cause = state === CircuitState.HalfOpen ? 'half-open' : 'circuit-open';
        throw this.reject(state === CircuitState.Isolated ? 'isolated' : cause, undefined, call);
      }
      throw error;
    }
  }

  /**
   * resilience4j's rule: slow when strictly longer than the threshold, whatever the outcome. An
   * attempt timeout is slow whatever the threshold: it was cut, so its duration is a floor.
   */
  private judge(verdict: Verdict, durationMs: number): Judged {
    const slow =
      this.slowCallMs !== null && (durationMs > this.slowCallMs || verdict.errorKind === 'timeout');
    return { failed: verdict.breaker === 'failure', slow };
  }

  snapshot(): BreakerState {
    const { calls, failures, slow, consecutive } = this.counts.counts();
    const state = this.breaker?.state ?? CircuitState.Closed;
    const isolated = this.hold !== undefined;
    const open = !isolated && state === CircuitState.Open;
    return {
      state: isolated ? 'isolated' : open ? 'open' : state === CircuitState.HalfOpen ? 'half-open' : 'closed',
      enabled: this.breaker !== undefined,
      failures,
      calls,
      failureRatio: calls === 0 ? 0 : failures / calls,
      slowCalls: slow,
      consecutiveFailures: consecutive,
      openedAt: isolated ? this.isolatedAt : state === CircuitState.Closed ? null : this.openedAt,
      nextProbeAt: this.nextProbeAt(),
    };
  }

  /** `leaseMs`: the time left of another instance's probe lease, which refused this call. */
  private reject(
    cause: 'circuit-open' | 'half-open' | 'isolated',
    leaseMs?: number,
    call?: EventCall,
  ): BrokenCircuitError {
    const retryAfterMs = this.retryAfterMs(cause, leaseMs);
    // An isolation ends only by hand: no time to tell (and an event's Infinity would not survive JSON).
    const wait = cause === 'isolated' ? {} : { retryAfterMs };
    this.emit(ofCall({ type: 'reject', key: this.key, at: Date.now(), cause, ...wait }, call));
    const state = cause === 'circuit-open' ? 'open' : cause;
    return new BrokenCircuitError({ endpoint: this.key, retryAfterMs, state });
  }

  /**
   * A refused call's hint: see {@link BrokenCircuitError.retryAfterMs}. Never 0, which would send a
   * client that honours it straight back to be refused again, and spin: at least 1 ms, the time a
   * probe due now (a fleet lease running out, cockatiel's clock a tick behind this one) takes to be
   * let through. While a probe is in flight its end is unknown: the current half-open interval, which
   * a failed probe's next wait is at least.
   */
  private retryAfterMs(cause: 'circuit-open' | 'half-open' | 'isolated', leaseMs?: number): number {
    if (cause === 'isolated') return Infinity;
    // As the snapshot's, without its sums over the window: an open breaker refuses at the callers' rate.
    const ms = leaseMs ?? (cause === 'half-open' ? this.openForMs : (this.nextProbeAt() ?? 0) - Date.now());
    return Math.max(1, Math.ceil(ms));
  }
}

function isBlind(verdict: Verdict): boolean {
  return verdict.reason === 'aborted' || verdict.reason === 'unknown-error';
}
