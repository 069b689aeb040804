/**
 * `@breakwater/core/cockatiel`: mix breakwater and cockatiel both ways.
 *
 * - {@link breakwaterPolicy}: an endpoint's breakwater rules (outcome table, idempotency, backoff and
 *   server delays, per-endpoint breaker) as a cockatiel `IPolicy`, to use with `wrap(...)` next to
 *   cockatiel's own policies.
 * - {@link fetchWithPolicy} and {@link wrapFetchWithPolicies}: cockatiel policies (a bulkhead, a
 *   fallback, the breaker you already had) around each call or each attempt of a breakwater fetch.
 *
 * @module
 */
import {
  type Check,
  checkedElsewhere,
  describeValue,
  type EndpointRule,
  func,
  nextStep,
  type PolicyInput,
  recognizeError,
  refuse,
  type Shape,
} from '@breakwater/policies';
import {
  EventEmitter,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
  isTaskCancelledError,
  RetryPolicy,
  TaskCancelledError,
} from 'cockatiel';
import { discardBody, readAhead, stopReadAhead } from './body-reads.ts';
import {
  type CallTarget,
  createEndpointBreakers,
  type EndpointBreakers,
  type SettledCall,
} from './call-breakers.ts';
import { isResponse, outcomeOfError, outcomeOfResult } from './call-outcome.ts';
import { callReporter, refusedUntil, retryBudgetOf, told } from './call-side.ts';
import type { BreakwaterEvent } from './events.ts';
import { checkOptions } from './options.ts';
import type { Told } from './reporter.ts';
import { sleep } from './sleep.ts';
import type { AnyFetch, FetchLike } from './types.ts';
import {
  preconnectOf,
  type WrapFetchOptions,
  type WrappedCalls,
  type WrappedFetch,
  wrapFetch,
} from './wrap-fetch.ts';

export * from './call-breakers.ts';

/** What a function run by {@link BreakwaterPolicy} receives. */
export interface BreakwaterPolicyContext extends IDefaultPolicyContext {
  /** The attempt being made, 1 for the first. */
  readonly attempt: number;
}

