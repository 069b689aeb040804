import {
  isIdempotentAtOnce,
  nextStep,
  type Policy,
  type RetryDecision,
  type RetryFacts,
} from '@breakwater/policies';
import { type AttemptDeps, type AttemptResult, type Call, runAttempt } from './attempt.ts';
import type { AttemptClock } from './attempt-clock.ts';
import { discardBody, heldWhole, readAhead, readWithin, stopReadAhead } from './body-reads.ts';
import { Bulkhead } from './bulkhead.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import {
  BreakwaterTimeoutError,
  BrokenCircuitError,
  BulkheadRejectedError,
  ThrottledError,
} from './errors.ts';
import type { BreakwaterEvent, GiveUpReason } from './events.ts';
import { type HedgeEnd, hedge, type Send } from './hedging.ts';
import { mayHoldJsonPayload, readErrorPayload } from './payload.ts';
import { EndpointState } from './registry.ts';
import type { PreparedRequest } from './replay.ts';
import { Reporter } from './reporter.ts';
import { resumable } from './resume-download.ts';
import { pacedRetry, RetryBudget } from './retry-budget.ts';
import { sleep } from './sleep.ts';
import type { BreakwaterStore, RateCut } from './store.ts';
import type { TelemetryHooks } from './telemetry/hooks.ts';
import { type GatePass, ThrottleGate } from './throttle-gate.ts';
import type { BreakerSnapshot, FetchLike } from './types.ts';

/** Shared by every endpoint pipeline of one wrapped fetch. */
export interface PipelineDeps {
  /** The user's fetch. Always called unbound (never as `deps.fetch(...)`): see attempt.ts. */
  readonly fetch: FetchLike;
  readonly emit: (event: BreakwaterEvent) => void;
  /** False when nobody listens: the per-attempt event (a redacted URL to build) is then skipped. */
  readonly listening: boolean;
  readonly random: () => number;
  /** The `store` option: what the pipelines share with other instances. Default the in-memory store. */
  readonly store: BreakwaterStore;
  /** Times out the attempts of every endpoint of the wrapped fetch. */
  readonly clock: AttemptClock;
  /**
   * The live pipeline of a key (the registry's, rebuilt if `maxEndpoints` dropped it): a resume, which
   * may come long after its call ended, goes through it.
   */
  readonly current: (key: string, policy: Policy) => EndpointPipeline;
}

/**
 * How a call ended, for `wrapFetch` to hand back as fetch would (the Response, or the error thrown)
 * or as an `HttpError`: the last attempt's result, after `attempts` attempts.
 */
export interface CallEnd {
  readonly result: AttemptResult;
  readonly attempts: number;
}

/** Stands in for the caller's signal when there is none. */
const NEVER_ABORTED = new AbortController().signal;

/** The facts handed to nextStep for a verdict that says return, which reads none of them. */
const RETURNED: RetryFacts = {
  now: 0,
  deadlineAt: 0,
  replayable: true,
  payloadVetoes: undefined,
  budgetAllows: true,
  previousDelayMs: undefined,
  random: Math.random,
};

/**
 * A retry step as the loop receives it: `paced` when the gate's pace exempted it from the budget
 * (pacedRetry); `waitFrom` (epoch ms) when its wait began before the decision, during the veto's read.
 */
type PacedStep = RetryDecision & { readonly paced?: true; readonly waitFrom?: number };

/**
 * The least time the veto's read of an error body is given, when the retry's own wait is shorter (a
 * `Retry-After: 0`, a `retry-after-ms: 50`) or no retry would go: a body sent with its headers or
 * right after them arrives within a round trip or two, even across an ocean. A body slower than that
 * is taken as saying nothing, and the retry goes (session 26, audit s25 F9).
 */
export const VETO_READ_FLOOR_MS = 250;

/** What an attempt that found the breaker open returns, when the call already has an outcome. */
const CIRCUIT_OPEN = 'circuit-open';

/**
 * The resilience pipeline of one endpoint key, in this order: bulkhead -> total deadline -> retry
 * (throttle gate, retry budget) -> circuit breaker -> attempt timeout -> fetch (attempt.ts). Built once
 * per key and reused by every call.
 */
export class EndpointPipeline {
  readonly key: string;
  readonly policy: Policy;
  private readonly random: () => number;
  private readonly report: Reporter;
  readonly breaker: CircuitBreaker;
  private readonly bulkhead: Bulkhead | undefined;
  /** Public for the store, which closes it when another instance of the fleet did. */
  readonly gate: ThrottleGate;
  private readonly budget: RetryBudget;
  /** The retry waits in progress: each ends when the breaker starts refusing (see `wait`). */
  private readonly waking = new Set<() => void>();
  private readonly attemptDeps: AttemptDeps;
  private readonly live: EndpointState;
  private readonly current: PipelineDeps['current'];

