import { classify, type Outcome, type Policy, type Verdict } from '@breakwater/policies';
import { type AttemptClock, type AttemptCut, AttemptSignal } from './attempt-clock.ts';
import { discardBody, supersede } from './body-reads.ts';
import { BreakwaterTimeoutError } from './errors.ts';
import type { AttemptEvent } from './events.ts';
import { redactUrl } from './redact.ts';
import type { PreparedRequest } from './replay.ts';
import type { Reporter } from './reporter.ts';
import { attemptSubscribed } from './telemetry/diagnostics.ts';
import type { TelemetryHooks } from './telemetry/hooks.ts';
import type { GatePass, ThrottleGate } from './throttle-gate.ts';
import type { FetchLike } from './types.ts';

/** One attempt's result, as the retry loop and the breaker see it. */
export interface AttemptResult {
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
  /**
   * Epoch ms when the response arrived, which its `Retry-After` counts from (and its gate closure):
   * see `holdsAtGate` in pipeline.ts. Absent for an attempt that threw.
   */
  readonly answeredAt?: number;
}

/** What an attempt returns when the gate closed just before the send. */
const GATE_CLOSED: AttemptResult = {
  outcome: { kind: 'error', error: null },
  verdict: { action: 'return', breaker: 'ignore', reason: 'throttled' },
  gateClosed: true,
};

/** What every attempt of one endpoint key shares. */
export interface AttemptDeps {
  readonly policy: Policy;
  /** The user's fetch. Always called unbound (never as `deps.fetch(...)`): see `send`. */
  readonly fetch: FetchLike;
  readonly gate: ThrottleGate;
  readonly report: Reporter;
  /** Times the attempts out: one clock for every attempt of the wrapped fetch. */
  readonly clock: AttemptClock;
}

/**
 * What the caller makes of an attempt's result, in the turn it is known: the breaker's count
 * (circuit-breaker.ts), or the count and the retry loop's next step, which then costs no turn of its own.
 */
type Settle<T> = (result: AttemptResult) => T | Promise<T>;

/** One call on its way through the pipeline. */
export interface Call {
  readonly request: PreparedRequest;
  readonly callerSignal: AbortSignal | undefined;
  /** The caller's signal, or one that never aborts: for the waits. */
  readonly signal: AbortSignal;
  /** Epoch ms when the call's total deadline passes. */
  readonly deadlineAt: number;
  /** A resume's call (`resumeDownloads`): the body's resume count, told in its attempt events. */
  readonly resume?: number;
  /**
   * Told when each physical attempt starts and ends and when the call passes the gate (spans, the
   * duration histogram): the `telemetry` option's hooks, when they record anything at the call's start.
   */
  readonly telemetry: TelemetryHooks | undefined;
}

/**
 * Attempt number `attempt` of `call`, under the attempt timeout, classified and reported; `pass` is
 * what the call learnt at the throttle gate; `sentAt`: epoch ms now, when the caller read it in this
 * turn (default read here); `superseded`: the call's last Response, whose body is released once the
 * gate lets this attempt through (default none). Never rejects for a fetch failure.
 *
 * Sends with no await between the gate's last look and the send: another caller's response may have
 * closed the gate while this call made its way from the gate. A chain on fetch's promise rather than
 * async functions: on the healthy path, each async layer was a promise and microtask hops more.
 */
export function runAttempt<T = AttemptResult>(
  deps: AttemptDeps,
  call: Call,
  attempt: number,
  pass: GatePass,
  count: Settle<T>,
  sentAt?: number,
  superseded?: Response,
): Promise<T> {
  // Nothing was sent: nothing to count (the breaker ignores the verdict), but the caller's step runs.
  if (!pass.letsThrough()) return Promise.resolve(count(GATE_CLOSED));
  // A body left unread (longer than the read-ahead) must not hold a connection this attempt may
  // need; one in memory whole is kept, for the call ends on it should the deadline cut this attempt.
  if (superseded) supersede(superseded);
  const started = performance.now();
  const now = sentAt ?? Date.now();
  const { attemptMs } = deps.policy.timeout;
  // The attempt's timeout doubles as the call's deadline when less than an attempt's time is left.
  const left = call.deadlineAt - now;
  const cut = left <= attemptMs;
  // Until the headers arrive: the body of the Response handed back must stay readable.
  const signal = new AttemptSignal(call.callerSignal, deps.clock);
  const run = new AttemptRun(deps, call, attempt, pass, count, signal, started, now, cut ? left : undefined);
  deps.clock.start(signal, cut ? left : attemptMs, started);
  // Called unbound: a browser's fetch throws `Illegal invocation` when called as a method of any
  // object but the global one, and `deps.fetch(...)` would pass `deps` as `this`.
  const { fetch } = deps;
  let response: Promise<Response>;
  deps.gate.sent(now);
  try {
    response = Promise.resolve(fetch(...call.request.attempt(signal)));
  } catch (thrown) {
    return Promise.resolve(run.failed(thrown));
  }
  return run.until(response);
}