/** Options of {@link breakwaterPolicy}. */
export interface BreakwaterPolicyOptions {
  /** The endpoint the calls go to, as an HTTP request: its rule, policy and breaker apply. Required. */
  readonly target: CallTarget;
  /**
   * Breakers to share with other calls (p-retry calls, other policies) of the same endpoints.
   * Default: breakers of this policy alone, built from `policy`, `endpoints` and `onEvent`.
   */
  readonly breakers?: EndpointBreakers | undefined;
  /** The policy of every endpoint, when `breakers` is not given. Default: the built-in defaults. */
  readonly policy?: PolicyInput | undefined;
  /** Per-endpoint rules, when `breakers` is not given. Default: none. */
  readonly endpoints?: readonly EndpointRule[] | undefined;
  /** Breaker events and the calls' retry and give-up events, when `breakers` is not given. Default: none. */
  readonly onEvent?: ((event: BreakwaterEvent) => void) | undefined;
  /** Random source in [0, 1) for backoff jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
}

const NEVER = new AbortController().signal;

/**
 * The options of {@link BreakwaterPolicy}. `target` is checked when it is resolved, `breakers` when
 * used, `policy` and `endpoints` by `createEndpointBreakers`.
 */
const POLICY_OPTIONS: Shape = {
  target: checkedElsewhere,
  breakers: checkedElsewhere,
  policy: checkedElsewhere,
  endpoints: checkedElsewhere,
  onEvent: func,
  random: func,
};

/**
 * An endpoint's breakwater rules as a cockatiel policy. `execute(fn, signal)` calls `fn` up to
 * `retry.maxAttempts` times, each attempt through the endpoint's breaker; what `fn` produced decides,
 * by the outcome table: a resolved `Response` by its status (503 retried, 404 handed back), a thrown
 * error carrying a status by that status, network errors and timeouts retried for idempotent targets,
 * other errors rethrown at once. Waits follow the server's delay or the policy's backoff and end at
 * once when `signal` aborts. Like `wrapFetch` (policies' `nextStep` decides for both), no wait is started
 * that would pass `timeout.totalMs` from the call's start (each attempt is `fn`'s to bound, with a
 * cockatiel `timeout` say), and retries come out of the endpoint's retry budget, shared by every call
 * through the same `breakers`. The last outcome is handed back when retries run out, the deadline or
 * the budget stops them or the breaker opens mid-call (no wait is started that would end while it
 * still refuses calls); a call refused before its first attempt throws `BrokenCircuitError`.
 *
 * An attempt a cockatiel `timeout` inside this policy cut short (its `TaskCancelledError`, or an
 * `AbortError` while `signal` has not aborted) is an attempt timeout: retried and counted by the
 * breaker, and thrown at the end as an error named `TimeoutError` whose `cause` is the original. So
 * pass your own abort signal to `execute`, where this policy sees it, not into `fn` by another way.
 */
export class BreakwaterPolicy implements IPolicy<BreakwaterPolicyContext> {
  declare readonly _altReturn: never;
  /** The endpoint's breakers (shared when given in the options). */
  readonly breakers: EndpointBreakers;
  readonly target: CallTarget;
  private readonly random: () => number;
  private readonly successEmitter = new EventEmitter<ISuccessEvent>();
  private readonly failureEmitter = new EventEmitter<IFailureEvent>();
  /**
   * Fires after a call that ended with a value breakwater would not retry (a 200, a 404), as
   * cockatiel's policies do. Once per call, with the call's duration (cockatiel's retry fires per attempt).
   */
  readonly onSuccess = this.successEmitter.addListener;
  /**
   * Fires after a call that ended with an error (`reason.error`), or with a value breakwater would have
   * retried, handed back as its retries ran out or the budget, deadline or breaker stopped them (a 503:
   * `reason.value`), as cockatiel's retry fires for its last attempt of a result it handles. `handled`
   * is true when breakwater would retry the outcome. Once per call, with the call's duration.
   */
  readonly onFailure = this.failureEmitter.addListener;

  constructor(options: BreakwaterPolicyOptions) {
    checkOptions(options, POLICY_OPTIONS);
    const { target, breakers, random = Math.random } = options;
    this.breakers =
      breakers ??
      createEndpointBreakers({
        ...(options.policy !== undefined ? { policy: options.policy } : {}),
        ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
        ...(options.onEvent !== undefined ? { onEvent: options.onEvent } : {}),
      });
    // Resolving now reports a bad target when the policy is built, not at the first call.
    this.breakers.resolve(target);
    this.target = target;
    this.random = random;
  }

  async execute<T>(
    fn: (context: BreakwaterPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal = NEVER,
  ): Promise<T> {
    const { key, policy } = this.breakers.resolve(this.target);
    const budget = retryBudgetOf(this.breakers, key, policy);
    const report = callReporter(this.breakers, key);
    const started = performance.now();
    const deadlineAt = Date.now() + policy.timeout.totalMs;
    budget.recordCall();
    let previousDelayMs: number | undefined;
    let last: SettledCall<T> | undefined;
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted();
      const previous = last;
      try {
        last = await this.breakers.attempt(this.target, () => {
          // Let through: the call can no longer end on the last outcome, whose unread body must not
          // hold a connection this attempt may need.
          discardSettled(previous);
          return cutShortAsTimeout(fn, { signal, attempt });
        });
      } catch (error) {
        // An open breaker ends the loop; a call that already has an outcome keeps it.
        if (!last) throw error;
        report?.giveUp(toldOf(last), attempt - 1, 'circuit-open');
        // Read ahead for the retry the breaker refused: the caller reads it now.
        if (last.ok && isResponse(last.value)) stopReadAhead(last.value);
        return this.finish(last, started);
      }
      signal.throwIfAborted();
      const step = nextStep(last.verdict, attempt, policy.retry, {
        now: Date.now(),
        deadlineAt,
        replayable: true,
        payloadVetoes: !last.ok && (last.error as { isRetryable?: unknown })?.isRetryable === false,
        budgetAllows: budget.left() >= 1,
        previousDelayMs,
        random: this.random,
        refusedUntil: last.verdict.action === 'retry' ? refusedUntil(this.breakers, key) : undefined,
      });
      if (step.action === 'stop') {
        if (step.giveUp) report?.giveUp(toldOf(last), attempt, step.giveUp);
        return this.finish(last, started);
      }
      report?.retry(toldOf(last), attempt + 1, step.delayMs, step.delaySource);
      budget.tryRetry();
      previousDelayMs = step.delayMs;
      // The call may still end on it (the breaker opens during the wait): read ahead, not cancelled.
      if (last.ok && isResponse(last.value)) readAhead(last.value);
      await sleep(step.delayMs, signal).catch((error: unknown) => {
        // Aborted: nothing will read it.
        discardSettled(last);
        throw error;
      });
    }
  }

