import type { PolicyInput } from '@breakwater/policies';
import {
  BulkheadRejectedError,
  bulkhead,
  fallback,
  handleAll,
  handleWhenResult,
  type IFailureEvent,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  breakwaterPolicy,
  createEndpointBreakers,
  fetchWithPolicy,
  wrapFetchWithPolicies,
} from './cockatiel.ts';
import { BrokenCircuitError } from './errors.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';

const fast: PolicyInput = {
  retry: { backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 } },
};

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(() => server.close());

describe('breakwaterPolicy: an endpoint’s rules as a cockatiel IPolicy', () => {
  it('retries a fetch by the outcome table and hands back the final Response', async () => {
    server.script('/p/flaky', { status: 503 }, { status: 200, body: '{"ok":1}' });
    const policy = breakwaterPolicy({
      target: { method: 'GET', url: `${server.origin}/p/flaky` },
      policy: fast,
    });
    const response = await policy.execute(({ signal }) => fetch(`${server.origin}/p/flaky`, { signal }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: 1 });
    expect(server.count('/p/flaky')).toBe(2);
  });

  it('returns a 404 at once and the last 503 when attempts run out (fetch semantics)', async () => {
    server.script('/p/missing', { status: 404 });
    server.script('/p/down', { status: 503 });
    const missing = breakwaterPolicy({
      target: { method: 'GET', url: `${server.origin}/p/missing` },
      policy: fast,
    });
    expect((await missing.execute(() => fetch(`${server.origin}/p/missing`))).status).toBe(404);
    expect(server.count('/p/missing')).toBe(1);
    const down = breakwaterPolicy({
      target: { method: 'GET', url: `${server.origin}/p/down` },
      policy: fast,
    });
    expect((await down.execute(() => fetch(`${server.origin}/p/down`))).status).toBe(503);
    expect(server.count('/p/down')).toBe(4);
  });

  it('fires onFailure, not onSuccess, for a 503 handed back when retries run out, as cockatiel’s retry does', async () => {
    server.script('/p/exhausted', { status: 503 });
    const policy = breakwaterPolicy({
      target: { method: 'GET', url: `${server.origin}/p/exhausted` },
      policy: { ...fast, retry: { ...fast.retry, maxAttempts: 2 } },
    });
    const failures: IFailureEvent[] = [];
    let successes = 0;
    policy.onFailure((e) => failures.push(e));
    policy.onSuccess(() => successes++);
    const response = await policy.execute(({ signal }) => fetch(`${server.origin}/p/exhausted`, { signal }));
    expect(response.status).toBe(503);
    expect(server.count('/p/exhausted')).toBe(2);
    expect(successes).toBe(0);
    expect(failures).toEqual([{ duration: expect.any(Number), handled: true, reason: { value: response } }]);

    // What cockatiel's own retry of that result fires for its last attempt, before handing it back.
    const theirs = retry(
      handleWhenResult((r) => (r as Response).status === 503),
      { maxAttempts: 1 },
    );
    const theirFailures: IFailureEvent[] = [];
    let theirSuccesses = 0;
    theirs.onFailure((e) => theirFailures.push(e));
    theirs.onSuccess(() => theirSuccesses++);
    const theirResponse = await theirs.execute(() => fetch(`${server.origin}/p/exhausted`));
    expect(theirResponse.status).toBe(503);
    expect(theirSuccesses).toBe(0);
    expect(theirFailures.at(-1)).toEqual({
      duration: expect.any(Number),
      handled: true,
      reason: { value: theirResponse },
    });
  });

  it('passes the attempt number and rethrows an error it does not retry, firing onFailure', async () => {
    const policy = breakwaterPolicy({
      target: { method: 'POST', url: 'https://api.example.com/x' },
      policy: fast,
    });
    const failures: IFailureEvent[] = [];
    policy.onFailure((e) => failures.push(e));
    const attempts: number[] = [];
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    await expect(
      policy.execute(({ attempt }) => {
        attempts.push(attempt);
        throw reset;
      }),
    ).rejects.toBe(reset);
    // POST without an idempotency key: not retried.
    expect(attempts).toEqual([1]);
    expect(failures).toMatchObject([{ handled: false, reason: { error: reset } }]);
  });

  it('composes with cockatiel policies through wrap()', async () => {
    server.script('/p/wrapped', { status: 502 }, { status: 200 });
    const url = `${server.origin}/p/wrapped`;
    const policy = wrap(bulkhead(1), breakwaterPolicy({ target: { method: 'GET', url }, policy: fast }));
    const first = policy.execute(({ signal }) => fetch(url, { signal }));
    // The bulkhead admits one call at a time: the second is rejected by cockatiel.
    await expect(policy.execute(({ signal }) => fetch(url, { signal }))).rejects.toBeInstanceOf(
      BulkheadRejectedError,
    );
    expect((await first).status).toBe(200);
  });

  it('shares breakers with other calls, and an open breaker refuses before calling', async () => {
    const breakers = createEndpointBreakers({ policy: { ...fast, breaker: { consecutiveFailures: 2 } } });
    const target = { method: 'GET', url: 'https://api.example.com/v1/orders' };
    const a = breakwaterPolicy({ target, breakers });
    const b = breakwaterPolicy({ target, breakers });
    let calls = 0;
    const failing = (): Response => {
      calls++;
      return new Response(null, { status: 500 });
    };
    expect((await a.execute(failing)).status).toBe(500);
    expect((await b.execute(failing)).status).toBe(500);
    await expect(a.execute(failing)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(calls).toBe(2);
    expect(breakers.breakers()).toMatchObject([{ key: 'default https://api.example.com', state: 'open' }]);
  });

  it('ends a backoff wait at once when the signal aborts', async () => {
    const policy = breakwaterPolicy({ target: { method: 'GET', url: 'https://api.example.com/slow' } });
    const controller = new AbortController();
    const done = policy.execute(() => {
      queueMicrotask(() => controller.abort(new Error('caller gave up')));
      return new Response(null, { status: 429, headers: { 'retry-after': '30' } });
    }, controller.signal);
    await expect(done).rejects.toThrow('caller gave up');
  });

  it('reports a target without a URL when it is built', () => {
    const bad = { target: { method: 'GET' } } as unknown as Parameters<typeof breakwaterPolicy>[0];
    expect(() => breakwaterPolicy(bad)).toThrow(/target\.url/);
  });
});

describe('cockatiel policies around a breakwater fetch', () => {
  it('fetchWithPolicy runs each call through the policy (a fallback answers when fetch fails)', async () => {
    const offline = fallback(handleAll, () => new Response('cached', { status: 200 }));
    const guarded = fetchWithPolicy(offline, () => Promise.reject(new TypeError('fetch failed')));
    expect(await (await guarded('https://api.example.com/')).text()).toBe('cached');
  });

  it('wrapFetchWithPolicies: attemptPolicy wraps each attempt, callPolicy each call, breakers() kept', async () => {
    server.script('/w/flaky', { status: 503 }, { status: 200 });
    let attemptRuns = 0;
    let callRuns = 0;
    const attemptPolicy = timeout(5_000, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    attemptPolicy.onSuccess(() => attemptRuns++);
    const callPolicy = timeout(10_000, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false });
    callPolicy.onSuccess(() => callRuns++);
    const fetch = wrapFetchWithPolicies(globalThis.fetch, { policy: fast, attemptPolicy, callPolicy });
    const response = await fetch(`${server.origin}/w/flaky`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('{}');
    expect([attemptRuns, callRuns]).toEqual([2, 1]);
    expect(fetch.breakers()).toMatchObject([{ key: `default ${server.origin}`, state: 'closed' }]);
  });

  it('passes the caller’s abort through the policy to fetch', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    const guarded = fetchWithPolicy(bulkhead(1), (_input, init) => {
      init?.signal?.throwIfAborted();
      return Promise.resolve(new Response());
    });
    await expect(guarded('https://api.example.com/', { signal: controller.signal })).rejects.toThrow();
  });
});

describe('breakwaterPolicy: the outcome a call ends on', () => {
  it('keeps its body when the breaker opens between two attempts', async () => {
    server.script('/p/opens', { status: 503, body: 'down for maintenance' });
    const policy = breakwaterPolicy({
      target: { method: 'GET', url: `${server.origin}/p/opens` },
      policy: { ...fast, breaker: { consecutiveFailures: 2 } },
    });
    const response = await policy.execute(({ signal }) => fetch(`${server.origin}/p/opens`, { signal }));
    expect(response.status).toBe(503);
    expect(server.count('/p/opens')).toBe(2);
    expect(await response.text()).toBe('down for maintenance');
  });
});
