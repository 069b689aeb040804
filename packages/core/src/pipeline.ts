import {
  backoffDelay,
  classify,
  type Outcome,
  type Policy,
  parseRetryAfter,
  type Verdict,
} from '@breakwater/policies';
import { type TimeoutPolicy as CockatielTimeout, TimeoutStrategy, timeout } from 'cockatiel';
import { Bulkhead } from './bulkhead.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { BrokenCircuitError, BulkheadRejectedError, ThrottledError, TimeoutError } from './errors.ts';
import type { BreakwaterEvent, GiveUpReason } from './events.ts';
import { HttpError } from './http-error.ts';
import { readErrorPayload } from './payload.ts';
import { redactUrl } from './redact.ts';
import type { PreparedRequest } from './replay.ts';
import { RetryBudget } from './retry-budget.ts';
import { after, MAX_TIMER_MS, sleep } from './sleep.ts';
import { ThrottleGate } from './throttle-gate.ts';
import type { BreakerSnapshot, FetchLike } from './types.ts';

// Re-exported for one release, for modules that imported them from here: their home is types.ts.
export type { BreakerSnapshot, FetchLike } from './types.ts';

/** Shared by every endpoint pipeline of one wrapped fetch. */
export interface PipelineDeps {
  /** The user's fetch. Always called unbound (never as `deps.fetch(...)`): see `attempt`. */
  readonly fetch: FetchLike;
  readonly emit: (event: BreakwaterEvent) => void;
  /** False when nobody listens: the per-attempt event (a redacted URL to build) is then skipped. */
  readonly listening: boolean;
  readonly random: () => number;
  readonly throwHttpErrors: boolean;
}

/** One attempt's result, as the breaker sees it. */
interface AttemptResult {
  readonly outcome: Outcome;
  readonly response?: Response;
  readonly error?: unknown;
  readonly verdict: Verdict;
  /** The attempt was stopped by the call's total deadline. */
  readonly deadlineExceeded?: true;
  /** Nothing was sent: the throttle gate closed between the call passing it and the send. */
  readonly gateClosed?: true;
  /**
   * Epoch ms by which breakwater's own reads of this attempt's body (the payload veto, HttpError) must
   * end: when the attempt's timeout or the call's deadline expires, whichever is first.
   */
  readonly readBy?: number;
}

/** What an attempt returns when the gate closed just before the send (see `attempt`). */
const GATE_CLOSED: AttemptResult = {
  outcome: { kind: 'error', error: null },
  verdict: { action: 'return', breaker: 'ignore', reason: 'throttled' },
  gateClosed: true,
};

/** Stands in for the caller's signal when there is none. */
const NEVER_ABORTED = new AbortController().signal;

/**
 * The resilience pipeline of one endpoint key, in architecture.md's order: bulkhead -> total deadline ->
 * retry -> circuit breaker -> attempt timeout -> fetch. Built once per key and reused by every call.
 */
export class EndpointPipeline {
  readonly key: string;
  readonly policy: Policy;
  private readonly deps: PipelineDeps;
  private readonly breaker: CircuitBreaker;
  private readonly bulkhead: Bulkhead | undefined;
  private readonly attemptTimeout: CockatielTimeout;
  private readonly gate: ThrottleGate;
  private readonly budget: RetryBudget;
  private inFlight = 0;

  constructor(key: string, policy: Policy, deps: PipelineDeps) {
    this.key = key;
    this.policy = policy;
    this.deps = deps;
    this.breaker = new CircuitBreaker(key, policy.breaker, deps.emit);
    this.gate = new ThrottleGate(key, policy.throttle, deps.random, () =>
      this.deps.emit({ type: 'gate-open', key, at: Date.now() }),
    );
    this.budget = new RetryBudget(policy.retryBudget);
    // abortOnReturn: false, because the Response handed back must stay readable: cockatiel would
    // otherwise abort the signal its body is streamed under as soon as the headers arrive.
    this.attemptTimeout = timeout(Math.min(policy.timeout.attemptMs, MAX_TIMER_MS), {
      strategy: TimeoutStrategy.Cooperative,
      abortOnReturn: false,
    });
    if (policy.bulkhead) {
      this.bulkhead = new Bulkhead(policy.bulkhead.maxConcurrent, policy.bulkhead.maxQueued);
    }
  }

