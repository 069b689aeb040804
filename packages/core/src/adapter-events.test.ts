import type { PolicyInput } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { breakwaterPolicy } from './cockatiel.ts';
import type { BreakwaterEvent } from './events.ts';
import { retryThroughBreaker } from './p-retry.ts';
import { SdkError } from './sdk-error.test-util.ts';

/** The adapters' retry loops tell their retries and give-ups as wrapFetch's does (issue 15's events). */

const target = { method: 'GET', url: 'https://api.example.com/v1/customers' };
const KEY = 'default https://api.example.com';
/** Three attempts, 100 ms apart, no breaker in the way. */
const policy: PolicyInput = {
  retry: { maxAttempts: 3, backoff: { kind: 'none', initialDelayMs: 100, maxDelayMs: 100 } },
  breaker: { enabled: false },
};

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function told(events: BreakwaterEvent[]) {
  return events.filter((e) => e.type === 'retry' || e.type === 'give-up').map(({ at: _at, ...rest }) => rest);
}

describe('the adapters tell their retries and give-ups on the breakers’ events', () => {
  it('retryThroughBreaker: each retry, then the give-up when attempts run out', async () => {
    const events: BreakwaterEvent[] = [];
    const breakers = createEndpointBreakers({ policy, onEvent: (e) => events.push(e) });
    const call = retryThroughBreaker(breakers, target, () => {
      throw new SdkError(503);
    }).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(await call).toBeInstanceOf(SdkError);
    expect(told(events)).toEqual([
      {
        type: 'retry',
        key: KEY,
        attempt: 2,
        delayMs: 100,
        delaySource: 'backoff',
        reason: 'transient-status',
        status: 503,
      },
      {
        type: 'retry',
        key: KEY,
        attempt: 3,
        delayMs: 100,
        delaySource: 'backoff',
        reason: 'transient-status',
        status: 503,
      },
      { type: 'give-up', key: KEY, attempts: 3, reason: 'attempts-exhausted', status: 503 },
    ]);
  });

  it('retryThroughBreaker: the give-up of a call whose deadline passed during an attempt', async () => {
    const events: BreakwaterEvent[] = [];
    const breakers = createEndpointBreakers({
      policy: { ...policy, timeout: { totalMs: 100 } },
      onEvent: (e) => events.push(e),
    });
    const call = retryThroughBreaker(breakers, target, async () => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      throw new SdkError(503);
    }).catch((e: unknown) => e);
    await vi.runAllTimersAsync();
    expect(await call).toBeInstanceOf(SdkError);
    expect(told(events)).toEqual([
      { type: 'give-up', key: KEY, attempts: 1, reason: 'deadline', status: 503 },
    ]);
  });

  it('breakwaterPolicy: a retry told with the server’s delay, and no give-up for a call that succeeds', async () => {
    const events: BreakwaterEvent[] = [];
    const cockatiel = breakwaterPolicy({ target, policy, onEvent: (e) => events.push(e) });
    let calls = 0;
    const answer = () =>
      ++calls === 1
        ? new Response(null, { status: 429, headers: { 'retry-after': '1' } })
        : new Response('ok', { status: 200 });
    const call = cockatiel.execute(answer);
    await vi.runAllTimersAsync();
    expect((await call).status).toBe(200);
    expect(told(events)).toEqual([
      {
        type: 'retry',
        key: KEY,
        attempt: 2,
        delayMs: 1_000,
        delaySource: 'server',
        reason: 'throttled',
        status: 429,
      },
    ]);
  });
});
