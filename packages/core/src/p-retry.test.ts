import { ConfigError, type PolicyInput } from '@breakwater/policies';
import pRetry from 'p-retry';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { BrokenCircuitError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { pRetryOptions, retryThroughBreaker } from './p-retry.ts';
import { SdkError } from './sdk-error.test-util.ts';

const fast: PolicyInput = {
  retry: { backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 } },
};

/** A call that fails with the given errors in turn, then resolves 'done'. */
function sdkCall(...failures: unknown[]): (() => Promise<string>) & { calls: number } {
  const fn = Object.assign(
    async () => {
      const failure = failures[fn.calls++];
      if (failure !== undefined) throw failure;
      return 'done';
    },
    { calls: 0 },
  );
  return fn;
}

function networkError(): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pRetryOptions: the outcome table in p-retry', () => {
  it('retries transient statuses and network errors of an idempotent call, up to maxAttempts', async () => {
    const call = sdkCall(new SdkError(503), networkError(), new SdkError(502));
    await expect(pRetry(call, pRetryOptions({ method: 'GET', policy: fast }))).resolves.toBe('done');
    expect(call.calls).toBe(4);

    const failing = sdkCall(...Array.from({ length: 10 }, () => new SdkError(503)));
    await expect(pRetry(failing, pRetryOptions({ method: 'GET', policy: fast }))).rejects.toBeInstanceOf(
      SdkError,
    );
    expect(failing.calls).toBe(4);
  });

  it('fails fast on client errors, 500, 501 and errors it does not recognise', async () => {
    for (const error of [new SdkError(404), new SdkError(500), new SdkError(501), new Error('bug')]) {
      const call = sdkCall(error);
      await expect(pRetry(call, pRetryOptions({ method: 'GET', policy: fast }))).rejects.toBe(error);
      expect(call.calls).toBe(1);
    }
  });

  it('makes a non-idempotent call once, unless it carries an idempotency key or the policy opts in', async () => {
    const post = sdkCall(new SdkError(503));
    await expect(pRetry(post, pRetryOptions({ method: 'POST', policy: fast }))).rejects.toBeInstanceOf(
      SdkError,
    );
    expect(post.calls).toBe(1);

    const keyed = sdkCall(new SdkError(503));
    const withKey = pRetryOptions({ method: 'POST', headers: { 'MS-RequestId': 'r-1' }, policy: fast });
    await expect(pRetry(keyed, withKey)).resolves.toBe('done');

    const optedIn = sdkCall(new SdkError(503));
    const idempotent = pRetryOptions({
      method: 'POST',
      policy: { ...fast, retry: { ...fast.retry, idempotent: true } },
    });
    await expect(pRetry(optedIn, idempotent)).resolves.toBe('done');
  });

  it('waits the server’s Retry-After instead of the backoff', async () => {
    vi.useFakeTimers();
    const call = sdkCall(new SdkError(429, { 'retry-after': '7' }));
    const done = pRetry(call, pRetryOptions({ method: 'GET', policy: fast }));
    await vi.advanceTimersByTimeAsync(6_999);
    expect(call.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe('done');
    expect(call.calls).toBe(2);
  });

  it('reads breakwater’s HttpError, and its payload’s isRetryable: false vetoes the retry', async () => {
    const response = new Response('{"code":3000,"isRetryable":false}', {
      status: 503,
      headers: { 'content-type': 'application/json' },
    });
    const vetoed = await HttpError.from(response);
    const call = sdkCall(vetoed);
    await expect(pRetry(call, pRetryOptions({ method: 'GET', policy: fast }))).rejects.toBe(vetoed);
    expect(call.calls).toBe(1);
  });

  it('uses the policy’s decorrelated backoff with the injected random source', async () => {
    vi.useFakeTimers();
    const call = sdkCall(new SdkError(503));
    const options = pRetryOptions({ method: 'GET', random: () => 0 });
    const done = pRetry(call, options);
    await vi.advanceTimersByTimeAsync(199);
    expect(call.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(done).resolves.toBe('done');
  });

  it('ends a wait at once when the signal aborts, with its reason', async () => {
    vi.useFakeTimers();
    const controller = new AbortController();
    // 10 s, inside the 30 s deadline: a wait that would reach the deadline is not started at all.
    const call = sdkCall(new SdkError(429, { 'retry-after': '10' }));
    const done = pRetry(call, pRetryOptions({ method: 'GET', signal: controller.signal }));
    const settled = expect(done).rejects.toBe('stop');
    await vi.advanceTimersByTimeAsync(10);
    controller.abort('stop');
    await settled;
    expect(call.calls).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('asks the caller’s own shouldRetry after breakwater’s rules', async () => {
    const call = sdkCall(new SdkError(503));
    const options = pRetryOptions({ method: 'GET', policy: fast, shouldRetry: () => false });
    await expect(pRetry(call, options)).rejects.toBeInstanceOf(SdkError);
    expect(call.calls).toBe(1);
  });

  it('rejects a missing method and an invalid policy with ConfigError', () => {
    const noMethod = {} as unknown as Parameters<typeof pRetryOptions>[0];
    expect(() => pRetryOptions(noMethod)).toThrow(/method: is required/);
    expect(() => pRetryOptions({ method: 'GET', policy: { retry: { maxAttempts: -1 } } })).toThrow(
      ConfigError,
    );
  });

  // A misspelt GET was an unknown method: its network errors were no longer retried (audit s24).
  it.each<[string, RegExp]>([
    ['GTE', /did you mean 'GET'/],
    ['GET ', /not an HTTP method/],
    ['get\n', /not an HTTP method/],
  ])('refuses the method %j, naming it', (method, reason) => {
    expect(() => pRetryOptions({ method })).toThrow(ConfigError);
    expect(() => pRetryOptions({ method })).toThrow(reason);
  });

  it("refuses a call target's misspelt method, where the adapters' breakers resolve it", () => {
    expect(() =>
      createEndpointBreakers().resolve({ method: 'GTE', url: 'https://api.example.com/v1/customers' }),
    ).toThrow(/target.method: unknown method 'GTE' \(did you mean 'GET'\?\)/);
  });
});

describe('retryThroughBreaker', () => {
  const target = { method: 'GET', url: 'https://api.example.com/v1/customers' };

  it('counts every attempt in the endpoint’s breaker and stops at an open breaker', async () => {
    const breakers = createEndpointBreakers({
      policy: { ...fast, breaker: { consecutiveFailures: 3 } },
      endpoints: [{ name: 'customers', match: 'GET */v1/customers' }],
    });
    const call = sdkCall(...Array.from({ length: 10 }, () => new SdkError(503)));
    await expect(retryThroughBreaker(breakers, target, call)).rejects.toBeInstanceOf(SdkError);
    expect(call.calls).toBe(3);
    expect(breakers.breakers()).toMatchObject([
      { key: 'customers https://api.example.com', state: 'open', consecutiveFailures: 3 },
    ]);

    const next = sdkCall();
    await expect(retryThroughBreaker(breakers, target, next)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(next.calls).toBe(0);
  });

  it('returns the value of a call that succeeds after a retry', async () => {
    const breakers = createEndpointBreakers({ policy: fast });
    const call = sdkCall(networkError());
    await expect(retryThroughBreaker(breakers, target, call)).resolves.toBe('done');
    expect(breakers.breakers()).toMatchObject([{ state: 'closed', calls: 2, failures: 1 }]);
  });
});
