/**
 * `wrapFetchWithPolicies` names the option at fault when `callPolicy` or `attemptPolicy` is not a
 * cockatiel policy, as every other option is named, rather than blaming an inner function's argument.
 */
import { ConfigError } from '@breakwater/policies';
import { bulkhead, ConsecutiveBreaker, circuitBreaker, handleAll, retry, wrap } from 'cockatiel';
import { fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { wrapFetchWithPolicies } from './cockatiel.ts';

const fetch = undiciFetch;

function refusal(options: Record<string, unknown>): ConfigError {
  try {
    wrapFetchWithPolicies(fetch, options);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('accepted');
}

describe('wrapFetchWithPolicies: callPolicy and attemptPolicy', () => {
  it.each<[string, unknown, string]>([
    ['callPolicy', 5, '5'],
    ['callPolicy', 0, '0'],
    ['callPolicy', {}, 'an object'],
    ['attemptPolicy', 'bulkhead', "'bulkhead'"],
    ['attemptPolicy', null, 'null'],
  ])('refuses %s: %j, naming the option', (key, value, shown) => {
    const error = refusal({ [key]: value });
    expect(error.path).toBe(key);
    expect(error.message).toBe(`breakwater: ${key}: must be a cockatiel policy (with execute), got ${shown}`);
  });

  // One network error sent 16 requests (4 of breakwater's attempts x 4 of cockatiel's), and a POST
  // without an idempotency key was repeated (audit s24).
  it.each(['callPolicy', 'attemptPolicy'])('refuses a cockatiel retry as %s, alone or wrapped', (key) => {
    const breaker = circuitBreaker(handleAll, { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(5) });
    for (const policy of [
      retry(handleAll, { maxAttempts: 3 }),
      wrap(breaker, retry(handleAll, { maxAttempts: 3 })),
    ]) {
      const error = refusal({ [key]: policy });
      expect(error.path).toBe(key);
      expect(error.message).toMatch(/holds a cockatiel retry, which would multiply breakwater's attempts/);
    }
  });

  it("refuses another copy of cockatiel's retry, known by its class's name and events, not a mock", () => {
    class RetryPolicy {
      execute = () => Promise.resolve();
      onRetry = () => ({});
      onGiveUp = () => ({});
    }
    expect(refusal({ callPolicy: new RetryPolicy() }).message).toMatch(/holds a cockatiel retry/);
    // A test's deep mock answers every member with a function.
    const mock = new Proxy({}, { get: (_target, name) => (name === 'then' ? undefined : () => ({})) });
    expect(typeof wrapFetchWithPolicies(fetch, { callPolicy: mock as never })).toBe('function');
  });

  it('accepts cockatiel policies, and none', () => {
    expect(typeof wrapFetchWithPolicies(fetch, { callPolicy: bulkhead(2), attemptPolicy: bulkhead(2) })).toBe(
      'function',
    );
    expect(typeof wrapFetchWithPolicies(fetch, {})).toBe('function');
  });
});