  constructor(key: string, policy: Policy, deps: PipelineDeps) {
    this.key = key;
    this.policy = policy;
    this.random = deps.random;
    this.current = deps.current;
    this.report = new Reporter(key, deps.emit, deps.listening);
    const { store } = deps;
    // A lone process passes no hooks: its breaker and gate then do exactly what they did before stores.
    const shared = store.shared;
    // A breaker that starts refusing ends the retry waits it would refuse (see `wait`).
    this.breaker = new CircuitBreaker(key, policy.breaker, deps.emit, shared ? store : undefined, () => {
      for (const wake of this.waking) wake();
    });
    this.gate = new ThrottleGate(policy, deps.random, this.report, shared ? store : undefined);
    for (const { ms, strict, cut, cuts } of store.closures(key)) this.heard(ms, strict, cut, cuts);
    // The in-memory store has no counter: it counts nothing for a fleet.
    this.budget = new RetryBudget(
      policy.retryBudget,
      store.counter?.(`budget:${key}`, policy.retryBudget.windowMs),
    );
    this.live = new EndpointState(key, this.breaker, () => ({
      throttledUntil: this.gate.closedUntilMs,
      waiting: this.gate.waiting,
      rateLimit: this.gate.rateLimit,
      throttlePhase: this.gate.phase,
      retryBudgetLeft: policy.retryBudget.enabled ? this.budget.left() : null,
      sharing: shared && store.up ? 'shared' : 'local',
    }));
    this.attemptDeps = {
      policy,
      fetch: deps.fetch,
      gate: this.gate,
      report: this.report,
      clock: deps.clock,
    };
    if (policy.bulkhead) {
      this.bulkhead = new Bulkhead(policy.bulkhead.maxConcurrent, policy.bulkhead.maxQueued);
    }
  }

  /**
   * True when dropping this pipeline loses nothing: no call in progress, breaker closed (or open and
   * long uncalled), gate open, no adaptive rate.
   */
  get evictable(): boolean {
    return this.live.evictable;
  }

  snapshot(): BreakerSnapshot {
    return this.live.snapshot();
  }

  /**
   * Another instance of the fleet closed this key's gate: held no longer than this key's own cap on
   * server delays (`retry.maxRetryAfterMs`), as its own closures are; an instance with a larger cap
   * (a config being rolled out, another service on the key) held this one for as long as its cap.
   */
  heard(ms: number, strict: boolean, cut?: RateCut, cuts?: boolean): void {
    this.gate.close(Math.min(ms, this.policy.retry.maxRetryAfterMs), strict, cut, cuts);
  }

  /** A call is in progress: the endpoint must not be dropped under it. Ends with {@link ended}. */
  started(): void {
    this.live.started();
  }

  /** A call {@link started} has ended (resolved or rejected). */
  ended(): void {
    this.live.ended();
  }

  /**
   * Runs one logical call, which the caller counts as in progress ({@link started} to {@link ended}: it
   * awaits the call anyway, where a handler on the call's promise here would cost every call a promise
   * more). `callerSignal` is the caller's own AbortSignal, if any. The total deadline
   * starts here, so time spent queued at the bulkhead counts: a queued call leaves the queue at its
   * deadline (BreakwaterTimeoutError, scope `total`, 0 attempts) or at once on abort, and never takes a slot.
   */
  execute(
    request: PreparedRequest,
    callerSignal: AbortSignal | undefined,
    telemetry: TelemetryHooks | undefined,
  ): Promise<CallEnd> {
    const signal = callerSignal ?? NEVER_ABORTED;
    const now = Date.now();
    const deadlineAt = now + this.policy.timeout.totalMs;
    const call: Call = { request, callerSignal, signal, deadlineAt, telemetry };
    const end = this.throughBulkhead(call, now);
    return this.policy.resumeDownloads ? end.then((e) => this.resumableEnd(e, call)) : end;
  }

