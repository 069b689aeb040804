/**
 * A wrapped fetch deaf to its AbortSignal (a custom transport, an SDK's fetch, a test double that
 * never settles): the attempt timeout, the deadline and the caller's abort still end the call, as they
 * would with a fetch that honours the signal (telemetry audit, session 23).
 */
import { SpanKind } from '@opentelemetry/api';
import { MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CLOCK_TICK_MS } from './attempt-clock.ts';
import { BreakwaterTimeoutError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { hangingFetch } from './fake-fetch.test-util.ts';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import type { FetchLike } from './types.ts';
import { type WrapFetchOptions, wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

/** Never settles, and never reads its signal. */
const deaf: FetchLike = () => new Promise<Response>(() => {});

/** Reads its signal, as a real fetch's wrapper does, and then ignores it. */
const readsButIgnores: FetchLike = (_input, init) => {
  void init?.signal;
  return new Promise<Response>(() => {});
};

/** Settles `promise` into a value (its result or its error), without an unhandled rejection meanwhile. */
function settled<T>(promise: Promise<T>): { done: () => boolean; value: Promise<unknown> } {
  let done = false;
  const value = promise.then(
    (v) => {
      done = true;
      return v;
    },
    (e: unknown) => {
      done = true;
      return e;
    },
  );
  return { done: () => done, value };
}

/** The events of one call, without what varies with the timing (`at`, `durationMs`). */
function shapes(events: BreakwaterEvent[]): unknown[] {
  return events.map((event) => {
    const { at: _at, durationMs: _d, delayMs: _w, ...rest } = event as unknown as Record<string, unknown>;
    return rest;
  });
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-27T00:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a fetch deaf to its signal, under the attempt timeout', () => {
  it('rejects with BreakwaterTimeoutError (attempt) at the timeout, and the attempt span ends with error.type timeout', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const reader = new TestReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const fetch = wrapFetch(deaf, {
      policy: { timeout: { attemptMs: 50, totalMs: 150 }, retry: { maxAttempts: 1 } },
      telemetry: openTelemetry({ tracerProvider, meterProvider }),
    });
    const call = settled(fetch(URL_A));
    await vi.advanceTimersByTimeAsync(49);
    expect(call.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(call.done()).toBe(true);
    const error = await call.value;
    expect(error).toBeInstanceOf(BreakwaterTimeoutError);
    expect((error as BreakwaterTimeoutError).scope).toBe('attempt');
    expect((error as BreakwaterTimeoutError).timeoutMs).toBe(50);

    const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
    expect(spans.map((s) => s.attributes['error.type'])).toEqual(['timeout']);
    const { resourceMetrics } = await reader.collect();
    const metrics = new Map<string, MetricData>(
      resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]),
    );
    const points = (metrics.get('http.client.request.duration')?.dataPoints ?? []) as {
      attributes: Record<string, unknown>;
    }[];
    expect(points.map((p) => p.attributes['error.type'])).toEqual(['timeout']);
  });

  it('on the shared clock (1 s and more), ends within a tick of the timeout', async () => {
    const fetch = wrapFetch(deaf, { policy: { timeout: { attemptMs: 2_000 }, retry: { maxAttempts: 1 } } });
    const call = settled(fetch(URL_A));
    await vi.advanceTimersByTimeAsync(1_999);
    expect(call.done()).toBe(false);
    await vi.advanceTimersByTimeAsync(1 + CLOCK_TICK_MS);
    expect(await call.value).toBeInstanceOf(BreakwaterTimeoutError);
  });

  it('gives the same error, events and attempts as a fetch that honours the signal', async () => {
    const run = async (inner: FetchLike) => {
      const events: BreakwaterEvent[] = [];
      const options: WrapFetchOptions = {
        policy: { timeout: { attemptMs: 50, totalMs: 10_000 }, retry: { maxAttempts: 1 } },
        onEvent: (event) => events.push(event),
      };
      const call = settled(wrapFetch(inner, options)(URL_A));
      await vi.advanceTimersByTimeAsync(50);
      const error = (await call.value) as BreakwaterTimeoutError;
      return { name: error.name, scope: error.scope, attempts: error.attempts, events: shapes(events) };
    };
    const honouring = await run(hangingFetch());
    expect(honouring.events.map((e) => (e as { type: string }).type)).toContain('timeout');
    expect(await run(deaf)).toEqual(honouring);
    expect(await run(readsButIgnores)).toEqual(honouring);
  });
});