/**
 * One attempt in flight: what its ends need, in one object whose methods are its steps (a closure per
 * step cost every call a closure and a context more).
 *
 * {@link until} hands its Response to {@link settled} or its error to {@link failed}, unless the
 * signal is cut first (its timeout, its caller's abort): the attempt then fails with the cut's reason,
 * and a Response that comes later is discarded (it must not hold a connection). A fetch that ignores
 * its signal would otherwise hold the call for ever. The cut waits a microtask: a fetch that rejects as
 * its signal aborts (undici, the test doubles) has its rejection handled first, so its own error stays
 * the attempt's, as before; and the attempt does not end inside the clock's tick or the caller's abort
 * dispatch.
 */
class AttemptRun<T> implements AttemptCut {
  private readonly deps: AttemptDeps;
  private readonly call: Call;
  private readonly attempt: number;
  private readonly pass: GatePass;
  private readonly count: Settle<T>;
  private readonly signal: AttemptSignal;
  private readonly started: number;
  /** Epoch ms when it was sent. */
  private readonly now: number;
  /** The time the attempt was given when its timeout is the call's deadline; else undefined. */
  private readonly cutToMs: number | undefined;
  private readonly readBy: number;
  private readonly ended: ((result: AttemptResult) => void) | undefined;
  /** The gate heard the response (a throw after that is no lost request). */
  private heard = false;
  private done = false;
  private resolve: ((value: T | Promise<T>) => void) | undefined;
  private reject: ((reason: unknown) => void) | undefined;

  constructor(
    deps: AttemptDeps,
    call: Call,
    attempt: number,
    pass: GatePass,
    count: Settle<T>,
    signal: AttemptSignal,
    started: number,
    now: number,
    cutToMs: number | undefined,
  ) {
    this.deps = deps;
    this.call = call;
    this.attempt = attempt;
    this.pass = pass;
    this.count = count;
    this.signal = signal;
    this.started = started;
    this.now = now;
    this.cutToMs = cutToMs;
    this.readBy = Math.min(now + deps.policy.timeout.attemptMs, call.deadlineAt);
    this.ended = call.telemetry && attemptHook(call.telemetry, deps.report.key, call, attempt, started);
  }

  /** The attempt's end, once `response` settles or the signal is cut. */
  until(response: Promise<Response>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
      this.signal.run = this;
      response.then(
        (r) => (this.done ? discardBody(r) : this.end(true, r)),
        (error: unknown) => this.end(false, error),
      );
    });
  }

  cut(reason: unknown): void {
    queueMicrotask(() => this.end(false, reason));
  }

  /** The first end wins: `answer` a Response handed to {@link settled}, else an error to {@link failed}. */
  private end(isResponse: boolean, answer: unknown): void {
    if (this.done) return;
    this.done = true;
    try {
      (this.resolve as (value: T | Promise<T>) => void)(
        isResponse ? this.settled(answer as Response) : this.failed(answer),
      );
    } catch (thrown) {
      (this.reject as (reason: unknown) => void)(thrown);
    }
  }

  private settled(r: Response): T | Promise<T> {
    const at = Date.now();
    let result: AttemptResult;
    try {
      result = answered(this.deps, this.call, this.attempt, r, this.readBy, at, this.now);
      this.heard = true;
      this.signal.answered(r);
    } catch (thrown) {
      return this.failed(thrown);
    }
    return this.finish(result, at);
  }

  failed(error: unknown): T | Promise<T> {
    const at = Date.now();
    const { deps, call, attempt, signal } = this;
    const result = failure(deps, call, attempt, signal, this.cutToMs, this.readBy, error, at);
    // A probe stopped by its caller or the deadline gets no answer: the next call goes as the probe
    // now, rather than every caller waiting out the probe's bound.
    if (result.verdict.reason === 'aborted' || result.deadlineExceeded) this.pass.unused?.();
    // No answer to count it by: the gate stops waiting for one (unless `answered` counted it already).
    if (!this.heard) deps.gate.lost(this.now, at);
    return this.finish(result, at);
  }

  /** `at`: epoch ms when the attempt ended, read once for its verdict and its event. */
  private finish(result: AttemptResult, at: number): T | Promise<T> {
    this.deps.clock.stop(this.signal);
    this.signal.run = undefined;
    if (this.ended) attemptEnded(this.ended, result);
    reportAttempt(this.deps.report, this.call, this.attempt, result, this.started, at);
    return this.count(result);
  }
}