  /**
   * With `resumeDownloads`, a GET's Response whose body can be resumed: each resume is a new call
   * through this pipeline (bulkhead, gate, breaker, retries) within the first call's deadline.
   */
  private resumableEnd(end: CallEnd, call: Call): CallEnd {
    const { response } = end.result;
    if (!response || call.request.method !== 'GET') return end;
    const refetch = async (
      range: string,
      ifMatch: string,
      stop: AbortSignal,
      resume: number,
    ): Promise<Response> => {
      call.request.setHeader('Range', range);
      call.request.setHeader('If-Match', ifMatch);
      // The body's cancel stops the resume as the caller's abort would: its waits and its request.
      const signal = call.callerSignal ? AbortSignal.any([call.callerSignal, stop]) : stop;
      const again: Call = { ...call, callerSignal: signal, signal, resume };
      // The key may have been dropped since the call ended: an isolation, an open breaker or a closed
      // gate is the live pipeline's, not this one's.
      const pipeline = this.current(this.key, this.policy);
      const { result } = await pipeline.live.track(() => pipeline.throughBulkhead(again));
      if (!result.response) throw result.error;
      return result.response;
    };
    const body = resumable(response, {
      refetch,
      maxResumes: this.policy.retry.maxAttempts - 1,
      callerSignal: call.callerSignal,
      onResume: (offset, resume) => this.report.send('resume', { offset, resume }),
    });
    return body === response ? end : { ...end, result: { ...end.result, response: body } };
  }

  /** `now`: epoch ms as the call's start was just read, if it was. */
  private throughBulkhead(call: Call, now?: number): Promise<CallEnd> {
    const { bulkhead } = this;
    // A queued call starts its loop later: its first attempt counts when it leaves the queue.
    return bulkhead ? this.queued(call, bulkhead) : this.retryLoop(call, now);
  }

  private async queued(call: Call, bulkhead: Bulkhead): Promise<CallEnd> {
    const admission = await bulkhead.acquire(call.callerSignal, call.deadlineAt);
    if (admission === 'full') throw this.bulkheadFull(call);
    if (admission === 'deadline') throw this.deadlineExceeded(0, call);
    try {
      return await this.retryLoop(call);
    } finally {
      bulkhead.release();
    }
  }

  /**
   * Pass the gate, attempt, decide (policies' `nextStep`), stop or wait. The loop is breakwater's own
   * rather than cockatiel's `retry`: the verdict of each attempt (not an exception type) decides, the
   * server's delay replaces the backoff, a wait that would pass the deadline is not started, and every
   * wait ends at once when the call is aborted. The total deadline needs no timer of its own: no wait
   * starts that would pass it, and each attempt's timeout is cut to what is left of it.
   *
   * The first attempt runs without an async layer (most calls end on it): its result is counted and
   * decided in the turn fetch's promise settles ({@link afterFirst}); a gate that holds the call and a
   * breaker that is not closed are waited for on this path too. The loop takes over for a retry,
   * hedging, a decision that must read the payload, or a gate that closed again between pass and send.
   */
  private retryLoop(call: Call, now?: number): Promise<CallEnd> {
    this.budget.recordCall(now);
    if (this.maxHedged(call, 1) > 0) return this.loop(call, 1);
    let gated: GatePass | undefined | Promise<GatePass | undefined>;
    try {
      // In the turn the call started (no bulkhead wait): its start time is still now.
      gated = this.passGate(call, undefined, 0, now);
    } catch (error) {
      return Promise.reject(error);
    }
    // Without an outcome the gate lets the call through or throws: a pass is always given.
    if (gated instanceof Promise) return gated.then((pass) => this.sendFirst(call, pass as GatePass));
    return this.sendFirst(call, gated as GatePass, now);
  }

  /**
   * Attempt 1, decided in the callback that has its result when the breaker lets it through itself.
   * `now`: epoch ms, when read in this turn already.
   */
  private sendFirst(call: Call, pass: GatePass, now?: number): Promise<CallEnd> {
    const count = this.breaker.countIfClosed<AttemptResult>();
    if (!count) {
      return this.attempt(call, 1, pass, false).then((result) =>
        this.afterFirst(call, result as AttemptResult),
      );
    }
    const settle = (result: AttemptResult): CallEnd | Promise<CallEnd> => {
      const counted = count(result);
      return counted instanceof Promise
        ? counted.then((r) => this.afterFirst(call, r))
        : this.afterFirst(call, counted);
    };
    return runAttempt(this.attemptDeps, call, 1, pass, settle, now);
  }

  /** What the loop does with attempt 1's result, in the same turn when the call ends on it. */
  private afterFirst(call: Call, result: AttemptResult): CallEnd | Promise<CallEnd> {
    // Nothing was sent and no attempt used: wait at the gate again.
    if (result.gateClosed) return this.loop(call, 1);
    let decided: RetryDecision | Promise<RetryDecision>;
    try {
      decided = this.judge(call, result, 1, undefined);
    } catch (error) {
      discardBody(result.response);
      throw error;
    }
    if (decided instanceof Promise || decided.action === 'retry') return this.loop(call, 1, result, decided);
    return this.end(call, result, 1, decided.giveUp);
  }