describe('a fetch deaf to its signal, with retries', () => {
  it('is retried after each attempt timeout and the call ends at the total deadline, as with an honouring fetch', async () => {
    const run = async (inner: FetchLike) => {
      const events: BreakwaterEvent[] = [];
      const fetch = wrapFetch(inner, {
        policy: {
          timeout: { attemptMs: 50, totalMs: 150 },
          retry: { maxAttempts: 10, backoff: { initialDelayMs: 10, maxDelayMs: 10 } },
        },
        random: () => 0.5,
        onEvent: (event) => events.push(event),
      });
      const call = settled(fetch(URL_A));
      await vi.advanceTimersByTimeAsync(149);
      const early = call.done();
      await vi.advanceTimersByTimeAsync(1);
      const error = (await call.value) as BreakwaterTimeoutError;
      return { early, done: call.done(), error, events: shapes(events) };
    };
    const honouring = await run(hangingFetch());
    const deafRun = await run(deaf);
    expect(deafRun.early).toBe(false);
    expect(deafRun.done).toBe(true);
    expect(deafRun.error).toBeInstanceOf(BreakwaterTimeoutError);
    expect(deafRun.error.scope).toBe('total');
    expect(deafRun.error.attempts).toBe(honouring.error.attempts);
    expect(deafRun.error.attempts).toBeGreaterThan(1);
    expect(deafRun.events).toEqual(honouring.events);
  });
});

