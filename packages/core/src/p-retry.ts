/**
 * `@breakwater/core/p-retry`: breakwater's outcome table, idempotency rule and backoff as p-retry
 * options, for calls that are not fetch calls (SDK functions), and a way to run them through an
 * endpoint's circuit breaker.
 *
 * ```ts
 * import pRetry from 'p-retry';
 * import { pRetryOptions } from '@breakwater/core/p-retry';
 *
 * const customer = await pRetry(() => sdk.getCustomer(id), pRetryOptions({ method: 'GET' }));
 * ```
 *
 * @module
 */
import {
  callMethodProblem,
  checkedElsewhere,
  classify,
  definePolicy,
  func,
  nextStep,
  type Policy,
  type PolicyInput,
  refuse,
  type Shape,
} from '@breakwater/policies';
import pRetry, { type Options, type RetryContext } from 'p-retry';
import type { CallTarget, EndpointBreakers } from './call-breakers.ts';
import { outcomeOfError } from './call-outcome.ts';
import { callReporter, refusedUntil, retryBudgetOf, told } from './call-side.ts';
import { BrokenCircuitError, BulkheadRejectedError, ThrottledError } from './errors.ts';
import { checkOptions } from './options.ts';
import type { Reporter } from './reporter.ts';
import type { RetryBudget } from './retry-budget.ts';
import { sleep } from './sleep.ts';

export * from './call-breakers.ts';

/** Options of {@link pRetryOptions}. */
export interface PRetryPolicyOptions {
  /**
   * The HTTP method the call amounts to: `GET` for a read, `POST` for a create. Required, because it
   * decides the idempotency rule: a call that is not idempotent (a `POST` without an idempotency key
   * header) is made once, whatever the failure, unless the policy opts in (`retry.idempotent: true`).
   */
  readonly method: string;
  /** Headers the call sends; an idempotency key (`Idempotency-Key`, `MS-RequestId`) makes it retryable. Default none. */
  readonly headers?: NonNullable<RequestInit['headers']> | undefined;
  /** The policy, merged over the built-in defaults. Default: the defaults (4 attempts, 200 ms decorrelated jitter). */
  readonly policy?: PolicyInput | undefined;
  /** Ends the retries and any wait at once; p-retry rejects with its reason. Default: none. */
  readonly signal?: AbortSignal | undefined;
  /** Random source in [0, 1) for backoff jitter. Default `Math.random`. */
  readonly random?: (() => number) | undefined;
  /**
   * Your own veto, asked after breakwater's rules said "retry"; return false to stop. Default: none.
   * (Do not override the returned `shouldRetry`: it is where breakwater's rules and waits live.)
   */
  readonly shouldRetry?: ((context: RetryContext) => boolean | Promise<boolean>) | undefined;
}

/**
 * p-retry options that apply a breakwater policy:
 *
 * - `retries`: `retry.maxAttempts - 1` (default 3, so 4 attempts in all);
 * - `shouldRetry`: the outcome table. A thrown error carrying a status (`HttpError`, ky's `HTTPError`,
 *   an SDK error with `status`/`statusCode` and headers) is judged by that status, so 404 and 500 are
 *   not retried and 503 is; network errors and timeouts are retried for idempotent calls; other errors
 *   are not. A payload's `isRetryable: false` vetoes. An open breaker (`BrokenCircuitError`) stops.
 * - waits: the server's delay (`Retry-After` and friends, up to `retry.maxRetryAfterMs`) or the
 *   policy's backoff, ended at once by `signal`. p-retry's own delay is 0 (`minTimeout: 0`), since
 *   the wait happens inside `shouldRetry`; policies' `nextStep` decides, as for `wrapFetch`;
 * - `maxRetryTime`: `timeout.totalMs` (default 30 s), checked by p-retry after each failed attempt;
 *   and no wait is started that would pass `timeout.totalMs`, counted from the first failure (p-retry
 *   does not say when the first attempt started; {@link retryThroughBreaker} knows, and counts from it).
 * - No retry budget: the budget is the endpoint's, shared by its calls, and only
 *   {@link retryThroughBreaker} has the endpoint (its breakers carry the budgets).
 *
 * Pass a fresh object to each `pRetry` call: it remembers the previous wait for the jitter.
 *
 * @throws ConfigError when an option is unknown or of the wrong type, `method` is missing or the
 *   policy is invalid.
 */
