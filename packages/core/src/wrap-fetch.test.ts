import { ConfigError } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BrokenCircuitError, TimeoutError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { connectionReset, fakeFetch, hangingFetch } from './fake-fetch.test-util.ts';
import { HttpError } from './http-error.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs a call to completion under fake timers, returning its result or rejection. */
async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  const result = promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  await vi.runAllTimersAsync();
  return result;
}

function recorder(): { events: BreakwaterEvent[]; onEvent: (e: BreakwaterEvent) => void } {
  const events: BreakwaterEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

describe('the default outcome table, end to end', () => {
  // Each row: what the upstream answers every time, the method, whether an idempotency key is sent,
  // how many attempts reach fetch, and how the breaker counts the call.
  const rows: {
    row: string;
    answer: () => { status: number; headers?: Record<string, string> } | Error;
    method: string;
    attempts: number;
    breakerFailures: number;
    status?: number;
  }[] = [
    {
      row: '2xx: return',
      answer: () => ({ status: 200 }),
      method: 'GET',
      attempts: 1,
      breakerFailures: 0,
      status: 200,
    },
    {
      row: '3xx: return',
      answer: () => ({ status: 304 }),
      method: 'GET',
      attempts: 1,
      breakerFailures: 0,
      status: 304,
    },
    ...[400, 401, 403, 404, 405, 406, 409, 412, 422].map((status) => ({
      row: `${status}: fail fast`,
      answer: () => ({ status }),
      method: 'GET',
      attempts: 1,
      breakerFailures: 0,
      status,
    })),
    {
      row: '408: retried (idempotent)',
      answer: () => ({ status: 408 }),
      method: 'GET',
      attempts: 4,
      breakerFailures: 0,
      status: 408,
    },
    {
      row: '408: not retried (POST)',
      answer: () => ({ status: 408 }),
      method: 'POST',
      attempts: 1,
      breakerFailures: 0,
      status: 408,
    },
    {
      row: '429 with Retry-After: retried',
      answer: () => ({ status: 429, headers: { 'retry-after': '1' } }),
      method: 'GET',
      attempts: 4,
      breakerFailures: 0,
      status: 429,
    },
    {
      row: '429 without delay: throttling backoff',
      answer: () => ({ status: 429 }),
      method: 'GET',
      attempts: 4,
      breakerFailures: 0,
      status: 429,
    },
    {
      row: '500: return at once, breaker failure',
      answer: () => ({ status: 500 }),
      method: 'GET',
      attempts: 1,
      breakerFailures: 1,
      status: 500,
    },
    {
      row: '501: return at once, ignored',
      answer: () => ({ status: 501 }),
      method: 'GET',
      attempts: 1,
      breakerFailures: 0,
      status: 501,
    },
    ...[502, 503, 504].flatMap((status) => [
      {
        row: `${status}: retried (idempotent)`,
        answer: () => ({ status }),
        method: 'GET',
        attempts: 4,
        breakerFailures: 4,
        status,
      },
      {
        row: `${status}: not retried (POST)`,
        answer: () => ({ status }),
        method: 'POST',
        attempts: 1,
        breakerFailures: 1,
        status,
      },
    ]),
    {
      row: 'network error: retried (idempotent)',
      answer: connectionReset,
      method: 'GET',
      attempts: 4,
      breakerFailures: 4,
    },
    {
      row: 'network error: not retried (POST)',
      answer: connectionReset,
      method: 'POST',
      attempts: 1,
      breakerFailures: 1,
    },
  ];

  for (const { row, answer, method, attempts, breakerFailures, status } of rows) {
    it(row, async () => {
      const fetch = fakeFetch(answer());
      // A breaker that cannot open within the row, so that every attempt is seen. The jitter fixed: a
      // 429's backoff draws grow (decorrelated), and about one draw in 150-300 put the third retry past
      // the 30 s deadline, so the row ended on 3 attempts, give-up `deadline` (as it should then).
      const wrapped = wrapFetch(fetch, {
        policy: { breaker: { consecutiveFailures: 100, minimumCalls: 100 } },
        random: () => 0.5,
      });
      const { value, error } = await settle(
        wrapped(URL_A, { method, ...(method === 'POST' ? { body: '{}' } : {}) }),
      );
      expect(fetch.calls).toHaveLength(attempts);
      if (status === undefined) {
        expect(error).toBeInstanceOf(TypeError);
      } else {
        expect(value?.status).toBe(status);
      }
      const [snapshot] = wrapped.breakers();
      expect(snapshot?.failures).toBe(breakerFailures);
      expect(snapshot?.state).toBe('closed');
    });
  }

  it('attempt timeout: retried, counted as a failure, and the last one surfaces as TimeoutError', async () => {
    const fetch = hangingFetch();
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 1_000, totalMs: 30_000 } } });
    const { error } = await settle(wrapped(URL_A));
    expect(fetch.calls).toHaveLength(4);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).scope).toBe('attempt');
    expect(wrapped.breakers()[0]?.failures).toBe(4);
  });

  it("caller's abort: the caller's reason, never retried, ignored by the breaker", async () => {
    const fetch = hangingFetch();
    const wrapped = wrapFetch(fetch);
    const controller = new AbortController();
    const call = wrapped(URL_A, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('user navigated away');
    controller.abort(reason);
    const error = await call;
    expect(error).toBe(reason);
    expect(fetch.calls).toHaveLength(1);
    expect(wrapped.breakers()[0]?.failures).toBe(0);
    expect(wrapped.breakers()[0]?.calls).toBe(0);
  });
});