describe("a fetch deaf to its signal, and the caller's abort", () => {
  for (const [name, inner] of [
    ['that read the signal', readsButIgnores],
    ['that never read it', deaf],
  ] as const) {
    it(`rejects with the caller's reason, a fetch ${name}`, async () => {
      // Another call first: a wrapped fetch that once read a signal makes the next ones at once.
      const fetch = wrapFetch(inner, {
        policy: { timeout: { attemptMs: 10_000 }, retry: { maxAttempts: 3 } },
      });
      const first = new AbortController();
      const warm = settled(fetch(URL_A, { signal: first.signal }));
      first.abort(new Error('first gave up'));
      await vi.advanceTimersByTimeAsync(CLOCK_TICK_MS);
      expect(warm.done()).toBe(true);

      const caller = new AbortController();
      const call = settled(fetch(URL_A, { signal: caller.signal }));
      await vi.advanceTimersByTimeAsync(500);
      const reason = new Error('caller gave up');
      caller.abort(reason);
      // A fetch that read the signal: at once; one that never did: at the clock's next tick.
      await vi.advanceTimersByTimeAsync(inner === deaf ? CLOCK_TICK_MS : 0);
      expect(call.done()).toBe(true);
      expect(await call.value).toBe(reason);
    });
  }

  it("records the caller's abort in the attempt span and event as for a fetch that honours the signal", async () => {
    const run = async (inner: FetchLike) => {
      const exporter = new InMemorySpanExporter();
      const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
      const events: BreakwaterEvent[] = [];
      const fetch = wrapFetch(inner, {
        policy: { timeout: { attemptMs: 10_000 } },
        telemetry: openTelemetry({ tracerProvider }),
        onEvent: (event) => events.push(event),
      });
      const caller = new AbortController();
      const call = settled(fetch(URL_A, { signal: caller.signal }));
      await vi.advanceTimersByTimeAsync(10);
      caller.abort(new Error('caller gave up'));
      await vi.advanceTimersByTimeAsync(0);
      await call.value;
      const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
      return {
        done: call.done(),
        spans: spans.map((s) => [s.attributes['error.type'], s.status.code]),
        events: shapes(events),
      };
    };
    const honouring = await run(hangingFetch());
    expect(honouring.spans).toHaveLength(1);
    expect(await run(readsButIgnores)).toEqual(honouring);
  });

  it('without WeakRef (Cloudflare Workers without enable_weak_ref), a fetch that read the signal is cut at the next tick', async () => {
    vi.stubGlobal('WeakRef', undefined);
    try {
      const fetch = wrapFetch(readsButIgnores, { policy: { timeout: { attemptMs: 10_000 } } });
      const caller = new AbortController();
      const call = settled(fetch(URL_A, { signal: caller.signal }));
      const reason = new Error('caller gave up');
      caller.abort(reason);
      await vi.advanceTimersByTimeAsync(CLOCK_TICK_MS);
      expect(call.done()).toBe(true);
      expect(await call.value).toBe(reason);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('the lazy path with a short timeout (its own timer) ends at that timeout, with the caller reason', async () => {
    const fetch = wrapFetch(deaf, { policy: { timeout: { attemptMs: 300 }, retry: { maxAttempts: 3 } } });
    const caller = new AbortController();
    const call = settled(fetch(URL_A, { signal: caller.signal }));
    const reason = new Error('caller gave up');
    caller.abort(reason);
    await vi.advanceTimersByTimeAsync(300);
    expect(call.done()).toBe(true);
    expect(await call.value).toBe(reason);
  });
});

describe('a fetch that answers after the attempt ended', () => {
  it("cancels the late Response's body and keeps the timeout", async () => {
    const cancelled = vi.fn();
    let answer: (response: Response) => void = () => {};
    const late: FetchLike = () =>
      new Promise<Response>((resolve) => {
        answer = resolve;
      });
    const fetch = wrapFetch(late, { policy: { timeout: { attemptMs: 50 }, retry: { maxAttempts: 1 } } });
    const call = settled(fetch(URL_A));
    await vi.advanceTimersByTimeAsync(50);
    expect(await call.value).toBeInstanceOf(BreakwaterTimeoutError);
    const body = new ReadableStream<Uint8Array>({ cancel: cancelled });
    answer(new Response(body));
    await vi.advanceTimersByTimeAsync(0);
    expect(cancelled).toHaveBeenCalledTimes(1);
  });

  it('ignores a late rejection', async () => {
    let fail: (error: unknown) => void = () => {};
    const late: FetchLike = () =>
      new Promise<Response>((_, reject) => {
        fail = reject;
      });
    const fetch = wrapFetch(late, { policy: { timeout: { attemptMs: 50 }, retry: { maxAttempts: 1 } } });
    const call = settled(fetch(URL_A));
    await vi.advanceTimersByTimeAsync(50);
    const error = await call.value;
    fail(new TypeError('fetch failed'));
    await vi.advanceTimersByTimeAsync(0);
    expect(error).toBeInstanceOf(BreakwaterTimeoutError);
  });
});

describe('a fetch deaf to its signal, behind a bulkhead', () => {
  it('gives its slot back at the timeout: the queued call is sent then', async () => {
    let sent = 0;
    const counting: FetchLike = () => {
      sent++;
      return new Promise<Response>(() => {});
    };
    const fetch = wrapFetch(counting, {
      policy: {
        timeout: { attemptMs: 50, totalMs: 1_000 },
        retry: { maxAttempts: 1 },
        bulkhead: { maxConcurrent: 1, maxQueued: 1 },
      },
    });
    const first = settled(fetch(URL_A));
    const second = settled(fetch(URL_A));
    await vi.advanceTimersByTimeAsync(50);
    expect(await first.value).toBeInstanceOf(BreakwaterTimeoutError);
    expect(sent).toBe(2);
    await vi.advanceTimersByTimeAsync(50);
    expect(await second.value).toBeInstanceOf(BreakwaterTimeoutError);
    expect(((await second.value) as BreakwaterTimeoutError).scope).toBe('attempt');
  });
});
