import type { PolicyInput } from '@breakwater/policies';
import { isTaskCancelledError, TimeoutStrategy, timeout, wrap } from 'cockatiel';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { breakwaterPolicy, wrapFetchWithPolicies } from './cockatiel.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';

const fetch = undiciFetch;

/** Two attempts, retried without real waiting. */
const twoAttempts: PolicyInput = {
  retry: {
    maxAttempts: 2,
    backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
  },
};

const strategies = [
  ['Aggressive', TimeoutStrategy.Aggressive],
  ['Cooperative', TimeoutStrategy.Cooperative],
] as const;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());
beforeEach(() => server.reset());

/** A path whose first `hanging` requests never get an answer; later ones get 200. */
function hangsFirst(path: string, hanging: number): string {
  return server.route(path, (_req, res, hit) => {
    if (hit > hanging) res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
}

/** The error a cockatiel timeout throws, or the abort fetch throws when its signal is aborted. */
function expectPolicyCut(cause: unknown, strategy: TimeoutStrategy): void {
  if (strategy === TimeoutStrategy.Aggressive) expect(isTaskCancelledError(cause)).toBe(true);
  else expect(cause).toMatchObject({ name: 'AbortError' });
}

describe('breakwaterPolicy: an attempt a cockatiel timeout cuts short is an attempt timeout', () => {
  it.each(strategies)('%s: retried, and counted by the breaker', async (_, strategy) => {
    const url = hangsFirst('/bp/once', 1);
    const policy = breakwaterPolicy({ target: { method: 'GET', url }, policy: twoAttempts });
    const response = await wrap(policy, timeout(100, strategy)).execute(({ signal }) =>
      fetch(url, { signal }),
    );
    expect(response.status).toBe(200);
    expect(server.hits.get('/bp/once')).toBe(2);
    expect(policy.breakers.breakers()[0]).toMatchObject({ failures: 1 });
  });

  it.each(strategies)(
    '%s: when retries run out, a TimeoutError whose cause is cockatiel’s',
    async (_, strategy) => {
      const url = hangsFirst('/bp/always', Number.POSITIVE_INFINITY);
      const policy = breakwaterPolicy({ target: { method: 'GET', url }, policy: twoAttempts });
      const error = await wrap(policy, timeout(100, strategy))
        .execute(({ signal }) => fetch(url, { signal }))
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TimeoutError', message: expect.stringMatching(/^breakwater: /) });
      expectPolicyCut((error as Error).cause, strategy);
      expect(server.hits.get('/bp/always')).toBe(2);
      expect(policy.breakers.breakers()[0]).toMatchObject({ failures: 2 });
    },
  );

  it('the caller’s abort stays an abort: not retried, not counted', async () => {
    const url = hangsFirst('/bp/abort', Number.POSITIVE_INFINITY);
    const policy = breakwaterPolicy({ target: { method: 'GET', url }, policy: twoAttempts });
    const caller = new AbortController();
    setTimeout(() => caller.abort(), 50);
    const error = await wrap(policy, timeout(2000, TimeoutStrategy.Cooperative))
      .execute(({ signal }) => fetch(url, { signal }), caller.signal)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(server.hits.get('/bp/abort')).toBe(1);
    expect(policy.breakers.breakers()[0]).toMatchObject({ failures: 0 });
  });
});

describe('wrapFetchWithPolicies: an attemptPolicy timeout is an attempt timeout', () => {
  it.each(strategies)('%s: retried, and counted by the breaker', async (_, strategy) => {
    const url = hangsFirst('/wf/once', 1);
    const wrapped = wrapFetchWithPolicies(fetch, {
      policy: twoAttempts,
      attemptPolicy: timeout(100, { strategy, abortOnReturn: false }),
    });
    const response = await wrapped(url);
    expect(response.status).toBe(200);
    await expect(response.text()).resolves.toBe('ok');
    expect(server.hits.get('/wf/once')).toBe(2);
    expect(wrapped.breakers()[0]).toMatchObject({ failures: 1 });
  });

  it.each(strategies)(
    '%s: when retries run out, a TimeoutError whose cause is cockatiel’s',
    async (_, strategy) => {
      const url = hangsFirst('/wf/always', Number.POSITIVE_INFINITY);
      const wrapped = wrapFetchWithPolicies(fetch, {
        policy: twoAttempts,
        attemptPolicy: timeout(100, { strategy, abortOnReturn: false }),
      });
      const error = await wrapped(url).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'TimeoutError' });
      expectPolicyCut((error as Error).cause, strategy);
      expect(server.hits.get('/wf/always')).toBe(2);
      expect(wrapped.breakers()[0]).toMatchObject({ failures: 2 });
    },
  );
});

describe('wrapFetchWithPolicies: a callPolicy timeout stays cockatiel’s error to code around the call', () => {
  it('isTaskCancelledError holds for an Aggressive whole-call timeout, its name TimeoutError', async () => {
    const url = hangsFirst('/wf/call', Number.POSITIVE_INFINITY);
    const wrapped = wrapFetchWithPolicies(fetch, {
      policy: twoAttempts,
      callPolicy: timeout(100, { strategy: TimeoutStrategy.Aggressive, abortOnReturn: false }),
    });
    const error = await wrapped(url).catch((e: unknown) => e);
    expect(isTaskCancelledError(error)).toBe(true);
    expect(error).toMatchObject({ name: 'TimeoutError' });
  });
});