describe('server-directed delay', () => {
  it('waits exactly Retry-After before the next attempt, to the millisecond', async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '2' } }, { status: 200 });
    const wrapped = wrapFetch(fetch);
    const call = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(fetch.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch.calls).toHaveLength(2);
    expect((await call).status).toBe(200);
    expect((fetch.calls[1]?.at ?? 0) - (fetch.calls[0]?.at ?? 0)).toBe(2_000);
  });

  it('honours retry-after-ms over Retry-After', async () => {
    const fetch = fakeFetch(
      { status: 429, headers: { 'retry-after-ms': '250', 'retry-after': '9' } },
      { status: 200 },
    );
    const wrapped = wrapFetch(fetch);
    const { value } = await settle(wrapped(URL_A));
    expect(value?.status).toBe(200);
    // Held at the gate its 429 closed, which ends a clock grain past the delay (throttle-gate.ts).
    expect((fetch.calls[1]?.at ?? 0) - (fetch.calls[0]?.at ?? 0)).toBe(250 + CLOCK_GRAIN_MS);
  });

  it('above the cap: no retry, the delay exposed in the event and on HttpError', async () => {
    const { events, onEvent } = recorder();
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '120' } });
    const wrapped = wrapFetch(fetch, { onEvent, throwHttpErrors: true });
    const { error } = await settle(wrapped(URL_A));
    expect(fetch.calls).toHaveLength(1);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).retryAfterMs).toBe(120_000);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({
      reason: 'retry-after-exceeds-cap',
      delayMs: 120_000,
    });
  });

  it('a retry whose wait would pass the total deadline is not started', async () => {
    const { events, onEvent } = recorder();
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '20' } }, { status: 200 });
    const wrapped = wrapFetch(fetch, { onEvent, policy: { timeout: { totalMs: 15_000, attemptMs: 5_000 } } });
    const { value } = await settle(wrapped(URL_A));
    expect(fetch.calls).toHaveLength(1);
    expect(value?.status).toBe(503);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'deadline' });
  });

  it('uses the backoff when the server gives no delay, jittered by the injected random source', async () => {
    const { events, onEvent } = recorder();
    const fetch = fakeFetch({ status: 503 }, { status: 503 }, { status: 200 });
    // With a random source that always draws 0, decorrelated jitter waits exactly its 200 ms base.
    const wrapped = wrapFetch(fetch, { onEvent, random: () => 0 });
    await settle(wrapped(URL_A));
    const retries = events.flatMap((e) => (e.type === 'retry' ? [e] : []));
    expect(retries.map((e) => [e.delayMs, e.delaySource])).toEqual([
      [200, 'backoff'],
      [200, 'backoff'],
    ]);
    expect((fetch.calls[1]?.at ?? 0) - (fetch.calls[0]?.at ?? 0)).toBe(200);
  });
});