  /**
   * The retry loop from attempt `attempt`; given `last` and its `decided` step, from that attempt's
   * decision (the first attempt, sent by {@link sendFirst}).
   */
  private async loop(
    call: Call,
    attempt: number,
    last?: AttemptResult,
    decided?: RetryDecision | Promise<RetryDecision>,
  ): Promise<CallEnd> {
    let previousDelayMs: number | undefined;
    // The retry about to be sent was decided paced (pacedRetry), so it took nothing from the budget.
    let unpaid = false;
    // The pass its wait took at the gate, for a retry that waited there (see `holdsAtGate`).
    let heldPass: { readonly pass: GatePass | undefined } | undefined;
    try {
      for (;;) {
        if (decided === undefined) {
          // The healthy path awaits only what is asynchronous: an open gate, a decision without a
          // payload to read, and a single attempt are taken in the same turn.
          const gated = heldPass ? heldPass.pass : this.retryGate(call, last, attempt - 1);
          heldPass = undefined;
          const pass = gated instanceof Promise ? await gated : gated;
          if (pass === WOKEN) return this.endAfterRetry(call, last, attempt - 1, 'circuit-open');
          if (!pass) return this.endAfterRetry(call, last, attempt - 1, 'deadline');
          // The pace lapsed (the key's quiet period) while the retry waited: it goes unpaced, so the
          // budget pays for it after all, or it is not sent.
          if (unpaid && this.gate.rateLimit === null && !this.budget.tryRetry()) {
            pass.unsent?.();
            return this.endAfterRetry(call, last, attempt - 1, 'retry-budget-exhausted');
          }
          unpaid = false;
          const maxHedged = this.maxHedged(call, attempt);
          // One attempt is awaited as its own promise: a group's end (HedgeEnd) costs a layer more.
          const hedged =
            maxHedged > 0
              ? await this.hedged(call, attempt, pass, last !== undefined, maxHedged, last?.response)
              : undefined;
          const result = hedged
            ? hedged.result
            : await this.attempt(call, attempt, pass, last !== undefined, last?.response);
          if (result === CIRCUIT_OPEN) return this.endAfterRetry(call, last, attempt - 1, 'circuit-open');
          // Nothing was sent and no attempt used: wait at the gate again.
          if (result.gateClosed) continue;
          if (hedged) attempt = hedged.attempts;
          // The deadline cut the retry: the call ends on the outcome it had, kept whole, rather than
          // lose it (a 503 and its Retry-After) to a timeout error (audit s25).
          if (result.deadlineExceeded && heldWhole(last?.response)) {
            call.callerSignal?.throwIfAborted();
            return this.endAfterRetry(call, last, attempt, 'deadline');
          }
          // The new outcome supersedes the last one; its body is released only now, for until now the
          // call could still end on it, and hand it back readable, as fetch would have.
          discardBody(last?.response);
          last = result;
          decided = this.judge(call, result, attempt, previousDelayMs);
        }
        const step = decided instanceof Promise ? await decided : decided;
        decided = undefined;
        if (step.action !== 'retry') return this.endAfterRetry(call, last, attempt, step.giveUp);
        unpaid = (step as PacedStep).paced === true;
        previousDelayMs = step.delayMs;
        this.report.retry(last as AttemptResult, attempt + 1, step.delayMs, step.delaySource, call);
        // The call may still end on it (the gate, the breaker, the deadline): read, not cancelled.
        readAhead(last?.response);
        const delayMs = leftToWait(step as PacedStep & { delayMs: number });
        const dueAt = Date.now() + delayMs;
        const atGate = unpaid && this.holdsAtGate((last?.answeredAt ?? dueAt - delayMs) + step.delayMs);
        const waited = atGate
          ? await this.waitAtGate(dueAt, call, last, attempt, false)
          : delayMs > 0
            ? await this.wait(dueAt, call, (signal) => sleep(dueAt - Date.now(), signal))
            : await sleep(0, call.signal);
        if (waited === WOKEN) return this.endAfterRetry(call, last, attempt, 'circuit-open');
        if (atGate) heldPass = { pass: waited as GatePass | undefined };
        attempt++;
      }
    } catch (error) {
      // The call ends without handing the last Response back (aborted, timed out): free its connection
      // rather than leave it to the garbage collector.
      discardBody(last?.response);
      throw error;
    }
  }

  /** The step after attempt `attempt` ended on `result`: the caller's abort and the deadline first. */
  private judge(
    call: Call,
    result: AttemptResult,
    attempt: number,
    previousDelayMs: number | undefined,
  ): RetryDecision | Promise<RetryDecision> {
    call.callerSignal?.throwIfAborted();
    if (result.deadlineExceeded) throw this.deadlineExceeded(attempt, call);
    return this.decide(call, result, attempt, previousDelayMs);
  }

