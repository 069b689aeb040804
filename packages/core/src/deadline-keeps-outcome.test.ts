import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { READ_AHEAD_BYTES } from './body-reads.ts';
import { TimeoutError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, hang, settleOnFakeTime } from './fake-fetch.test-util.ts';
import { HttpError } from './http-error.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

/** A 503 that asks for 50 ms (the time its body is read in), answered `ms` after it was sent, with `body`. */
const slow503 = (ms: number, body: string) => (): Promise<Response> =>
  new Promise((resolve) =>
    setTimeout(() => resolve(new Response(body, { status: 503, headers: { 'retry-after-ms': '50' } })), ms),
  );

describe("a retry cut by the call's deadline (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-27T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends the call on the outcome it had, whole, with a give-up, rather than a timeout error', async () => {
    // The first answer takes 800 ms of the 1 s deadline: the retry has 150 ms, and hangs.
    const fetch = fakeFetch(slow503(800, 'busy, try later'), hang);
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { attemptMs: 1_000, totalMs: 1_000 } },
      onEvent: (event) => events.push(event),
    });
    const response = (await settleOnFakeTime(wrapped(URL_A))) as Response;
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after-ms')).toBe('50');
    expect(await response.text()).toBe('busy, try later');
    expect(fetch.calls).toHaveLength(2);
    expect(events.find((event) => event.type === 'give-up')).toMatchObject({
      reason: 'deadline',
      attempts: 2,
    });
    expect(events.some((event) => event.type === 'timeout')).toBe(false);
  });

  it('with throwHttpErrors, rejects with the HttpError of that outcome', async () => {
    const fetch = fakeFetch(slow503(800, 'busy'), hang);
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { attemptMs: 1_000, totalMs: 1_000 } },
      throwHttpErrors: true,
    });
    const error = await settleOnFakeTime(wrapped(URL_A));
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(503);
  });

  it('still fails with the timeout when the outcome it had is not in memory whole (a body past the read-ahead)', async () => {
    const fetch = fakeFetch(slow503(800, 'x'.repeat(READ_AHEAD_BYTES + 1_024)), hang);
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 1_000, totalMs: 1_000 } } });
    const error = await settleOnFakeTime(wrapped(URL_A));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).scope).toBe('total');
  });
});

describe('a retry cut by the deadline after a body still arriving (review s25, fake timers)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-11-27T12:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A 503 answered at 800 ms whose body sends one chunk, and the rest 500 ms later. */
  const trickling503 = (): Promise<Response> =>
    new Promise((resolve) =>
      setTimeout(() => {
        const encoder = new TextEncoder();
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(encoder.encode('busy, '));
            setTimeout(() => {
              try {
                controller.enqueue(encoder.encode('try later'));
                controller.close();
              } catch {
                // Cancelled meanwhile.
              }
            }, 500);
          },
        });
        // Not JSON: no payload veto reads it before the retry.
        const headers = { 'retry-after-ms': '50', 'content-type': 'text/html' };
        resolve(new Response(body, { status: 503, headers }));
      }, 800),
    );

  it('fails with the timeout rather than hand back the 503 whose body the retry cancelled', async () => {
    const fetch = fakeFetch(trickling503, hang);
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 1_000, totalMs: 1_000 } } });
    const outcome = await settleOnFakeTime(wrapped(URL_A));
    expect(outcome).toBeInstanceOf(TimeoutError);
  });

  it('a caller that aborts as the cut retry ends gets its abort, not the kept outcome', async () => {
    const fetch = fakeFetch(slow503(800, 'busy'), hang);
    const controller = new AbortController();
    const wrapped = wrapFetch(fetch, {
      policy: { timeout: { attemptMs: 1_000, totalMs: 1_000 } },
      onEvent: (event) => {
        if (event.type === 'attempt' && event.attempt === 2) controller.abort(new Error('caller gave up'));
      },
    });
    const outcome = await settleOnFakeTime(wrapped(URL_A, { signal: controller.signal }));
    expect((outcome as Error).message).toBe('caller gave up');
  });
});