describe('idempotency', () => {
  it('a POST without an idempotency key is sent exactly once, whatever the failure', async () => {
    for (const answer of [
      { status: 503 },
      { status: 502 },
      { status: 429 },
      { status: 408 },
      connectionReset(),
    ]) {
      const fetch = fakeFetch(answer);
      const wrapped = wrapFetch(fetch);
      await settle(wrapped(URL_A, { method: 'POST', body: 'x' }));
      expect(fetch.calls).toHaveLength(1);
    }
  });

  it('a POST with an Idempotency-Key is retried with the same key and body', async () => {
    const fetch = fakeFetch({ status: 503 }, connectionReset(), { status: 201 });
    const wrapped = wrapFetch(fetch);
    const { value } = await settle(
      wrapped(URL_A, { method: 'POST', body: '{"a":1}', headers: { 'Idempotency-Key': 'k-1' } }),
    );
    expect(value?.status).toBe(201);
    expect(fetch.calls.map((c) => c.headers.get('idempotency-key'))).toEqual(['k-1', 'k-1', 'k-1']);
    expect(fetch.calls.map((c) => c.body)).toEqual(['{"a":1}', '{"a":1}', '{"a":1}']);
  });

  it('an endpoint that opts in retries POST', async () => {
    const fetch = fakeFetch({ status: 503 }, { status: 200 });
    const wrapped = wrapFetch(fetch, {
      endpoints: [{ name: 'orders', match: 'POST */v1/orders', policy: { retry: { idempotent: true } } }],
    });
    await settle(wrapped('https://api.test/v1/orders', { method: 'POST', body: 'x' }));
    expect(fetch.calls).toHaveLength(2);
  });

  it('generated headers (Partner Center MS-RequestId) are created once per call and identical on every attempt', async () => {
    const fetch = fakeFetch({ status: 503 }, { status: 503 }, { status: 200 });
    const wrapped = wrapFetch(fetch, { policy: { generateHeaders: ['MS-RequestId', 'MS-CorrelationId'] } });
    await settle(wrapped(URL_A));
    const ids = fetch.calls.map((c) => c.headers.get('ms-requestid'));
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    await settle(wrapped(URL_A));
    expect(fetch.calls[3]?.headers.get('ms-requestid')).not.toBe(ids[0]);
  });

  it("a caller's own MS-RequestId is kept", async () => {
    const fetch = fakeFetch({ status: 200 });
    const wrapped = wrapFetch(fetch, { policy: { generateHeaders: ['MS-RequestId'] } });
    await settle(wrapped(URL_A, { headers: { 'MS-RequestId': 'mine' } }));
    expect(fetch.calls[0]?.headers.get('ms-requestid')).toBe('mine');
  });
});

describe('Partner Center payloads', () => {
  it('isRetryable: false in a retryable response stops retries', async () => {
    const body = JSON.stringify({ code: 1, description: 'no', isRetryable: false });
    const fetch = fakeFetch({ status: 503, headers: { 'content-type': 'application/json' }, body });
    const { events, onEvent } = recorder();
    const wrapped = wrapFetch(fetch, { onEvent });
    const { value } = await settle(wrapped(URL_A));
    expect(fetch.calls).toHaveLength(1);
    expect(value?.status).toBe(503);
    // The Response handed back is still readable in full.
    expect(await value?.json()).toMatchObject({ isRetryable: false });
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'not-retryable-payload' });
  });

  it('isRetryable: false is read whatever the content type, as HttpError reads it (errors audit s23)', async () => {
    const body = '{"code":"X","isRetryable":false}';
    for (const headers of [{ 'content-type': 'text/plain' }, {}]) {
      const fetch = fakeFetch({ status: 503, headers, body }, { status: 200 });
      const { value } = await settle(wrapFetch(fetch)(URL_A));
      expect(fetch.calls).toHaveLength(1);
      expect(value?.status).toBe(503);
    }
  });

  it('isRetryable: false sent before a list of details that passes the read bound still stops retries', async () => {
    const details = Array.from({ length: 5_000 }, (_, n) => `field${n} is invalid`);
    const body = JSON.stringify({ code: 'X', isRetryable: false, details });
    const fetch = fakeFetch(
      { status: 503, headers: { 'content-type': 'application/json' }, body },
      { status: 200 },
    );
    const { value } = await settle(wrapFetch(fetch)(URL_A));
    expect(body.length).toBeGreaterThan(65_536);
    expect(fetch.calls).toHaveLength(1);
    expect(value?.status).toBe(503);
  });

  it("a proxy's HTML 503 whose body stalls is retried after its backoff, not held by a read of that body", async () => {
    const stalled = (): Promise<Response> =>
      Promise.resolve(
        new Response(new ReadableStream({ start() {} }), {
          status: 503,
          headers: { 'content-type': 'text/html' },
        }),
      );
    const fetch = fakeFetch(stalled, { status: 200 });
    const wrapped = wrapFetch(fetch, {
      policy: { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 2 } } },
    });
    const call = wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(100);
    // Read for the veto, the body would hold the retry until the attempt's 10 s ran out.
    expect(fetch.calls).toHaveLength(2);
    expect((await call).status).toBe(200);
  });

  it('a body that is not JSON (a proxy HTML page) vetoes nothing: the 503 is retried', async () => {
    const body = '<html><body>503 Service Unavailable</body></html>';
    const fetch = fakeFetch({ status: 503, headers: { 'content-type': 'text/html' }, body }, { status: 200 });
    const { value } = await settle(wrapFetch(fetch)(URL_A));
    expect(fetch.calls).toHaveLength(2);
    expect(value?.status).toBe(200);
  });
});