function answered(
  deps: AttemptDeps,
  call: Call,
  attempt: number,
  response: Response,
  readBy: number,
  now: number,
  sentAt: number,
): AttemptResult {
  const outcome: Outcome = { kind: 'response', status: response.status, headers: response.headers };
  const verdict = classify(outcome, call.request, deps.policy, { now });
  // The gate learns on the first turn after the response, so that no other caller of the key slips
  // a request in while this outcome travels back through the pipeline.
  deps.gate.observe(response, verdict, attempt, now, sentAt);
  return { outcome, response, verdict, readBy, answeredAt: now };
}

/**
 * What an attempt that threw (or whose response could not be judged) gives. Stopped by its caller, an
 * attempt says nothing about the upstream: never retried, ignored by the breaker. `cutToMs`: the time
 * the attempt was given when the call's deadline cut its timeout (default: not cut).
 */
function failure(
  deps: AttemptDeps,
  call: Call,
  attempt: number,
  signal: AttemptSignal,
  cutToMs: number | undefined,
  readBy: number,
  thrown: unknown,
  now: number,
): AttemptResult {
  const { callerSignal } = call;
  let error = thrown;
  const expired = signal.expired && !callerSignal?.aborted;
  const deadlineExceeded = expired && cutToMs !== undefined;
  if (expired && cutToMs === undefined) error = timedOut(deps, call, attempt, error);
  const outcome: Outcome = { kind: 'error', error };
  // The call ends on its deadline either way; the breaker counts the attempt as timed out only when
  // the deadline left it at least half its timeout: the upstream then stayed silent for most of what
  // an attempt is allowed (`totalMs` written alone makes every first attempt's timeout the deadline,
  // and a hung upstream never opened the breaker), while a sliver left to a last retry says nothing.
  const counted = deadlineExceeded && cutToMs * 2 >= deps.policy.timeout.attemptMs;
  const judged: Outcome = counted
    ? { kind: 'error', error: attemptTimeout(deps, attempt, cutToMs, error) }
    : outcome;
  const callerAborted = callerSignal?.aborted === true || (deadlineExceeded && !counted);
  const verdict = classify(judged, call.request, deps.policy, { now, callerAborted });
  return { outcome, error, verdict, readBy, ...(deadlineExceeded ? { deadlineExceeded } : {}) };
}

/** The error a timed-out attempt gives, told by no event: the call's own timeout is (`scope: 'total'`). */
function attemptTimeout(
  deps: AttemptDeps,
  attempt: number,
  timeoutMs: number,
  cause: unknown,
): BreakwaterTimeoutError {
  return new BreakwaterTimeoutError({
    scope: 'attempt',
    timeoutMs,
    endpoint: deps.report.key,
    attempts: attempt,
    cause,
  });
}

function timedOut(deps: AttemptDeps, call: Call, attempt: number, cause: unknown): BreakwaterTimeoutError {
  const timeoutMs = deps.policy.timeout.attemptMs;
  deps.report.timeout('attempt', timeoutMs, attempt, call);
  return attemptTimeout(deps, attempt, timeoutMs, cause);
}

function reportAttempt(
  report: Reporter,
  call: Call,
  attempt: number,
  result: AttemptResult,
  started: number,
  at: number,
): void {
  // A `breakwater:attempt` subscriber may come at any time, so it is asked at each attempt.
  if (!report.listening && !attemptSubscribed()) return;
  const durationMs = performance.now() - started;
  const { reason, errorKind, errorCode } = result.verdict;
  // Built as one object, the optional fields set on it: spreads cost an object each, on every call.
  const event: Mutable<AttemptEvent> = {
    type: 'attempt',
    key: report.key,
    at,
    attempt,
    method: call.request.method,
    url: redactUrl(call.request.target ?? call.request.url),
    durationMs,
    reason,
  };
  if (result.response) event.status = result.response.status;
  if (errorKind) event.errorKind = errorKind;
  if (errorCode) event.errorCode = errorCode;
  if (call.resume !== undefined) event.resume = call.resume;
  report.emit(event);
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The `attempt` hook (see `TelemetryHooks.attempt`): a user's hook that throws changes nothing of the
 * attempt, as a throwing `callEnded` changes nothing of the call. Module functions, so that no closure
 * is made per attempt, and none of this runs without telemetry.
 */
function attemptHook(
  hooks: TelemetryHooks,
  key: string,
  call: Call,
  attempt: number,
  started: number,
): ((result: AttemptResult) => void) | undefined {
  try {
    return hooks.attempt(key, call.request, attempt, started);
  } catch {
    // Not observed, rather than failed: the attempt goes as it would without telemetry.
    return undefined;
  }
}

/** Tells the `attempt` hook's end; its throw would have rejected the attempt with telemetry's error. */
function attemptEnded(ended: (result: AttemptResult) => void, result: AttemptResult): void {
  try {
    ended(result);
  } catch {
    // Telemetry never changes an attempt.
  }
}