export function pRetryOptions(options: PRetryPolicyOptions): Options {
  return retryOptions(options, {});
}

/** What {@link retryThroughBreaker} knows of a call that p-retry does not tell `shouldRetry`. */
interface CallState {
  /** Epoch ms when the call's first attempt started. */
  startedAt?: number;
  /** The endpoint's retry budget. */
  readonly budget?: RetryBudget;
  /** Epoch ms until which the endpoint's breaker refuses calls (see `refusedUntil`). */
  readonly refusedUntil?: () => number | undefined;
  /** Set when the breaker refused a retry: the call ends on the previous attempt's error. */
  refused?: boolean;
  /** Tells the call's retries and give-ups on the breakers' events. */
  readonly report?: Reporter | undefined;
  /** Epoch ms just before p-retry was called: p-retry's `maxRetryTime` counts from a moment after it. */
  readonly calledAt?: number;
  /** Set when the call's end was told from `onFailedAttempt`: no retry follows, whatever p-retry asks. */
  ended?: boolean;
}

function retryOptions(options: PRetryPolicyOptions, call: CallState): Options {
  checkPRetryOptions(options);
  const policy: Policy = definePolicy(options.policy);
  const facts = { method: options.method.toUpperCase(), headers: new Headers(options.headers) };
  const random = options.random ?? Math.random;
  const { signal } = options;
  let previousDelayMs: number | undefined;
  let deadlineAt = 0;

  /** A failed attempt's verdict, and what the events tell of it; none for an error that is a refusal. */
  const judge = (error: unknown) => {
    if (error instanceof BrokenCircuitError || error instanceof BulkheadRejectedError) return undefined;
    if (error instanceof ThrottledError) return undefined;
    const outcome = outcomeOfError(error);
    const verdict = classify(outcome, facts, policy, {
      now: Date.now(),
      callerAborted: signal?.aborted === true,
    });
    return { verdict, told: told(verdict, outcome) };
  };

  const shouldRetry = async (context: RetryContext): Promise<boolean> => {
    const judged = judge(context.error);
    if (!judged || call.ended) return false;
    if (context.attemptNumber === 1) {
      previousDelayMs = undefined;
      deadlineAt = (call.startedAt ?? Date.now()) + policy.timeout.totalMs;
    }
    const { verdict } = judged;
    // Refused by the breaker, the attempt was not made: the call ends on the one before.
    if (call.refused) {
      call.report?.giveUp(judged.told, context.attemptNumber - 1, 'circuit-open');
      return false;
    }
    const step = nextStep(verdict, context.retriesConsumed + 1, policy.retry, {
      now: Date.now(),
      deadlineAt,
      replayable: true,
      payloadVetoes: (context.error as { isRetryable?: unknown }).isRetryable === false,
      budgetAllows: (call.budget?.left() ?? 1) >= 1,
      previousDelayMs,
      random,
      refusedUntil: verdict.action === 'retry' ? call.refusedUntil?.() : undefined,
    });
    if (step.action === 'stop') {
      if (step.giveUp) call.report?.giveUp(judged.told, context.attemptNumber, step.giveUp);
      return false;
    }
    if (options.shouldRetry && !(await options.shouldRetry(context))) return false;
    // Taken now, after the caller's own veto: a retry the caller refused costs no budget.
    if (call.budget && !call.budget.tryRetry()) {
      call.report?.giveUp(judged.told, context.attemptNumber, 'retry-budget-exhausted');
      return false;
    }
    call.report?.retry(judged.told, context.attemptNumber + 1, step.delayMs, step.delaySource);
    previousDelayMs = step.delayMs;
    await sleep(step.delayMs, signal ?? NEVER);
    return true;
  };

  // p-retry asks shouldRetry nothing once the retries are spent or `maxRetryTime` has passed (counted
  // from a moment after `calledAt`, so a call late here may be asked once more: `ended` answers it).
  const onFailedAttempt = (context: RetryContext): void => {
    const spent = context.retriesLeft <= 0;
    const late = Date.now() - (call.calledAt ?? Date.now()) >= policy.timeout.totalMs;
    if ((!spent && !late) || !call.report) return;
    const judged = judge(context.error);
    if (!judged) return;
    call.ended = true;
    if (call.refused) call.report.giveUp(judged.told, context.attemptNumber - 1, 'circuit-open');
    else if (judged.verdict.action === 'retry') {
      call.report.giveUp(judged.told, context.attemptNumber, spent ? 'attempts-exhausted' : 'deadline');
    }
  };

  return {
    retries: policy.retry.maxAttempts - 1,
    minTimeout: 0,
    maxTimeout: 0,
    randomize: false,
    maxRetryTime: policy.timeout.totalMs,
    shouldRetry,
    ...(call.report ? { onFailedAttempt } : {}),
    ...(signal ? { signal } : {}),
  };
}