  /** True when dropping this pipeline loses nothing: breaker closed, gate open, no call in progress. */
  get evictable(): boolean {
    return this.inFlight === 0 && this.gate.closedUntilMs === null && this.breaker.closed;
  }

  snapshot(): BreakerSnapshot {
    return {
      key: this.key,
      ...this.breaker.snapshot(),
      inFlight: this.inFlight,
      throttledUntil: this.gate.closedUntilMs,
      waiting: this.gate.waiting,
      retryBudgetLeft: this.policy.retryBudget.enabled ? this.budget.left() : null,
    };
  }

  /**
   * Runs one logical call. `callerSignal` is the caller's own AbortSignal, if any. The total deadline
   * starts here, so time spent queued at the bulkhead counts: a queued call leaves the queue at its
   * deadline (TimeoutError, scope `total`, 0 attempts) or at once on abort, and never takes a slot.
   */
  async execute(request: PreparedRequest, callerSignal: AbortSignal | undefined): Promise<Response> {
    const deadlineAt = Date.now() + this.policy.timeout.totalMs;
    this.inFlight++;
    try {
      const { bulkhead } = this;
      if (!bulkhead) return await this.retryLoop(request, callerSignal, deadlineAt);
      const admission = await bulkhead.acquire(callerSignal, deadlineAt);
      if (admission === 'full') throw this.bulkheadFull();
      if (admission === 'deadline') throw this.deadlineExceeded(0);
      try {
        return await this.retryLoop(request, callerSignal, deadlineAt);
      } finally {
        bulkhead.release();
      }
    } finally {
      this.inFlight--;
    }
  }

  private bulkheadFull(): BulkheadRejectedError {
    this.deps.emit({ type: 'reject', key: this.key, at: Date.now(), cause: 'bulkhead-full' });
    return new BulkheadRejectedError({
      endpoint: this.key,
      maxConcurrent: this.policy.bulkhead?.maxConcurrent ?? 0,
      maxQueued: this.policy.bulkhead?.maxQueued ?? 0,
    });
  }