  private finish<T>(settled: SettledCall<T>, started: number): T {
    const duration = performance.now() - started;
    const handled = settled.verdict.action === 'retry';
    if (settled.ok) {
      // A value it would retry is a failure handed back, as cockatiel's retry hands back a result it
      // handles when attempts run out: onFailure, not onSuccess (session 25).
      if (handled) this.failureEmitter.emit({ duration, handled, reason: { value: settled.value } });
      else this.successEmitter.emit({ duration });
      return settled.value;
    }
    this.failureEmitter.emit({ duration, handled, reason: { error: settled.error } });
    throw settled.error;
  }
}

/**
 * Builds a {@link BreakwaterPolicy}: an endpoint's breakwater rules usable wherever cockatiel takes a
 * policy, e.g. `wrap(bulkhead(10), breakwaterPolicy({ target }))`.
 *
 * @throws ConfigError for invalid policy or endpoints; TypeError for a target without method or URL.
 */
export function breakwaterPolicy(options: BreakwaterPolicyOptions): BreakwaterPolicy {
  return new BreakwaterPolicy(options);
}

/**
 * Runs every call of `fetch` through a cockatiel policy. The policy's signal (a cockatiel timeout's,
 * say) and the caller's both reach `fetch`. A cockatiel `timeout` must be built with
 * `abortOnReturn: false`, or it aborts the response body as soon as the headers arrive. When the
 * policy cuts a call short (its `TaskCancelledError`, or its signal aborted while the caller's did
 * not), the call rejects with an error named `TimeoutError` whose `cause` is the original: inside
 * `wrapFetch`, an attempt timeout, retried and counted by the breaker. It is still cockatiel's
 * `TaskCancelledError` (`isTaskCancelledError` holds), and not breakwater's `BreakwaterTimeoutError`.
 *
 * Place it outside `wrapFetch` to guard whole calls (a bulkhead shared with other code, a fallback),
 * or inside to guard each attempt: `wrapFetch(fetchWithPolicy(policy, globalThis.fetch), options)`.
 * Bun's `fetch.preconnect` (no request, so no policy) stays, as on `wrapFetch`'s result. A fetch typed
 * with its own classes (npm undici's) keeps its types, as with `wrapFetch`.
 */
export function fetchWithPolicy<F extends AnyFetch = FetchLike>(
  policy: IPolicy<IDefaultPolicyContext, Response>,
  // `| FetchLike`: a function written inline has its parameters typed as the standard fetch's.
  given: F | FetchLike,
): GuardedFetch<F> {
  const fetch = given as unknown as FetchLike;
  if (typeof policy?.execute !== 'function') {
    throw new TypeError(
      'breakwater: fetchWithPolicy: the first argument must be a cockatiel policy (with execute)',
    );
  }
  if (typeof fetch !== 'function') {
    throw new TypeError('breakwater: fetchWithPolicy: the second argument must be a fetch function');
  }
  const guarded: FetchLike = (input, init) => {
    // Read from any Request, undici's too (not an instance of the global class); only a real signal,
    // as fetch reads one (a missing input must reject as fetch's call does, not throw here).
    const fromInput =
      typeof input === 'object' && input !== null ? (input as { signal?: unknown }).signal : undefined;
    const callerSignal = init?.signal ?? (fromInput instanceof AbortSignal ? fromInput : undefined);
    return policy
      .execute(({ signal }) => {
        const combined = callerSignal ? AbortSignal.any([callerSignal, signal]) : signal;
        return fetch(input, { ...init, signal: combined }).catch((error: unknown) => {
          throw timedOut(error, callerSignal, signal.aborted);
        });
      }, callerSignal)
      .catch((error: unknown) => {
        throw timedOut(error, callerSignal, false);
      });
  };
  return Object.assign(guarded, preconnectOf(fetch)) as unknown as GuardedFetch<F>;
}

/**
 * What {@link fetchWithPolicy} returns: the given fetch's call signature (its init, Bun's or Deno's
 * members included, undici's input and Response: see `WrappedCalls`), and its `preconnect` when it
 * has one.
 */
export type GuardedFetch<F extends AnyFetch> = WrappedCalls<F> & Pick<F, 'preconnect' & keyof F>;

/** A cockatiel policy, as `fetchWithPolicy` takes it: anything with an `execute` function. */
const cockatielPolicy: Check = (value, path) => {
  if (typeof (value as { execute?: unknown } | null)?.execute !== 'function') {
    refuse(path, `must be a cockatiel policy (with execute), got ${describeValue(value)}`);
  }
  if (retries(value)) {
    refuse(
      path,
      "holds a cockatiel retry, which would multiply breakwater's attempts (one network error sent 16 requests, and a POST without an idempotency key was repeated); set retries with policy.retry",
    );
  }
};

/**
 * A cockatiel `retry(...)`, alone or inside `wrap(...)` (whose `wrapped` lists its policies); one of
 * another copy of cockatiel (the caller's own version) by its class's name and its events together: a
 * test's deep mock has the events alone (review s24 Y).
 */
function retries(value: unknown): boolean {
  if (value instanceof RetryPolicy) return true;
  const candidate = value as {
    wrapped?: unknown;
    onRetry?: unknown;
    onGiveUp?: unknown;
    constructor?: unknown;
  };
  const named = typeof candidate.constructor === 'function' && candidate.constructor.name === 'RetryPolicy';
  if (named && typeof candidate.onRetry === 'function' && typeof candidate.onGiveUp === 'function')
    return true;
  return Array.isArray(candidate.wrapped) && candidate.wrapped.some(retries);
}

const COCKATIEL_OPTIONS: Shape = { callPolicy: cockatielPolicy, attemptPolicy: cockatielPolicy };

/** Options of {@link wrapFetchWithPolicies}: those of `wrapFetch`, plus cockatiel policies. */
export interface WrapFetchWithPoliciesOptions extends WrapFetchOptions {
  /** Runs around each whole call (every attempt and wait), outside breakwater. Default: none. */
  readonly callPolicy?: IPolicy<IDefaultPolicyContext, Response>;
  /** Runs around each attempt, inside breakwater's retry, breaker and attempt timeout. Default: none. */
  readonly attemptPolicy?: IPolicy<IDefaultPolicyContext, Response>;
}

/**
 * `wrapFetch` that also accepts cockatiel policies: `callPolicy` around each call, `attemptPolicy`
 * around each attempt. The result keeps `breakers()`, `isolate()` and `reset()`, and, as `wrapFetch`'s
 * does, the given fetch's `preconnect` (Bun's).
 *
 * ```ts
 * const fetch = wrapFetchWithPolicies(globalThis.fetch, { policy: partnerCenter(), callPolicy: bulkhead(8) });
 * ```
 *
 * @throws ConfigError when the breakwater options are invalid, or `callPolicy` / `attemptPolicy` is not
 *   a cockatiel policy (an object with `execute`).
 */
export function wrapFetchWithPolicies<F extends AnyFetch = FetchLike>(
  // `| FetchLike`: a function written inline has its parameters typed as the standard fetch's.
  fetch: F | FetchLike,
  options: WrapFetchWithPoliciesOptions,
): WrappedFetch<F> & Pick<F, 'preconnect' & keyof F> {
  const { callPolicy, attemptPolicy, ...rest } = options;
  // Checked here, so that the message names the option rather than fetchWithPolicy's first argument.
  checkOptions({ callPolicy, attemptPolicy }, COCKATIEL_OPTIONS);
  // Each layer keeps the preconnect of the fetch it guards, so the result has the given fetch's.
  // Typed as any fetch here: the result is cast to F's signature, which every layer passes on as given.
  const inner = fetch as unknown as FetchLike;
  const wrapped = wrapFetch(attemptPolicy ? fetchWithPolicy(attemptPolicy, inner) : inner, rest);
  if (!callPolicy) return wrapped as unknown as WrappedFetch<F> & Pick<F, 'preconnect' & keyof F>;
  const { breakers, isolate, reset } = wrapped;
  const guarded = Object.assign(fetchWithPolicy(callPolicy, wrapped), { breakers, isolate, reset });
  return guarded as unknown as WrappedFetch<F> & Pick<F, 'preconnect' & keyof F>;
}

/**
 * An attempt (or a call) a cockatiel policy cut short, its `timeout` say: named `TimeoutError` as
 * `AbortSignal.timeout()`'s error is, so that inside `wrapFetch` it is retried and counted by the
 * breaker as a timeout; still cockatiel's `TaskCancelledError` (`isTaskCancelledError` holds), so that
 * code around a whole-call policy that checks for cockatiel's error keeps working. What the policy or
 * fetch threw is its `cause`.
 */
class PolicyTimeoutError extends TaskCancelledError {
  override readonly name = 'TimeoutError';

