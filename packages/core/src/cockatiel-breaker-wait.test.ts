import type { PolicyInput } from '@breakwater/policies';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { breakwaterPolicy } from './cockatiel.ts';

/** Three attempts, a breaker that opens on the second consecutive failure. */
const opensOnSecond: PolicyInput = { retry: { maxAttempts: 3 }, breaker: { consecutiveFailures: 2 } };

afterEach(() => {
  vi.useRealTimers();
});

describe('breakwaterPolicy: no wait for a retry the open breaker would refuse', () => {
  it('hands back the last 503 at once when the breaker opens, rather than wait out Retry-After', async () => {
    vi.useFakeTimers();
    const policy = breakwaterPolicy({
      target: { method: 'GET', url: 'https://api.example.com/v1/customers' },
      policy: opensOnSecond,
    });
    let calls = 0;
    const unavailable = () => {
      calls++;
      return new Response(null, { status: 503, headers: { 'retry-after': '2' } });
    };
    let outcome: unknown = 'pending';
    void policy.execute(unavailable).then(
      (value) => (outcome = value),
      (error) => (outcome = error),
    );
    await vi.advanceTimersByTimeAsync(2010);
    expect(outcome).toMatchObject({ status: 503 });
    expect(calls).toBe(2);
    expect(policy.breakers.breakers()).toMatchObject([{ state: 'open' }]);
  });
});
