import type { PolicyInput } from '@breakwater/policies';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { retryThroughBreaker } from './p-retry.ts';
import { SdkError } from './sdk-error.test-util.ts';

const target = { method: 'GET', url: 'https://api.example.com/v1/customers' };

/** Three attempts, a breaker that opens on the second consecutive failure, 1 ms backoff. */
const opensOnSecond: PolicyInput = {
  retry: {
    maxAttempts: 3,
    backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
  },
  breaker: { consecutiveFailures: 2 },
};

/** A call that throws the next of `errors` at each attempt. */
function failing(errors: readonly unknown[]): (() => Promise<never>) & { calls: number } {
  const fn = Object.assign(
    async (): Promise<never> => {
      throw errors[fn.calls++];
    },
    { calls: 0 },
  );
  return fn;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('retryThroughBreaker: a breaker that opens mid-call', () => {
  it('rejects with the last attempt’s error, not BrokenCircuitError', async () => {
    const breakers = createEndpointBreakers({ policy: opensOnSecond });
    const errors = [new SdkError(503), new SdkError(503), new SdkError(503)];
    const call = failing(errors);
    await expect(retryThroughBreaker(breakers, target, call)).rejects.toBe(errors[1]);
    expect(call.calls).toBe(2);
    expect(breakers.breakers()).toMatchObject([{ state: 'open' }]);
  });

  it('a retry the breaker refuses after its wait (isolated meanwhile) ends on the previous error', async () => {
    const breakers = createEndpointBreakers({ policy: opensOnSecond });
    const errors = [new SdkError(503), new SdkError(503)];
    const call = failing(errors);
    const { key } = breakers.resolve(target);
    // Asked before the wait: the breaker is isolated while the call waits to retry.
    const isolateThenRetry = () => {
      breakers.isolate(key);
      return true;
    };
    await expect(retryThroughBreaker(breakers, target, call, { shouldRetry: isolateThenRetry })).rejects.toBe(
      errors[0],
    );
    expect(call.calls).toBe(1);
  });
});

describe('retryThroughBreaker: no wait for a retry the open breaker would refuse', () => {
  it('ends at once on the last error when the breaker opens, rather than wait out Retry-After', async () => {
    vi.useFakeTimers();
    const breakers = createEndpointBreakers({ policy: opensOnSecond });
    const errors = [0, 1, 2].map(() => new SdkError(503, { 'retry-after': '2' }));
    const call = failing(errors);
    let outcome: unknown = 'pending';
    void retryThroughBreaker(breakers, target, call).then(
      (value) => (outcome = value),
      (error) => (outcome = error),
    );
    // The first Retry-After is waited; after the second failure the breaker is open for longer than
    // the next wait, so there is no second wait.
    await vi.advanceTimersByTimeAsync(2010);
    expect(outcome).toBe(errors[1]);
    expect(call.calls).toBe(2);
  });

  it('nor for a retry a breaker isolated by hand would refuse, as wrapFetch ends such a call', async () => {
    vi.useFakeTimers();
    const breakers = createEndpointBreakers({ policy: opensOnSecond });
    const key = breakers.resolve(target).key;
    const error = new SdkError(503, { 'retry-after': '2' });
    let outcome: unknown = 'pending';
    void retryThroughBreaker(breakers, target, async () => {
      breakers.isolate(key);
      throw error;
    }).then(
      (value) => (outcome = value),
      (e) => (outcome = e),
    );
    await vi.advanceTimersByTimeAsync(10);
    expect(outcome).toBe(error);
  });
});
