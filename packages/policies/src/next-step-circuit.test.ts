import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from './defaults.ts';
import { nextStep, type RetryFacts } from './next-step.ts';
import type { Verdict } from './types.ts';

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
/** A 503 whose Retry-After asked for 2 s. */
const RETRY_AFTER_2S: Verdict = {
  action: 'retry',
  breaker: 'failure',
  reason: 'transient-status',
  delayMs: 2000,
};

describe('nextStep: a breaker that refuses calls', () => {
  it('starts no wait that ends while the breaker still refuses: the retry would be refused', () => {
    expect(
      nextStep(RETRY_AFTER_2S, 2, DEFAULT_POLICY.retry, { ...FACTS, refusedUntil: NOW + 30_000 }),
    ).toEqual({
      action: 'stop',
      giveUp: 'circuit-open',
    });
  });

  it('waits when the next probe is due before the wait ends (the retry may be the probe)', () => {
    for (const refusedUntil of [NOW + 2000, NOW + 1000, undefined]) {
      expect(nextStep(RETRY_AFTER_2S, 2, DEFAULT_POLICY.retry, { ...FACTS, refusedUntil })).toEqual({
        action: 'retry',
        delayMs: 2000,
        delaySource: 'server',
      });
    }
  });

  it('leaves a verdict that says return alone', () => {
    const notFound: Verdict = { action: 'return', breaker: 'success', reason: 'client-error' };
    expect(nextStep(notFound, 1, DEFAULT_POLICY.retry, { ...FACTS, refusedUntil: NOW + 30_000 })).toEqual({
      action: 'stop',
    });
  });
});