  /**
   * Waits at the throttle gate before attempt `attempts + 1`. Undefined when the call must end on its
   * last outcome: the deadline passed, or the gate will not open before it. A call with no outcome yet
   * fails instead, having sent nothing: BreakwaterTimeoutError, or ThrottledError with the remaining delay.
   * `watched` false: a paced retry's wait for its own Retry-After, which the retry event already puts on
   * the caller's span as the server's; `gateWait` would report the same wait a second time.
   */
  private passGate(
    call: Call,
    last: AttemptResult | undefined,
    attempts: number,
    now = Date.now(),
    signal = call.signal,
    watched = true,
  ): GatePass | undefined | Promise<GatePass | undefined> {
    call.callerSignal?.throwIfAborted();
    if (now >= call.deadlineAt) {
      if (!last) throw this.deadlineExceeded(attempts, call);
      return undefined;
    }
    const { telemetry } = call;
    try {
      const entered = this.gate.enter(signal, call.deadlineAt, now);
      // The handler (and telemetry's watch) is made only for a gate that holds the call: none on the
      // healthy path.
      if (!(entered instanceof Promise)) return entered;
      if (telemetry && watched) watchHold(telemetry, this.key, entered);
      return entered.catch((error) => this.refused(error, call, last));
    } catch (error) {
      return this.refused(error, call, last);
    }
  }

  /**
   * {@link passGate} before attempt `attempts + 1`. A retry that finds the gate closed (another call's
   * 429, a spent quota) waits there as a retry waits out its delay ({@link wait}): a breaker that starts
   * refusing until after the gate reopens (opened by other calls' failures, isolated by hand) ends the
   * wait, and the call ends on its last outcome then, not when the gate lets it by to be refused.
   */
  private retryGate(
    call: Call,
    last: AttemptResult | undefined,
    attempts: number,
  ): GatePass | undefined | Promise<GatePass | undefined | typeof WOKEN> {
    const reopensAt = last ? this.gate.closedUntilMs : null;
    if (reopensAt === null) return this.passGate(call, last, attempts);
    return this.waitAtGate(reopensAt, call, last, attempts);
  }

  /**
   * {@link passGate} as a retry's wait ({@link wait}), due at `dueAt`: the breaker's refusal ends it.
   * `watched`: as passGate's (false for a paced retry's wait for its own Retry-After).
   */
  private waitAtGate(
    dueAt: number,
    call: Call,
    last: AttemptResult | undefined,
    attempts: number,
    watched = true,
  ): Promise<GatePass | undefined | typeof WOKEN> {
    return this.wait(dueAt, call, (signal) =>
      this.passGate(call, last, attempts, Date.now(), signal, watched),
    );
  }

  /** The gate refused the call: it ends on its last outcome, or fails with the ThrottledError. */
  private refused(error: unknown, call: Call, last: AttemptResult | undefined): undefined {
    call.callerSignal?.throwIfAborted();
    if (!(error instanceof ThrottledError)) throw error;
    if (last) return undefined;
    this.report.reject('throttled', error.retryAfterMs, call);
    throw error;
  }

  /**
   * One attempt through the breaker. An open breaker stops a call that already has an outcome.
   * `superseded`: the last outcome's Response, whose body is cancelled once this attempt is sent.
   */
  private attempt(
    call: Call,
    attempt: number,
    pass: GatePass,
    hasOutcome: boolean,
    superseded?: Response,
  ): Promise<AttemptResult | typeof CIRCUIT_OPEN> {
    let ran = false;
    const sent = this.breaker.execute<AttemptResult>((count) => {
      ran = true;
      return runAttempt(this.attemptDeps, call, attempt, pass, count, undefined, superseded);
    }, call);
    const { unsent } = pass;
    // No handler when none is needed (a handler is a promise more): a first attempt has no outcome to
    // end on, and a pass that is no probe and holds no paced send slot has nothing to hand back.
    if (!hasOutcome && !unsent) return sent;
    // Refused by the breaker, the call sends nothing: the paced recovery's probe goes to the next call,
    // and its send slot back to the pace. An open breaker ends a call that has an outcome on it.
    return sent.catch((error: unknown) => {
      if (!ran) unsent?.();
      return hasOutcome ? circuitOpen(error) : Promise.reject(error);
    });
  }

  /**
   * How many hedged attempts may go beside attempt `attempt`: none unless `hedging` is on, the request
   * idempotent by its method (or `retry.idempotent`: an idempotency key makes a retry safe, not two
   * copies at once, see `isIdempotentAtOnce`) and its body not a stream.
   */
  private maxHedged(call: Call, attempt: number): number {
    const { hedging, retry } = this.policy;
    if (!hedging.enabled || !call.request.concurrent || !isIdempotentAtOnce(call.request, retry)) return 0;
    return Math.min(hedging.maxHedgedAttempts, retry.maxAttempts - attempt);
  }

