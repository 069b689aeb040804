import { type PolicyInput, partnerCenter } from '@breakwater/policies';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, type RecordedCall } from './fake-fetch.test-util.ts';
import { listenOnLoopback } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_ = 'https://api.example.com/v1/items';

/** Answers call n (from 0) with `answers[n]` after its delay, or rejects with the signal's reason on abort. */
function timedFetch(
  ...answers: Array<{ afterMs: number; status?: number; body?: string; headers?: HeadersInit }>
) {
  const fetch = fakeFetch((call: RecordedCall) => {
    const n = fetch.calls.length - 1;
    const answer = answers[Math.min(n, answers.length - 1)] ?? { afterMs: 0 };
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          resolve(
            new Response(answer.body ?? `answer ${n + 1}`, {
              status: answer.status ?? 200,
              ...(answer.headers ? { headers: answer.headers } : {}),
            }),
          ),
        answer.afterMs,
      );
      call.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(call.signal?.reason);
      });
    });
  });
  return fetch;
}

function streamOf(text: string): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });
}

function hedgingFetch(
  fetch: FetchLike,
  policy: PolicyInput = {},
): { wrapped: ReturnType<typeof wrapFetch>; events: BreakwaterEvent[] } {
  const events: BreakwaterEvent[] = [];
  const wrapped = wrapFetch(fetch, {
    policy: { hedging: { enabled: true, delayMs: 1000 }, ...policy },
    onEvent: (event) => events.push(event),
    random: () => 0.5,
  });
  return { wrapped, events };
}

