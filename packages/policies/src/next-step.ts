import { backoffDelay } from './backoff.ts';
import type { RetryPolicy, Verdict } from './types.ts';

/** Why a call ends on an outcome its verdict would have retried (or on one the server asked to wait for). */
export type StopReason =
  | 'attempts-exhausted'
  | 'deadline'
  | 'retry-after-exceeds-cap'
  | 'not-idempotent'
  | 'body-not-replayable'
  | 'not-retryable-payload'
  | 'retry-budget-exhausted'
  | 'circuit-open';

/** What a retry loop knows beside the verdict when it asks {@link nextStep} what to do. */
export interface RetryFacts {
  /** Current time, ms since the epoch. */
  readonly now: number;
  /** Epoch ms at which the call's total deadline passes: no wait that reaches it is started. */
  readonly deadlineAt: number;
  /** False when the request's body cannot be sent again. */
  readonly replayable: boolean;
  /**
   * Whether the outcome's payload forbids a retry (`isRetryable: false`); `undefined` when it has not
   * been read, for a read costs time: {@link nextStep} then answers `check-payload`, and only when
   * nothing else stops the call first.
   */
  readonly payloadVetoes: boolean | undefined;
  /** Whether the retry budget still allows a retry (a loop takes it only on a `retry` answer). */
  readonly budgetAllows: boolean;
  /** The previous wait in ms, whatever chose it; `undefined` before the first retry. */
  readonly previousDelayMs: number | undefined;
  /** A source of numbers in [0, 1) for the backoff's jitter. */
  readonly random: () => number;
  /**
   * Epoch ms until which the endpoint's breaker refuses every call (open, before its next probe;
   * Infinity while isolated by hand).
   * A wait that would end before it is not started: the retry would be refused anyway. Default: none.
   */
  readonly refusedUntil?: number | undefined;
}

/**
 * What a retry loop does after an attempt. `retry`: wait `delayMs` (the server's delay, else the
 * backoff's), then attempt again. `stop`: hand the outcome back; `giveUp` says why a retry that the
 * outcome alone called for (or a server delay) was not made, and is absent when the verdict itself
 * said return. `check-payload`: read the payload's veto and ask again with `payloadVetoes` known.
 */
export type NextStep = RetryDecision | { readonly action: 'check-payload' };

/** A {@link NextStep} once the payload's veto is known: retry or stop. */
export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number; readonly delaySource: 'server' | 'backoff' }
  | { readonly action: 'stop'; readonly giveUp?: StopReason };

const STOP: RetryDecision = { action: 'stop' };

/**
 * The one retry decision of breakwater, shared by `wrapFetch` and the cockatiel and p-retry adapters.
 * After attempt number `attempt` (1 for the first), in this order: a verdict that says return stops
 * (reported as a give-up when it was the idempotency rule or a server delay above the cap); then the
 * attempts, a body that cannot be replayed and the payload's veto stop; then a wait that would reach
 * the deadline, or end while the breaker still refuses calls, is not started, and a retry the budget
 * refuses is not made.
 */
export function nextStep(
  verdict: Verdict,
  attempt: number,
  retry: RetryPolicy,
  facts: RetryFacts & { readonly payloadVetoes: boolean },
): RetryDecision;
export function nextStep(verdict: Verdict, attempt: number, retry: RetryPolicy, facts: RetryFacts): NextStep;
export function nextStep(verdict: Verdict, attempt: number, retry: RetryPolicy, facts: RetryFacts): NextStep {
  if (verdict.action === 'return') return returned(verdict);
  if (attempt >= retry.maxAttempts) return stop('attempts-exhausted');
  if (!facts.replayable) return stop('body-not-replayable');
  if (facts.payloadVetoes === undefined) return { action: 'check-payload' };
  if (facts.payloadVetoes) return stop('not-retryable-payload');
  const delayMs = verdict.delayMs ?? backoffAfter(verdict, attempt, retry, facts);
  if (facts.now + delayMs >= facts.deadlineAt) return stop('deadline');
  if (facts.refusedUntil !== undefined && facts.now + delayMs < facts.refusedUntil)
    return stop('circuit-open');
  if (!facts.budgetAllows) return stop('retry-budget-exhausted');
  return { action: 'retry', delayMs, delaySource: verdict.delayMs === undefined ? 'backoff' : 'server' };
}

function returned(verdict: Verdict): RetryDecision {
  const { reason } = verdict;
  return reason === 'retry-after-exceeds-cap' || reason === 'not-idempotent' ? stop(reason) : STOP;
}

function stop(giveUp: StopReason): RetryDecision {
  return { action: 'stop', giveUp };
}

function backoffAfter(verdict: Verdict, attempt: number, retry: RetryPolicy, facts: RetryFacts): number {
  const state = {
    retry: attempt,
    previousDelayMs: facts.previousDelayMs,
    throttled: verdict.throttled === true,
  };
  return backoffDelay(retry.backoff, state, facts.random);
}