  /** A group of attempts side by side (hedging.ts); `attempts` is the highest attempt number started. */
  private hedged(
    call: Call,
    attempt: number,
    pass: GatePass,
    hasOutcome: boolean,
    maxHedged: number,
    superseded: Response | undefined,
  ): Promise<HedgeEnd> {
    const first = (signal?: AbortSignal): Promise<AttemptResult | typeof CIRCUIT_OPEN> =>
      this.attempt(signal ? { ...call, callerSignal: signal } : call, attempt, pass, hasOutcome, superseded);
    return hedge(attempt, {
      delayMs: this.policy.hedging.delayMs,
      maxHedged,
      callerSignal: call.callerSignal,
      first,
      hedge: (n, groupSignal) => this.hedgeSender(call, n, groupSignal),
    });
  }

  /**
   * The sender of hedged attempt `n`, when it may start now: the breaker closed, the gate open, time
   * left, and a retry left in the budget (gRPC's throttling rule: hedges are retries to the budget).
   * Everything that can refuse is asked before the gate's send slot is taken: a slot taken and not
   * used may be the paced recovery's probe, which would hold every other call for its answer; for the
   * same reason it waits for the slot under `groupSignal`, which aborts when the group ends. The
   * budget's retry is taken only by the sender's `claim`, as the hedge is sent: one granted and never
   * sent (its group ended first, the budget spent meanwhile) counts nowhere, and a fleet's counts
   * cannot be taken back.
   */
  private async hedgeSender(call: Call, n: number, groupSignal: AbortSignal): Promise<Send | undefined> {
    // closedUntilMs is null unless the gate is closed now.
    if (!this.breaker.closed || this.gate.closedUntilMs !== null) return undefined;
    if (Date.now() >= call.deadlineAt || this.budget.left() < 1) return undefined;
    const pass = await this.gate.pass(groupSignal, call.deadlineAt);
    // The group may have ended in the turns since the slot was granted: no hedge goes, none is told.
    if (groupSignal.aborted) {
      pass.unsent?.();
      return undefined;
    }
    const send = (signal: AbortSignal): ReturnType<Send> => {
      // Told when it goes, not when granted: a group that ended meanwhile sends it never.
      this.report.send('hedge', { attempt: n }, undefined, call);
      return this.breaker.execute<AttemptResult>(
        (count) => runAttempt(this.attemptDeps, { ...call, callerSignal: signal }, n, pass, count),
        call,
      );
    };
    // Asked in the turn it is sent (hedging.ts sends it right after): the breaker opened, the gate
    // closed or the budget spent by others while it waited for its slot. Each refusal is asked before
    // the budget's take, so a retry is taken only for a hedge that goes: a closed breaker and an open
    // gate in this turn run it, as runAttempt asks the gate again in the same turn.
    const claim = (): boolean => this.breaker.closed && pass.letsThrough() && this.budget.tryRetry();
    return Object.assign(send, { unused: () => pass.unsent?.(), claim });
  }

  /**
   * Asks policies' `nextStep`. The payload's veto is read only when it alone could still stop the
   * call: a Partner Center payload with `isRetryable: false`, read from a clone, bounded in bytes and
   * in time (see {@link readVeto}). A cut read vetoes only by what arrived.
   */
  private decide(
    call: Call,
    result: AttemptResult,
    attempt: number,
    previousDelayMs: number | undefined,
  ): RetryDecision | Promise<RetryDecision> {
    const { verdict } = result;
    // A throttled retry the gate paces is not the budget's to bound (retry-budget.ts, pacedRetry).
    const paced = pacedRetry(verdict, this.gate);
    // nextStep reads no facts for a verdict that says return (a success, most calls): none are gathered.
    const first =
      verdict.action === 'return'
        ? RETURNED
        : this.facts(call, previousDelayMs, result.response ? undefined : false, paced);
    const step = nextStep(verdict, attempt, this.policy.retry, first);
    if (step.action !== 'check-payload') return this.spend(step, paced);
    return this.readVeto(call, result, attempt, first, paced);
  }