  constructor(cause: unknown) {
    super('breakwater: a cockatiel policy (its timeout) cut the request short');
    this.cause = cause;
  }
}

/**
 * `error` as a timeout when a policy cut the attempt short: an Aggressive cockatiel timeout throws a
 * `TaskCancelledError` (an unknown error to the outcome table, never retried); a Cooperative one
 * aborts the attempt's signal, and fetch throws an `AbortError` (a caller's abort to the outcome
 * table, never retried or counted). The caller's own abort stays what it is.
 */
function timedOut(error: unknown, callerSignal: AbortSignal | undefined, attemptAborted: boolean): unknown {
  if (error instanceof PolicyTimeoutError || callerSignal?.aborted) return error;
  if (!(attemptAborted || isTaskCancelledError(error))) return error;
  return new PolicyTimeoutError(error);
}

/**
 * Runs one attempt of a {@link BreakwaterPolicy}. The signal of a cockatiel policy inside it is out of
 * sight, so an `AbortError` while the caller's signal has not aborted stands for that policy's abort:
 * something that bounds the attempt stopped it, not the caller.
 */
async function cutShortAsTimeout<T>(
  fn: (context: BreakwaterPolicyContext) => PromiseLike<T> | T,
  context: BreakwaterPolicyContext,
): Promise<T> {
  try {
    return await fn(context);
  } catch (error) {
    throw timedOut(error, context.signal, recognizeError(error).kind === 'abort');
  }
}

/** Frees the connection of a settled Response that will not be handed back. */
function discardSettled<T>(settled: SettledCall<T> | undefined): void {
  if (settled?.ok && isResponse(settled.value)) discardBody(settled.value);
}

/** What the events tell of a settled call: its verdict, and the status its value or error carried. */
function toldOf<T>(settled: SettledCall<T>): Told {
  return told(settled.verdict, settled.ok ? outcomeOfResult(settled.value) : outcomeOfError(settled.error));
}