  /**
   * The retry loop is breakwater's own rather than cockatiel's `retry`: the verdict of each attempt
   * (not an exception type) decides, the server's delay replaces the backoff, a wait that would pass
   * the deadline is not started, and every wait ends at once when the call is aborted.
   *
   * The total deadline needs no timer of its own: no wait starts that would pass it, and each
   * attempt's timeout is cut to what is left of it. One timer per attempt, none per call.
   */
  private async retryLoop(
    request: PreparedRequest,
    callerSignal: AbortSignal | undefined,
    deadlineAt: number,
  ): Promise<Response> {
    const callSignal = callerSignal ?? NEVER_ABORTED;
    const { retry } = this.policy;
    let previousDelayMs: number | undefined;
    let last: AttemptResult | undefined;
    this.budget.recordCall();
    let waitedAtGate = false;
    try {
      for (let attempt = 1; ; attempt++) {
        callerSignal?.throwIfAborted();
        if (Date.now() >= deadlineAt) {
          if (!last) throw this.deadlineExceeded(attempt - 1);
          this.giveUp(last, attempt - 1, 'deadline');
          return this.finish(last, request, attempt - 1, callerSignal);
        }
        try {
          waitedAtGate = await this.gate.pass(callSignal, deadlineAt);
        } catch (error) {
          callerSignal?.throwIfAborted();
          if (!(error instanceof ThrottledError)) throw error;
          // The gate will not open before the deadline: a retry hands back what the call has; a first
          // attempt fails at once with the remaining delay, having sent nothing.
          if (last) {
            this.giveUp(last, attempt - 1, 'deadline');
            return this.finish(last, request, attempt - 1, callerSignal);
          }
          this.deps.emit({
            type: 'reject',
            key: this.key,
            at: Date.now(),
            cause: 'throttled',
            retryAfterMs: error.retryAfterMs,
          });
          throw error;
        }
        let result: AttemptResult;
        try {
          result = await this.breaker.execute(() =>
            this.attempt(request, attempt, callerSignal, deadlineAt, waitedAtGate),
          );
          if (result.gateClosed) {
            // Nothing was sent and no attempt used: wait at the gate again.
            attempt--;
            continue;
          }
        } catch (error) {
          // An open breaker stops the loop; a call that already has an outcome keeps it (nothing lost).
          if (error instanceof BrokenCircuitError && last) {
            this.giveUp(last, attempt - 1, 'circuit-open');
            return this.finish(last, request, attempt - 1, callerSignal);
          }
          throw error;
        }
        // The new outcome supersedes the last one; its body is released only now, for until now the
        // call could still end on it (the breaker opened, the gate or the deadline stopped the retry)
        // and hand it back, readable, as fetch would have.
        discardBody(last);
        last = result;
        const { verdict } = result;
        callerSignal?.throwIfAborted();
        if (result.deadlineExceeded) throw this.deadlineExceeded(attempt);
        if (verdict.action === 'return') {
          if (verdict.reason === 'retry-after-exceeds-cap' || verdict.reason === 'not-idempotent') {
            this.giveUp(result, attempt, verdict.reason);
          }
          return this.finish(result, request, attempt, callerSignal);
        }
        if (attempt >= retry.maxAttempts) {
          this.giveUp(result, attempt, 'attempts-exhausted');
          return this.finish(result, request, attempt, callerSignal);
        }
        if (!request.replayable) {
          this.giveUp(result, attempt, 'body-not-replayable', request.notReplayableReason);
          return this.finish(result, request, attempt, callerSignal);
        }
        if (result.response && (await this.payloadForbidsRetry(result, callerSignal))) {
          this.giveUp(result, attempt, 'not-retryable-payload');
          return this.finish(result, request, attempt, callerSignal);
        }
        callerSignal?.throwIfAborted();
        const delayMs =
          verdict.delayMs ??
          backoffDelay(
            retry.backoff,
            { retry: attempt, previousDelayMs, throttled: verdict.throttled === true },
            this.deps.random,
          );
        if (Date.now() + delayMs >= deadlineAt) {
          this.giveUp(result, attempt, 'deadline');
          return this.finish(result, request, attempt, callerSignal);
        }
        if (!this.budget.tryRetry()) {
          this.giveUp(result, attempt, 'retry-budget-exhausted');
          return this.finish(result, request, attempt, callerSignal);
        }
        previousDelayMs = delayMs;
        this.deps.emit({
          type: 'retry',
          key: this.key,
          at: Date.now(),
          attempt: attempt + 1,
          delayMs,
          delaySource: verdict.delayMs === undefined ? 'backoff' : 'server',
          reason: verdict.reason,
          ...(result.response ? { status: result.response.status } : {}),
        });
        try {
          await sleep(delayMs, callSignal);
        } catch (error) {
          callerSignal?.throwIfAborted();
          throw error;
        }
      }
    } catch (error) {
      // The call ends without handing the last Response back (aborted, timed out, or an HttpError
      // that already read it): free its connection rather than leave it to the garbage collector.
      discardBody(last);
      throw error;
    }
  }