  /**
   * Reads the veto, then decides. The retry's wait runs from now, during the read: a stalled error
   * body once held the retry until the attempt's timeout (10 s) although the server asked for 50 ms
   * (audit s25 F9). So the read ends when the retry would go without a veto, or after
   * {@link VETO_READ_FLOOR_MS} when that is sooner, as well as at the attempt's timeout, the call's
   * deadline or the caller's abort; what is left of the wait after it is what the loop waits. Both
   * asks of `nextStep` draw the same jitter, so the wait the read ran against is the one decided.
   */
  private readVeto(
    call: Call,
    result: AttemptResult,
    attempt: number,
    unread: RetryFacts,
    paced: boolean,
  ): Promise<RetryDecision> {
    const { verdict } = result;
    const { retry } = this.policy;
    const waitFrom = Date.now();
    let drawn: number | undefined;
    const random = (): number => {
      drawn ??= this.random();
      return drawn;
    };
    const unvetoed = nextStep(verdict, attempt, retry, { ...unread, payloadVetoes: false, random });
    const delayMs = unvetoed.action === 'retry' ? unvetoed.delayMs : 0;
    const until = Math.min(
      result.readBy ?? Number.POSITIVE_INFINITY,
      waitFrom + Math.max(delayMs, VETO_READ_FLOOR_MS),
    );
    return payloadVetoes(result, call.callerSignal, until).then((vetoes) => {
      call.callerSignal?.throwIfAborted();
      // Judged as of now, as if the wait were still to come: no retry that the read's time made
      // doubtful (the deadline, the breaker's refusal) goes.
      const known = { ...this.facts(call, unread.previousDelayMs, vetoes, paced), random };
      const step = this.spend(nextStep(verdict, attempt, retry, known), paced);
      return step.action === 'retry' ? { ...step, waitFrom } : step;
    });
  }

  /** `paced`: the retry takes nothing from the budget. */
  private facts<V extends boolean | undefined>(
    call: Call,
    previousDelayMs: number | undefined,
    payloadVetoes: V,
    paced: boolean,
  ): RetryFacts & { payloadVetoes: V } {
    return {
      now: Date.now(),
      deadlineAt: call.deadlineAt,
      replayable: call.request.replayable,
      payloadVetoes,
      budgetAllows: paced || this.budget.left() >= 1,
      // A retry the breaker will refuse when it is due is not waited for.
      refusedUntil: this.breaker.refusedUntil(),
      previousDelayMs,
      random: this.random,
    };
  }

  /**
   * Takes a retry from the budget in the turn that asked whether the budget allows it: calls of the
   * key that run concurrently must not all see the same last retry left. A `paced` retry takes none.
   */
  private spend(step: RetryDecision, paced: boolean): PacedStep {
    if (step.action !== 'retry') return step;
    if (!paced) this.budget.tryRetry();
    // Marked, for the loop to charge it after all should the pace lapse before it is sent.
    return paced ? { ...step, paced: true } : step;
  }

  /**
   * Whether a paced retry (a 429's, on a key the gate paces) waits at the throttle gate rather than
   * outside it: the gate would hold it anyway once its wait ended, behind every call that came to the
   * gate meanwhile, or queue it behind them for a send slot. Waiting there from the start, it leaves in
   * its place: first, as it came first (audit s25 F10: it went after callers that came 100 ms after
   * its 429). Only when the gate's closure lasts until `readyAt` at least (its wait counted from its
   * response's arrival, as the server counts a `Retry-After`, and as its 429 closed the gate, so a
   * server delay always is; the retry's own `dueAt`, counted from its decision, is a few ms later, and
   * a gate released then had already let the later callers out): it leaves no sooner than asked.
   */
  private holdsAtGate(readyAt: number): boolean {
    const until = this.gate.closedUntilMs;
    return until !== null && until >= readyAt;
  }

  /**
   * Runs a retry's wait (`waitFor`: a sleep to `dueAt`, or a hold at the throttle gate) under a
   * signal of its own; WOKEN when the wait ended early because the breaker started refusing (it
   * opened, or was isolated by hand) until after the retry would be due: the retry it would refuse is
   * not waited for, and the call ends on its last outcome at once (audit s25: a call isolated 200 ms
   * into a 3 s Retry-After slept the 3 s out to be refused). A breaker that would let the retry
   * through when it is due (its probe due before) wakes nothing, as `nextStep` judges it. A retry
   * held at the gate past `dueAt` by another closure is refused when the gate lets it by.
   */
  private async wait<T>(
    dueAt: number,
    call: Call,
    waitFor: (signal: AbortSignal) => T | Promise<T>,
  ): Promise<T | typeof WOKEN> {
    // Not `AbortSignal.any`: its dependants of a long-lived signal are kept past their use on some runtimes.
    const waiting = new AbortController();
    const follow = (): void => waiting.abort(call.signal.reason);
    const refuses = (): boolean => {
      const refusedUntil = this.breaker.refusedUntil();
      return refusedUntil !== undefined && dueAt < refusedUntil;
    };
    // Judged once the turn is over: an isolate undone in the same turn (reset) leaves the wait alone,
    // where an abort would take a retry held at the gate out of its place, to re-enter at the back.
    const wake = (): void =>
      queueMicrotask(() => {
        if (this.waking.has(wake) && refuses()) waiting.abort(WOKEN);
      });
    call.signal.addEventListener('abort', follow, { once: true });
    this.waking.add(wake);
    if (call.signal.aborted) follow();
    try {
      return await waitFor(waiting.signal);
    } catch (error) {
      call.callerSignal?.throwIfAborted();
      if (error !== WOKEN) throw error;
      // Reset or closed again before the abort was handled: the wait goes on to its end.
      return refuses() ? WOKEN : this.wait(dueAt, call, waitFor);
    } finally {
      call.signal.removeEventListener('abort', follow);
      this.waking.delete(wake);
    }
  }