/**
 * The options of {@link pRetryOptions}. `headers` are checked by `new Headers`, `policy` by
 * `definePolicy`, and `method` after the table: it is required, with a reason of its own.
 */
const OPTIONS: Shape = {
  method: checkedElsewhere,
  headers: checkedElsewhere,
  policy: checkedElsewhere,
  signal: checkedElsewhere,
  random: func,
  shouldRetry: func,
};

function checkPRetryOptions(options: PRetryPolicyOptions): void {
  checkOptions(options, OPTIONS);
  if (typeof options.method !== 'string' || options.method.trim() === '') {
    refuse(
      'method',
      "is required: the HTTP method the call amounts to ('GET' for a read, 'POST' for a create), which decides whether it may be retried",
    );
  }
  const problem = callMethodProblem(options.method);
  if (problem !== undefined) refuse('method', problem);
}

const NEVER = new AbortController().signal;

/** Options of {@link retryThroughBreaker}. */
export interface RetryThroughBreakerOptions {
  /** Ends the retries and any wait at once. Default: none. */
  readonly signal?: AbortSignal;
  /** Random source in [0, 1) for backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** Your own veto, asked after breakwater's rules said "retry". Default: none. */
  readonly shouldRetry?: (context: RetryContext) => boolean | Promise<boolean>;
}

/**
 * Runs `call` with p-retry, every attempt through the circuit breaker of the endpoint `target`
 * resolves to, under that endpoint's policy (see {@link pRetryOptions}). While the breaker is open the
 * call rejects at once with `BrokenCircuitError`; a retry that finds it open (it opened mid-call) stops
 * the retries, and the call rejects with the previous attempt's error, as `wrapFetch` hands back its
 * last outcome. No wait is started that would end while the breaker still refuses calls (open, before
 * its next probe): the call rejects with the last attempt's error at once.
 * Retries come out of the endpoint's retry budget, shared by every call through the same `breakers`
 * (the cockatiel adapter's included), and no wait is started that would pass `timeout.totalMs` from
 * the first attempt's start.
 *
 * ```ts
 * const breakers = createEndpointBreakers({ policy: partnerCenter() });
 * const target = { method: 'GET', url: 'https://api.partnercenter.microsoft.com/v1/customers' };
 * const customers = await retryThroughBreaker(breakers, target, () => sdk.listCustomers());
 * ```
 */
export function retryThroughBreaker<T>(
  breakers: EndpointBreakers,
  target: CallTarget,
  call: (attemptNumber: number) => PromiseLike<T> | T,
  options: RetryThroughBreakerOptions = {},
): Promise<T> {
  const { key, policy } = breakers.resolve(target);
  const budget = retryBudgetOf(breakers, key, policy);
  const state: CallState = {
    budget,
    refusedUntil: () => refusedUntil(breakers, key),
    report: callReporter(breakers, key),
    calledAt: Date.now(),
  };
  budget.recordCall();
  let previous: unknown;
  return pRetry(
    async (attemptNumber) => {
      state.startedAt ??= Date.now();
      try {
        return await breakers.run(target, () => call(attemptNumber));
      } catch (error) {
        // A retry the breaker refused ends the call on the real failure, as wrapFetch ends on its
        // last outcome: a BrokenCircuitError would hide what the endpoint answered.
        if (attemptNumber > 1 && error instanceof BrokenCircuitError) {
          state.refused = true;
          throw previous;
        }
        previous = error;
        throw error;
      }
    },
    retryOptions(
      {
        method: target.method,
        policy,
        ...(target.headers !== undefined ? { headers: target.headers } : {}),
        ...options,
      },
      state,
    ),
  );
}