  /**
   * A server delay (Retry-After and friends) on one of `throttle.statuses` (429, 503) closes the gate
   * for every caller of the key; a 429 without one closes it for the throttling backoff. No response
   * closes it for longer than `retry.maxRetryAfterMs`: one absurd or hostile `Retry-After` must not
   * lock every caller out for days. The event reports the server's delay as sent.
   */
  private closeGateIfThrottled(response: Response, attempt: number): void {
    const { throttle } = this.policy;
    if (!throttle.enabled || !throttle.statuses.includes(response.status)) return;
    let delayMs = parseRetryAfter(response.headers, Date.now())?.delayMs;
    if (delayMs === undefined && response.status === 429) {
      delayMs = backoffDelay(
        this.policy.retry.backoff,
        { retry: attempt, previousDelayMs: undefined, throttled: true },
        this.deps.random,
      );
    }
    if (delayMs === undefined) return;
    const closedForMs = Math.min(delayMs, this.policy.retry.maxRetryAfterMs);
    if (closedForMs <= 0 || !this.gate.close(closedForMs, response.status === 429)) return;
    const at = Date.now();
    this.deps.emit({
      type: 'throttled',
      key: this.key,
      at,
      delayMs,
      until: at + closedForMs,
      status: response.status,
    });
  }

  /** One attempt under the attempt timeout, classified. Never throws for a fetch failure. */
  private async attempt(
    request: PreparedRequest,
    attempt: number,
    callerSignal: AbortSignal | undefined,
    deadlineAt: number,
    waitedAtGate: boolean,
  ): Promise<AttemptResult> {
    const started = performance.now();
    // The attempt's timer doubles as the call's deadline when less than an attempt's time is left.
    const left = deadlineAt - Date.now();
    const readBy = Math.min(Date.now() + this.policy.timeout.attemptMs, deadlineAt);
    const cutByDeadline = left <= this.policy.timeout.attemptMs;
    const attemptTimeout = cutByDeadline
      ? timeout(Math.min(Math.max(0, left), MAX_TIMER_MS), {
          strategy: TimeoutStrategy.Cooperative,
          abortOnReturn: false,
        })
      : this.attemptTimeout;
    const outcome = await attemptTimeout.execute(async ({ signal }) => {
      // The attempt signal follows the caller only until the attempt returns; the caller's own
      // signal is added so that aborting also stops the body of the Response handed back.
      const fetchSignal = callerSignal ? AbortSignal.any([signal, callerSignal]) : signal;
      // Checked again with no await between the check and the send: another caller's response may
      // have closed the gate while this call made its way here from the gate.
      if (this.gate.holds(waitedAtGate)) return GATE_CLOSED;
      // Called unbound: a browser's fetch throws `Illegal invocation` when called as a method of any
      // object but the global one, and `this.deps.fetch(...)` would pass `deps` as `this`.
      const { fetch } = this.deps;
      try {
        const response = await fetch(...request.attempt(fetchSignal));
        // Closed here, on the first turn after the response, so that no other caller of the key
        // slips a request in while this outcome travels back through the pipeline.
        this.closeGateIfThrottled(response, attempt);
        return {
          outcome: { kind: 'response', status: response.status, headers: response.headers },
          response,
        } as const;
      } catch (error) {
        if (signal.aborted && !callerSignal?.aborted) {
          if (cutByDeadline) {
            return { outcome: { kind: 'error', error }, error, deadlineExceeded: true } as const;
          }
          const timeoutMs = this.policy.timeout.attemptMs;
          this.deps.emit({
            type: 'timeout',
            key: this.key,
            at: Date.now(),
            scope: 'attempt',
            timeoutMs,
            attempt,
          });
          const timedOut = new TimeoutError({
            scope: 'attempt',
            timeoutMs,
            endpoint: this.key,
            attempts: attempt,
            cause: error,
          });
          return { outcome: { kind: 'error', error: timedOut }, error: timedOut } as const;
        }
        return { outcome: { kind: 'error', error }, error } as const;
      }
    }, callerSignal);
    if (outcome === GATE_CLOSED) return GATE_CLOSED;
    // A call stopped by its caller or its deadline says nothing about the upstream: never retried,
    // ignored by the breaker.
    const verdict = classify(outcome.outcome, request, this.policy, {
      now: Date.now(),
      callerAborted: callerSignal?.aborted === true || 'deadlineExceeded' in outcome,
    });
    const result: AttemptResult = { ...outcome, verdict, readBy };
    if (!this.deps.listening) return result;
    this.deps.emit({
      type: 'attempt',
      key: this.key,
      at: Date.now(),
      attempt,
      method: request.method,
      url: redactUrl(request.url),
      durationMs: performance.now() - started,
      reason: verdict.reason,
      ...(outcome.response ? { status: outcome.response.status } : {}),
      ...(verdict.errorKind ? { errorKind: verdict.errorKind } : {}),
      ...(verdict.errorCode ? { errorCode: verdict.errorCode } : {}),
    });
    return result;
  }