  /**
   * {@link end}, from the retry loop: the outcome the call ends on may have been read ahead for a
   * retry (the last one's, or a hedged group's kept result), and the caller reads it from here.
   */
  private endAfterRetry(
    call: Call,
    result: AttemptResult | undefined,
    attempts: number,
    giveUp?: GiveUpReason,
  ): CallEnd {
    stopReadAhead(result?.response);
    return this.end(call, result, attempts, giveUp);
  }

  /** Ends the call on `result` after `attempts` attempts, reporting why a retry was not made. */
  private end(
    call: Call,
    result: AttemptResult | undefined,
    attempts: number,
    giveUp?: GiveUpReason,
  ): CallEnd {
    // Only reached with an outcome: without one, the gate and the breaker throw instead.
    const last = result as AttemptResult;
    const detail = giveUp === 'body-not-replayable' ? call.request.notReplayableReason : undefined;
    if (giveUp) this.report.giveUp(last, attempts, giveUp, detail, call);
    return { result: last, attempts };
  }

  private bulkheadFull(call: Call): BulkheadRejectedError {
    this.report.reject('bulkhead-full', undefined, call);
    return new BulkheadRejectedError({
      endpoint: this.key,
      maxConcurrent: this.policy.bulkhead?.maxConcurrent ?? 0,
      maxQueued: this.policy.bulkhead?.maxQueued ?? 0,
    });
  }

  private deadlineExceeded(attempts: number, call: Call): BreakwaterTimeoutError {
    const timeoutMs = this.policy.timeout.totalMs;
    this.report.timeout('total', timeoutMs, attempts, call);
    return new BreakwaterTimeoutError({ scope: 'total', timeoutMs, endpoint: this.key, attempts });
  }
}

/** Why a retry's wait ended early: the breaker started refusing (see `EndpointPipeline.wait`). */
const WOKEN = Symbol('woken');

/** An open breaker met by a call that has an outcome: the call ends on it. */
function circuitOpen(error: unknown): typeof CIRCUIT_OPEN {
  if (error instanceof BrokenCircuitError) return CIRCUIT_OPEN;
  throw error;
}

/**
 * Shows a held call to the `gateWait` hook, which only watches: the call waits on the gate's promise,
 * not the hook's. Awaited, the hook's promise failed the call with telemetry's error when it rejected
 * with its own (as a hook that threw did), and held the call past its pass and its caller's abort when
 * it never settled.
 */
function watchHold(telemetry: TelemetryHooks, key: string, entered: Promise<GatePass>): void {
  try {
    // Its rejection (the gate's refusal, the abort, or its own error) is handled by the call or is
    // telemetry's: never an unhandled one.
    Promise.resolve(telemetry.gateWait(key, entered)).catch(ignore);
  } catch {
    // Telemetry never changes a call: the call waits unwatched.
  }
}

function ignore(): void {}

/** What is left of a retry's wait: part of it may have passed reading the veto. */
function leftToWait(step: PacedStep & { readonly delayMs: number }): number {
  return step.waitFrom === undefined ? step.delayMs : Math.max(0, step.waitFrom + step.delayMs - Date.now());
}

/**
 * Whether the outcome's payload says `isRetryable: false`; read only where one may be (payload.ts),
 * and until `until` (epoch ms) at most.
 */
async function payloadVetoes(
  result: AttemptResult,
  callerSignal: AbortSignal | undefined,
  until: number,
): Promise<boolean> {
  const { response } = result;
  // A Response-like answer of another library may have no clone: its payload stays unread, as before.
  if (!response?.body || typeof response.clone !== 'function') return false;
  if (!mayHoldJsonPayload(response.headers.get('content-type'))) return false;
  const payload = await readWithin(until, callerSignal, (signal) =>
    readErrorPayload(response.clone(), undefined, signal),
  );
  return payload.isRetryable === false;
}