describe('abort and deadlines', () => {
  it("abort during a backoff wait settles at once with the caller's reason and sends nothing more", async () => {
    const fetch = fakeFetch({ status: 503, headers: { 'retry-after': '10' } }, { status: 200 });
    const wrapped = wrapFetch(fetch);
    const controller = new AbortController();
    const call = wrapped(URL_A, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(100);
    const reason = new DOMException('stop', 'AbortError');
    controller.abort(reason);
    // No timer needs to run for the call to settle.
    expect(await call).toBe(reason);
    expect(fetch.calls).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an already aborted signal throws before anything is sent', async () => {
    const fetch = fakeFetch({ status: 200 });
    const wrapped = wrapFetch(fetch);
    const controller = new AbortController();
    controller.abort(new Error('early'));
    await expect(wrapped(URL_A, { signal: controller.signal })).rejects.toThrow('early');
    expect(fetch.calls).toHaveLength(0);
  });

  it('the total deadline aborts the in-flight attempt and is not retried', async () => {
    const { events, onEvent } = recorder();
    const fetch = hangingFetch();
    const wrapped = wrapFetch(fetch, { onEvent, policy: { timeout: { attemptMs: 5_000, totalMs: 5_000 } } });
    const call = settle(wrapped(URL_A));
    const { error } = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).scope).toBe('total');
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0]?.signal?.aborted).toBe(true);
    expect(events.some((e) => e.type === 'timeout' && e.scope === 'total')).toBe(true);
  });

  it('leaves no timer behind once a call settles', async () => {
    const fetch = fakeFetch({ status: 503 }, { status: 200 });
    const wrapped = wrapFetch(fetch);
    await settle(wrapped(URL_A));
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('throwHttpErrors', () => {
  it('rejects a final non-2xx with HttpError carrying attempts and endpoint', async () => {
    const fetch = fakeFetch({ status: 503 });
    const wrapped = wrapFetch(fetch, { throwHttpErrors: true, policy: { retry: { maxAttempts: 2 } } });
    const { error } = await settle(wrapped(`${URL_A}?token=secret`));
    expect(error).toBeInstanceOf(HttpError);
    const e = error as HttpError;
    expect(e.status).toBe(503);
    expect(e.attempts).toBe(2);
    expect(e.endpoint).toBe('default https://api.test');
    expect(e.message).not.toContain('secret');
  });

  it('resolves 2xx as usual', async () => {
    const wrapped = wrapFetch(fakeFetch({ status: 204 }), { throwHttpErrors: true });
    const { value } = await settle(wrapped(URL_A));
    expect(value?.status).toBe(204);
  });
});

describe('events never carry secrets', () => {
  it('redacts query values and never includes Authorization or cookies', async () => {
    const { events, onEvent } = recorder();
    const fetch = fakeFetch({ status: 503 }, { status: 200 });
    const wrapped = wrapFetch(fetch, { onEvent });
    await settle(
      wrapped('https://api.test/v1/x?access_token=abc123&x=1#frag-secret', {
        headers: { Authorization: 'Bearer sekrit', Cookie: 'session=cookie-value' },
      }),
    );
    const text = JSON.stringify(events);
    for (const secret of ['abc123', 'sekrit', 'cookie-value', 'frag-secret'])
      expect(text).not.toContain(secret);
    expect(events.map((e) => e.type)).toEqual(['attempt', 'retry', 'attempt']);
  });

  it('a throwing listener does not change the outcome', async () => {
    const wrapped = wrapFetch(fakeFetch({ status: 200 }), {
      onEvent: () => {
        throw new Error('listener bug');
      },
    });
    const { value } = await settle(wrapped(URL_A));
    expect(value?.status).toBe(200);
  });
});

describe('options validation', () => {
  it('rejects unknown options and bad values with the path', () => {
    const fetch = fakeFetch({ status: 200 });
    expect(() => wrapFetch(fetch, { retries: 3 } as never)).toThrow(ConfigError);
    expect(() => wrapFetch(fetch, { maxEndpoints: 0 })).toThrow(/maxEndpoints/);
    expect(() => wrapFetch(fetch, { policy: { retry: { maxAttempts: 0 } } })).toThrow(
      /policy\.retry\.maxAttempts/,
    );
    expect(() => wrapFetch('nope' as never)).toThrow(TypeError);
  });
});

describe('BrokenCircuitError', () => {
  it('is thrown at once when the breaker is open, without calling fetch', async () => {
    const fetch = fakeFetch({ status: 500 });
    const wrapped = wrapFetch(fetch);
    for (let i = 0; i < 5; i++) await settle(wrapped(URL_A));
    expect(wrapped.breakers()[0]?.state).toBe('open');
    const { error } = await settle(wrapped(URL_A));
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(fetch.calls).toHaveLength(5);
  });
});