  /**
   * A Partner Center payload with `isRetryable: false` vetoes the retry. Read from a clone, bounded in
   * bytes and in time: a body that stalls is cut when the attempt's timeout or the call's deadline
   * expires, or when the caller aborts. A cut read is no veto: the call goes on by its verdict.
   */
  private async payloadForbidsRetry(
    result: AttemptResult,
    callerSignal: AbortSignal | undefined,
  ): Promise<boolean> {
    const { response } = result;
    if (!response?.headers.get('content-type')?.includes('json')) return false;
    const payload = await readWithin(result.readBy, callerSignal, (signal) =>
      readErrorPayload(response.clone(), undefined, signal),
    );
    return payload.isRetryable === false;
  }

  private giveUp(result: AttemptResult, attempts: number, reason: GiveUpReason, detail?: string): void {
    this.deps.emit({
      type: 'give-up',
      key: this.key,
      at: Date.now(),
      attempts,
      reason,
      ...(result.response ? { status: result.response.status } : {}),
      ...(result.verdict.errorKind ? { errorKind: result.verdict.errorKind } : {}),
      ...(result.verdict.delayMs !== undefined ? { delayMs: result.verdict.delayMs } : {}),
      ...(detail ? { detail } : {}),
    });
  }

  private deadlineExceeded(attempts: number): TimeoutError {
    const timeoutMs = this.policy.timeout.totalMs;
    this.deps.emit({
      type: 'timeout',
      key: this.key,
      at: Date.now(),
      scope: 'total',
      timeoutMs,
      attempt: attempts,
    });
    return new TimeoutError({ scope: 'total', timeoutMs, endpoint: this.key, attempts });
  }

  /**
   * Hands the last outcome back: the Response (or HttpError), or the error as fetch would throw it.
   * The HttpError's body read ends with the attempt's timeout, the call's deadline or the caller's
   * abort: an error body that stalls then gives an HttpError without payload, on time.
   */
  private async finish(
    result: AttemptResult,
    request: PreparedRequest,
    attempts: number,
    callerSignal: AbortSignal | undefined,
  ): Promise<Response> {
    const { response } = result;
    if (!response) throw result.error;
    if (!this.deps.throwHttpErrors || response.ok) return response;
    const error = await readWithin(result.readBy, callerSignal, (signal) =>
      HttpError.from(response, {
        method: request.method,
        url: request.url.href,
        attempts,
        endpoint: this.key,
        requestHeaders: request.headers,
        signal,
        ...(result.verdict.delayMs !== undefined ? { retryAfterMs: result.verdict.delayMs } : {}),
      }),
    );
    callerSignal?.throwIfAborted();
    throw error;
  }
}

/**
 * Runs one of breakwater's own body reads under a signal that aborts at `until` (epoch ms; never, when
 * undefined) or when the caller aborts, whichever is first, so that no such read outlives the call.
 */
async function readWithin<T>(
  until: number | undefined,
  callerSignal: AbortSignal | undefined,
  read: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const cancelTimer = until === undefined ? undefined : after(Math.max(0, until - Date.now()), stop);
  if (callerSignal?.aborted) stop();
  callerSignal?.addEventListener('abort', stop, { once: true });
  try {
    return await read(controller.signal);
  } finally {
    cancelTimer?.();
    callerSignal?.removeEventListener('abort', stop);
  }
}

/** Cancels the body of an outcome nobody will read; a body already read or locked is left alone. */
function discardBody(result: AttemptResult | undefined): void {
  const body = result?.response?.body;
  if (body && !body.locked) body.cancel().catch(() => {});
}
