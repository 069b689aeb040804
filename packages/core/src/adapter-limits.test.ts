import type { PolicyInput } from '@breakwater/policies';
import pRetry from 'p-retry';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { breakwaterPolicy } from './cockatiel.ts';
import { pRetryOptions, retryThroughBreaker } from './p-retry.ts';
import { SdkError } from './sdk-error.test-util.ts';

const target = { method: 'GET', url: 'https://api.example.test/v1/items' };
const fast = { kind: 'none', initialDelayMs: 100, maxDelayMs: 100, throttleInitialDelayMs: 100 } as const;
/** Deadline 2 s; the server asks for 5 s, under the 60 s cap: a wait that would pass the deadline. */
const DEADLINE: PolicyInput = {
  timeout: { attemptMs: 1_000, totalMs: 2_000 },
  retryBudget: { enabled: false },
};
/** One retry per window for the whole endpoint, whatever the traffic. */
const TIGHT_BUDGET: PolicyInput = {
  retry: { backoff: fast },
  retryBudget: { enabled: true, minRetries: 1, ratio: 0.01, windowMs: 60_000 },
};

/** A call that fails with `error` every time, counting its calls. */
function failing(error: () => unknown): (() => Promise<never>) & { calls: number } {
  const fn = Object.assign(
    async (): Promise<never> => {
      fn.calls++;
      throw error();
    },
    { calls: 0 },
  );
  return fn;
}

/** Settles `promise` under fake timers; returns the epoch ms at which it rejected. */
async function rejectedAt(promise: Promise<unknown>): Promise<number> {
  let at = Number.NaN;
  const settled = promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    () => {
      at = Date.now();
    },
  );
  await vi.runAllTimersAsync();
  await settled;
  return at;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the cockatiel adapter honours timeout.totalMs and the retry budget', () => {
  it('does not start a wait that would pass the deadline: it hands the outcome back at once', async () => {
    const call = failing(() => new SdkError(503, { 'retry-after': '5' }));
    const policy = breakwaterPolicy({ target, policy: DEADLINE });
    expect(await rejectedAt(policy.execute(call))).toBe(0);
    expect(call.calls).toBe(1);
  });

  it('stops retrying when the endpoint’s retry budget is spent', async () => {
    const call = failing(() => new SdkError(503));
    const policy = breakwaterPolicy({ target, policy: TIGHT_BUDGET });
    await rejectedAt(policy.execute(call));
    // 4 attempts allowed, but the budget holds one retry.
    expect(call.calls).toBe(2);
    await rejectedAt(policy.execute(call));
    expect(call.calls).toBe(3);
  });

  it('shares the budget with the p-retry calls of the same breakers', async () => {
    const breakers = createEndpointBreakers({ policy: TIGHT_BUDGET });
    const call = failing(() => new SdkError(503));
    await rejectedAt(retryThroughBreaker(breakers, target, call));
    expect(call.calls).toBe(2);
    await rejectedAt(breakwaterPolicy({ target, breakers }).execute(call));
    expect(call.calls).toBe(3);
  });

  it('keeps the budget beside the breaker: breakers() shows what it has left', async () => {
    const breakers = createEndpointBreakers({ policy: TIGHT_BUDGET });
    await breakers.run(target, () => 'warm');
    expect(breakers.breakers()[0]?.retryBudgetLeft).toBe(1);
    await rejectedAt(
      retryThroughBreaker(
        breakers,
        target,
        failing(() => new SdkError(503)),
      ),
    );
    expect(breakers.breakers()[0]?.retryBudgetLeft).toBe(0);
  });
});

describe('the p-retry adapter honours timeout.totalMs and the retry budget', () => {
  it('does not start a wait that would pass the deadline (pRetryOptions)', async () => {
    const call = failing(() => new SdkError(503, { 'retry-after': '5' }));
    expect(await rejectedAt(pRetry(call, pRetryOptions({ method: 'GET', policy: DEADLINE })))).toBe(0);
    expect(call.calls).toBe(1);
  });

  it('does not start a wait that would pass the deadline (retryThroughBreaker)', async () => {
    const breakers = createEndpointBreakers({ policy: DEADLINE });
    const call = failing(() => new SdkError(503, { 'retry-after': '5' }));
    expect(await rejectedAt(retryThroughBreaker(breakers, target, call))).toBe(0);
    expect(call.calls).toBe(1);
  });

  it('counts the deadline from the first attempt, whose time retryThroughBreaker knows', async () => {
    const breakers = createEndpointBreakers({ policy: DEADLINE });
    let calls = 0;
    const slowThenFail = async (): Promise<never> => {
      calls++;
      // The first attempt takes 1.5 s of the 2 s: a 1 s server delay no longer fits.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      throw new SdkError(503, { 'retry-after': '1' });
    };
    expect(await rejectedAt(retryThroughBreaker(breakers, target, slowThenFail))).toBe(1_500);
    expect(calls).toBe(1);
  });

  it('stops retrying when the endpoint’s retry budget is spent (retryThroughBreaker)', async () => {
    const breakers = createEndpointBreakers({ policy: TIGHT_BUDGET });
    const call = failing(() => new SdkError(503));
    await rejectedAt(retryThroughBreaker(breakers, target, call));
    expect(call.calls).toBe(2);
  });
});