describe('hedging (fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-24T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a second attempt after delayMs; the first answer wins and the slow attempt is aborted', async () => {
    const fetch = timedFetch({ afterMs: 5000 }, { afterMs: 100 });
    const { wrapped, events } = hedgingFetch(fetch);
    let settled = false;
    const call = wrapped(URL_).finally(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(fetch.calls).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch.calls).toHaveLength(2);
    expect(events.filter((e) => e.type === 'hedge')).toEqual([expect.objectContaining({ attempt: 2 })]);
    await vi.advanceTimersByTimeAsync(100);
    expect(settled).toBe(true);
    const response = await call;
    expect(await response.text()).toBe('answer 2');
    expect(fetch.calls[0]?.signal?.aborted).toBe(true);
    expect(fetch.calls[1]?.signal?.aborted).toBe(false);
  });

  it('does not hedge an attempt that answers within delayMs', async () => {
    const fetch = timedFetch({ afterMs: 900 });
    const { wrapped, events } = hedgingFetch(fetch);
    const call = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await (await call).text()).toBe('answer 1');
    expect(fetch.calls).toHaveLength(1);
    expect(events.some((e) => e.type === 'hedge')).toBe(false);
  });

  it('starts up to maxHedgedAttempts extra attempts, delayMs apart', async () => {
    const fetch = timedFetch({ afterMs: 9000 }, { afterMs: 9000 }, { afterMs: 9000 }, { afterMs: 10 });
    const { wrapped } = hedgingFetch(fetch, {
      hedging: { enabled: true, delayMs: 1000, maxHedgedAttempts: 2 },
    });
    const call = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fetch.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fetch.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(3000);
    expect(fetch.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(await (await call).text()).toBe('answer 1');
    expect(fetch.calls.slice(1).every((c) => c.signal?.aborted)).toBe(true);
  });

  it('does not let a retryable answer win: the call waits for the hedged attempt', async () => {
    const fetch = timedFetch({ afterMs: 1500, status: 503 }, { afterMs: 800 });
    const { wrapped } = hedgingFetch(fetch);
    const call = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(1500);
    expect(fetch.calls).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(300);
    const response = await call;
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('answer 2');
  });

  it('releases the bodies of the answers that lost, before or after the winner', async () => {
    const released: string[] = [];
    const answer = (name: string, status: number, afterMs: number) => () =>
      new Promise<Response>((resolve) => {
        // Ignores its signal, as a fetch may once the response is on its way.
        const body = new ReadableStream({ cancel: () => void released.push(name) });
        setTimeout(() => resolve(new Response(body, { status })), afterMs);
      });
    const fetch = fakeFetch(
      answer('late 200', 200, 4000),
      answer('503', 503, 500),
      answer('winner', 200, 200),
    );
    const { wrapped } = hedgingFetch(fetch, {
      hedging: { enabled: true, delayMs: 1000, maxHedgedAttempts: 2 },
    });
    const call = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(2200);
    const response = await call;
    expect(fetch.calls).toHaveLength(3);
    expect(released).toEqual(['503']);
    await vi.advanceTimersByTimeAsync(1800);
    expect(released).toEqual(['503', 'late 200']);
    expect(response.bodyUsed).toBe(false);
  });

  it('does not hedge when the retry budget is spent', async () => {
    const fetch = timedFetch({ afterMs: 3000 });
    const { wrapped, events } = hedgingFetch(fetch, {
      hedging: { enabled: true, delayMs: 1000 },
      retryBudget: { minRetries: 0, ratio: 0.1 },
    });
    const call = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(3000);
    expect((await call).status).toBe(200);
    expect(fetch.calls).toHaveLength(1);
    expect(events.some((e) => e.type === 'hedge')).toBe(false);
  });

  it("a hedge the retry budget refuses takes no send slot: it does not consume the paced recovery's probe", async () => {
    const fetch = timedFetch(
      { afterMs: 5000 },
      { afterMs: 0, status: 429, headers: { 'Retry-After': '1' } },
      { afterMs: 0 },
    );
    const { wrapped, events } = hedgingFetch(fetch, {
      hedging: { enabled: true, delayMs: 2000 },
      retryBudget: { minRetries: 0, ratio: 0.1 },
    });
    const slow = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(100);
    // Closes the gate strictly until 1.1 s and arms the probe: the first call out after it goes alone.
    // A POST, so that it ends on its 429: a GET's retry would be paced by the gate, budget or not.
    const throttled = wrapped(URL_, { method: 'POST', body: '{}' });
    await vi.advanceTimersByTimeAsync(10);
    expect((await throttled).status).toBe(429);
    // The slow attempt's hedge is due at 2 s, after the cool-down: the budget (spent) refuses it.
    await vi.advanceTimersByTimeAsync(1900);
    const startedAt = Date.now();
    const next = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(10);
    // It goes as the probe at once, not held behind a probe that was never sent (up to 1 s).
    expect(fetch.calls).toHaveLength(3);
    expect(fetch.calls[2]?.at).toBe(startedAt);
    expect((await next).status).toBe(200);
    await vi.advanceTimersByTimeAsync(3000);
    expect((await slow).status).toBe(200);
    expect(events.some((e) => e.type === 'hedge')).toBe(false);
  });

  const neverHedged: Array<[string, () => RequestInit]> = [
    ['a request that is not idempotent', () => ({ method: 'POST', body: '{}' })],
    // A key makes a retry safe, not two copies at once: a server may answer the second 409 while the
    // first runs, or record the key only once the first completes (audit s24).
    [
      'a POST whose idempotency key makes its retries safe',
      () => ({ method: 'POST', body: '{}', headers: { 'Idempotency-Key': 'order-1' } }),
    ],
    [
      'a stream body, which one attempt at a time reads',
      () => ({ method: 'PUT', body: streamOf('{}'), duplex: 'half' }) as RequestInit,
    ],
  ];
  it.each(neverHedged)('never hedges %s', async (_name, init) => {
    const fetch = timedFetch({ afterMs: 3000 });
    const { wrapped } = hedgingFetch(fetch);
    const call = wrapped(URL_, init());
    await vi.advanceTimersByTimeAsync(3000);
    expect((await call).status).toBe(200);
    expect(fetch.calls).toHaveLength(1);
  });

  it('hedges a POST of a rule that says every request is idempotent (retry.idempotent)', async () => {
    const fetch = timedFetch({ afterMs: 3000 }, { afterMs: 10 });
    const { wrapped } = hedgingFetch(fetch, { retry: { idempotent: true } });
    const call = wrapped(URL_, { method: 'POST', body: '{}' });
    await vi.advanceTimersByTimeAsync(1010);
    expect((await call).status).toBe(200);
    expect(fetch.calls).toHaveLength(2);
  });

  it('never hedges a POST under the partnerCenter preset, whose generated MS-RequestId makes it retryable', async () => {
    const fetch = timedFetch({ afterMs: 3000 });
    const { wrapped } = hedgingFetch(fetch, partnerCenter({ hedging: { enabled: true, delayMs: 1000 } }));
    const call = wrapped('https://api.partnercenter.microsoft.com/v1/customers/42/orders', {
      method: 'POST',
      body: '{}',
    });
    await vi.advanceTimersByTimeAsync(3000);
    expect((await call).status).toBe(200);
    expect(fetch.calls).toHaveLength(1);
    expect(fetch.calls[0]?.headers.get('MS-RequestId')).not.toBeNull();
  });

  it('does not hedge once the breaker has opened', async () => {
    const fetch = timedFetch({ afterMs: 3000 }, { afterMs: 0, status: 500 });
    const { wrapped, events } = hedgingFetch(fetch, {
      hedging: { enabled: true, delayMs: 1000 },
      breaker: { consecutiveFailures: 1 },
    });
    const slow = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(100);
    const failing = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(10);
    expect((await failing).status).toBe(500);
    expect(events.some((e) => e.type === 'break')).toBe(true);
    await vi.advanceTimersByTimeAsync(2890);
    expect((await slow).status).toBe(200);
    expect(fetch.calls).toHaveLength(2);
    expect(events.some((e) => e.type === 'hedge')).toBe(false);
  });

  it('does not hedge while the throttle gate is closed', async () => {
    const fetch = timedFetch(
      { afterMs: 3000 },
      { afterMs: 0, status: 429, headers: { 'Retry-After': '5' } },
      { afterMs: 0 },
    );
    const { wrapped, events } = hedgingFetch(fetch);
    const slow = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(100);
    const throttled = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(10);
    expect(events.some((e) => e.type === 'throttled')).toBe(true);
    // The slow attempt passes its hedging delay (1000 ms) while the gate is closed (until 5.1 s).
    await vi.advanceTimersByTimeAsync(2890);
    expect((await slow).status).toBe(200);
    expect(fetch.calls).toHaveLength(2);
    expect(events.some((e) => e.type === 'hedge')).toBe(false);
    await vi.advanceTimersByTimeAsync(5000);
    expect((await throttled).status).toBe(200);
  });

  it('ends at the total deadline with every hedged attempt aborted', async () => {
    const fetch = timedFetch({ afterMs: 9000 });
    const { wrapped } = hedgingFetch(fetch, {
      hedging: { enabled: true, delayMs: 500 },
      timeout: { attemptMs: 800, totalMs: 800 },
    });
    const outcome = wrapped(URL_).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(2000);
    expect(await outcome).toMatchObject({ name: 'BreakwaterTimeoutError', scope: 'total' });
    expect(fetch.calls).toHaveLength(2);
    expect(fetch.calls.every((c) => c.signal?.aborted)).toBe(true);
  });

  it('is off by default', async () => {
    const fetch = timedFetch({ afterMs: 5000 });
    const call = wrapFetch(fetch)(URL_);
    await vi.advanceTimersByTimeAsync(5000);
    expect((await call).status).toBe(200);
    expect(fetch.calls).toHaveLength(1);
  });

  it('aborts every attempt when the caller aborts', async () => {
    const fetch = timedFetch({ afterMs: 9000 });
    const { wrapped } = hedgingFetch(fetch);
    const controller = new AbortController();
    const call = wrapped(URL_, { signal: controller.signal });
    const outcome = call.then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(1500);
    controller.abort(new Error('caller gave up'));
    await vi.advanceTimersByTimeAsync(0);
    expect(await outcome).toMatchObject({ message: 'caller gave up' });
    expect(fetch.calls).toHaveLength(2);
    expect(fetch.calls.every((c) => c.signal?.aborted)).toBe(true);
  });
});

describe('hedging against a real loopback server', () => {
  it('resolves with the fast second answer and closes the slow first request', async () => {
    let slowClosed: Promise<void> | undefined;
    let hits = 0;
    const server = await listenOnLoopback((_req, res) => {
      hits += 1;
      if (hits === 1) {
        slowClosed = new Promise((resolve) => res.once('close', () => resolve()));
        setTimeout(() => res.end('slow'), 5000).unref();
        return;
      }
      res.end('fast');
    });
    try {
      const wrapped = wrapFetch(undiciFetch, {
        policy: { hedging: { enabled: true, delayMs: 100 } },
      });
      const started = Date.now();
      const response = await wrapped(`${server.origin}/item`);
      expect(await response.text()).toBe('fast');
      expect(Date.now() - started).toBeLessThan(2000);
      expect(hits).toBe(2);
      await slowClosed;
    } finally {
      await server.close();
    }
  });
});
