import { classify, type Outcome, type Policy, type Verdict } from '@breakwater/policies';
import { type AttemptClock, AttemptSignal } from './attempt-clock.ts';
import { discardBody } from './body-reads.ts';
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
 * turn (default read here); `superseded`: the call's last Response, whose body is cancelled once the
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
  // The call can no longer end on its last Response: a body left unread (longer than the read-ahead)
  // must not hold a connection this attempt may need.
  if (superseded) discardBody(superseded);
  const started = performance.now();
  const now = sentAt ?? Date.now();
  const { attemptMs } = deps.policy.timeout;
  // The attempt's timeout doubles as the call's deadline when less than an attempt's time is left.
  const left = call.deadlineAt - now;
  const readBy = Math.min(now + attemptMs, call.deadlineAt);
  const cut = left <= attemptMs;
  const ended = call.telemetry?.attempt(deps.report.key, call.request, attempt, started);
  // Until the headers arrive: the body of the Response handed back must stay readable.
  const signal = new AttemptSignal(call.callerSignal, deps.clock);
  deps.clock.start(signal, cut ? left : attemptMs, started);
  // `at`: epoch ms when the attempt ended, read once for its verdict and its event.
  const finish = (result: AttemptResult, at: number): T | Promise<T> => {
    deps.clock.stop(signal);
    signal.cut = undefined;
    ended?.(result);
    reportAttempt(deps.report, call, attempt, result, started, at);
    return count(result);
  };
  // The gate heard the response (a throw after that is no lost request).
  let heard = false;
  const failed = (error: unknown): T | Promise<T> => {
    const at = Date.now();
    const result = failure(deps, call, attempt, signal, cut ? left : undefined, readBy, error, at);
    // A probe stopped by its caller or the deadline gets no answer: the next call goes as the probe
    // now, rather than every caller waiting out the probe's bound.
    if (result.verdict.reason === 'aborted' || result.deadlineExceeded) pass.unused?.();
    // No answer to count it by: the gate stops waiting for one (unless `answered` counted it already).
    if (!heard) deps.gate.lost(now, at);
    return finish(result, at);
  };
  // Called unbound: a browser's fetch throws `Illegal invocation` when called as a method of any
  // object but the global one, and `deps.fetch(...)` would pass `deps` as `this`.
  const { fetch } = deps;
  let response: Promise<Response>;
  deps.gate.sent(now);
  try {
    response = Promise.resolve(fetch(...call.request.attempt(signal)));
  } catch (thrown) {
    return Promise.resolve(failed(thrown));
  }
  const settled = (r: Response): T | Promise<T> => {
    const at = Date.now();
    let result: AttemptResult;
    try {
      result = answered(deps, call, attempt, r, readBy, at, now);
      heard = true;
      signal.answered(r);
    } catch (thrown) {
      return failed(thrown);
    }
    return finish(result, at);
  };
  return untilCut(response, signal, settled, failed);
}

/**
 * `response` handled by `settled` or `failed`, unless `signal` is cut first (its timeout, its caller's
 * abort): the attempt then fails with the cut's reason, and a Response that comes later is discarded
 * (it must not hold a connection). A fetch that ignores its signal would otherwise hold the call for
 * ever. The cut waits a microtask: a fetch that rejects as its signal aborts (undici, the test doubles)
 * has its rejection handled first, so its own error stays the attempt's, as before; and the attempt does
 * not end inside the clock's tick or the caller's abort dispatch.
 */
function untilCut<T>(
  response: Promise<Response>,
  signal: AttemptSignal,
  settled: (response: Response) => T | Promise<T>,
  failed: (error: unknown) => T | Promise<T>,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const end = <A>(handle: (arg: A) => T | Promise<T>, arg: A): void => {
      if (done) return;
      done = true;
      try {
        resolve(handle(arg));
      } catch (thrown) {
        reject(thrown);
      }
    };
    signal.cut = (reason) => queueMicrotask(() => end(failed, reason));
    response.then(
      (r) => (done ? discardBody(r) : end(settled, r)),
      (error: unknown) => end(failed, error),
    );
  });
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
  return { outcome, response, verdict, readBy };
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
  const verdict = counted
    ? classify(
        { kind: 'error', error: attemptTimeout(deps, attempt, cutToMs, error) },
        call.request,
        deps.policy,
        {
          now,
        },
      )
    : classify(outcome, call.request, deps.policy, {
        now,
        callerAborted: callerSignal?.aborted === true || deadlineExceeded,
      });
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
