import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from './defaults.ts';
import { nextStep, type RetryFacts } from './next-step.ts';
import type { RetryPolicy, Verdict } from './types.ts';

const RETRY: RetryPolicy = {
  ...DEFAULT_POLICY.retry,
  maxAttempts: 4,
  backoff: { ...DEFAULT_POLICY.retry.backoff, kind: 'none', initialDelayMs: 100, multiplier: 2 },
};
const NOW = 1_000_000;
const FACTS: RetryFacts = {
  now: NOW,
  deadlineAt: NOW + 30_000,
  replayable: true,
  payloadVetoes: false,
  budgetAllows: true,
  previousDelayMs: undefined,
  random: () => 0.5,
};
const RETRY_503: Verdict = { action: 'retry', breaker: 'failure', reason: 'transient-status' };

describe('nextStep', () => {
  it('retries after the backoff when the server gave no delay', () => {
    expect(nextStep(RETRY_503, 2, RETRY, FACTS)).toEqual({
      action: 'retry',
      delayMs: 200,
      delaySource: 'backoff',
    });
  });

  it("retries after the server's delay, which replaces the backoff", () => {
    expect(nextStep({ ...RETRY_503, delayMs: 1500 }, 1, RETRY, FACTS)).toEqual({
      action: 'retry',
      delayMs: 1500,
      delaySource: 'server',
    });
  });

  it('uses the throttling base for a 429 without delay', () => {
    const throttled: Verdict = { action: 'retry', breaker: 'ignore', reason: 'throttled', throttled: true };
    const retry = { ...RETRY, backoff: { ...RETRY.backoff, throttleInitialDelayMs: 700 } };
    expect(nextStep(throttled, 1, retry, FACTS)).toMatchObject({ action: 'retry', delayMs: 700 });
  });

  it('stops without a give-up when the verdict says return', () => {
    expect(
      nextStep({ action: 'return', breaker: 'success', reason: 'client-error' }, 1, RETRY, FACTS),
    ).toEqual({
      action: 'stop',
    });
  });

  it('reports the idempotency rule and a server delay above the cap as give-ups', () => {
    const notIdempotent: Verdict = { action: 'return', breaker: 'failure', reason: 'not-idempotent' };
    const capped: Verdict = {
      action: 'return',
      breaker: 'ignore',
      reason: 'retry-after-exceeds-cap',
      delayMs: 9e9,
    };
    expect(nextStep(notIdempotent, 1, RETRY, FACTS)).toEqual({ action: 'stop', giveUp: 'not-idempotent' });
    expect(nextStep(capped, 1, RETRY, FACTS)).toEqual({ action: 'stop', giveUp: 'retry-after-exceeds-cap' });
  });

  it('stops at the last attempt', () => {
    expect(nextStep(RETRY_503, 4, RETRY, FACTS)).toEqual({ action: 'stop', giveUp: 'attempts-exhausted' });
  });

  it('stops on a body that cannot be replayed', () => {
    expect(nextStep(RETRY_503, 1, RETRY, { ...FACTS, replayable: false })).toEqual({
      action: 'stop',
      giveUp: 'body-not-replayable',
    });
  });

  it('asks for the payload only when nothing before it stops the call', () => {
    const unread = { ...FACTS, payloadVetoes: undefined };
    expect(nextStep(RETRY_503, 1, RETRY, unread)).toEqual({ action: 'check-payload' });
    expect(nextStep(RETRY_503, 4, RETRY, unread)).toEqual({ action: 'stop', giveUp: 'attempts-exhausted' });
    expect(nextStep(RETRY_503, 1, RETRY, { ...FACTS, payloadVetoes: true })).toEqual({
      action: 'stop',
      giveUp: 'not-retryable-payload',
    });
  });

  it('does not start a wait that would reach the deadline', () => {
    const verdict = { ...RETRY_503, delayMs: 1000 };
    expect(nextStep(verdict, 1, RETRY, { ...FACTS, deadlineAt: NOW + 1000 })).toEqual({
      action: 'stop',
      giveUp: 'deadline',
    });
    expect(nextStep(verdict, 1, RETRY, { ...FACTS, deadlineAt: NOW + 1001 })).toMatchObject({
      action: 'retry',
    });
  });

  it('stops when the retry budget is spent, after every other check', () => {
    expect(nextStep(RETRY_503, 1, RETRY, { ...FACTS, budgetAllows: false })).toEqual({
      action: 'stop',
      giveUp: 'retry-budget-exhausted',
    });
    expect(
      nextStep({ ...RETRY_503, delayMs: 5000 }, 1, RETRY, {
        ...FACTS,
        budgetAllows: false,
        deadlineAt: NOW + 10,
      }),
    ).toEqual({ action: 'stop', giveUp: 'deadline' });
  });

  it('feeds the previous wait to decorrelated jitter', () => {
    const retry = { ...RETRY, backoff: { ...RETRY.backoff, kind: 'decorrelated-jitter' as const } };
    const first = nextStep(RETRY_503, 2, retry, { ...FACTS, random: () => 0.999, previousDelayMs: 100 });
    const later = nextStep(RETRY_503, 2, retry, { ...FACTS, random: () => 0.999, previousDelayMs: 1000 });
    expect(first.action === 'retry' && later.action === 'retry' && later.delayMs > first.delayMs).toBe(true);
  });
});

/** A 503 whose Retry-After asked for 2 s. */
const RETRY_AFTER_2S: Verdict = {
  action: 'retry',
  breaker: 'failure',
  reason: 'transient-status',
  delayMs: 2000,
};

describe('nextStep: a breaker that refuses calls', () => {
  it('starts no wait that ends while the breaker still refuses: the retry would be refused', () => {
    expect(nextStep(RETRY_AFTER_2S, 2, RETRY, { ...FACTS, refusedUntil: NOW + 30_000 })).toEqual({
      action: 'stop',
      giveUp: 'circuit-open',
    });
  });

  it('waits when the next probe is due before the wait ends (the retry may be the probe)', () => {
    for (const refusedUntil of [NOW + 2000, NOW + 1000, undefined]) {
      expect(nextStep(RETRY_AFTER_2S, 2, RETRY, { ...FACTS, refusedUntil })).toEqual({
        action: 'retry',
        delayMs: 2000,
        delaySource: 'server',
      });
    }
  });

  it('leaves a verdict that says return alone', () => {
    const notFound: Verdict = { action: 'return', breaker: 'success', reason: 'client-error' };
    expect(nextStep(notFound, 1, RETRY, { ...FACTS, refusedUntil: NOW + 30_000 })).toEqual({
      action: 'stop',
    });
  });
});
