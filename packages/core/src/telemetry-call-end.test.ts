/**
 * `TelemetryHooks.callEnded`: called by the wrapped fetch once per observed call, after its last
 * attempt, with the call's start as the wrapped fetch read it and its end (or its error); and
 * `openTelemetry`'s `breakwater.call.duration` runs from that start.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { describe, expect, it } from 'vitest';
import type { CallEnd, Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';

interface Ended {
  readonly key: string;
  readonly startedAt: number;
  readonly end: CallEnd | undefined;
  readonly error: unknown;
}

/** A telemetry that keeps each attempt's start and each call's end. */
function recording() {
  const attemptsAt: number[] = [];
  const ended: Ended[] = [];
  const hooks: TelemetryHooks = {
    event: () => {},
    attempt: (_key, _request, _attempt, startedAt) => {
      attemptsAt.push(startedAt ?? Number.NaN);
      return () => {};
    },
    gateWait: (_key, pass) => pass,
    callEnded: (key, _request, startedAt, end, error) => ended.push({ key, startedAt, end, error }),
  };
  const telemetry: Telemetry = { bind: () => hooks };
  return { telemetry, attemptsAt, ended };
}

describe('TelemetryHooks.callEnded', () => {
  it('a call that answers: once, with its attempts and Response, started before its first attempt', async () => {
    const { telemetry, attemptsAt, ended } = recording();
    let n = 0;
    const fetch = async () => new Response('', { status: n++ === 0 ? 503 : 200 });
    const wrapped = wrapFetch(fetch, {
      telemetry,
      policy: { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 1 } } },
    });
    const before = performance.now();
    const response = await wrapped(URL_A);
    expect(response.status).toBe(200);
    expect(ended).toHaveLength(1);
    const [call] = ended;
    expect(call?.key).toBe('default https://api.test');
    expect(call?.end?.attempts).toBe(2);
    expect(call?.end?.result.response).toBe(response);
    expect(call?.error).toBeUndefined();
    expect(call?.startedAt).toBeGreaterThanOrEqual(before);
    expect(call?.startedAt).toBeLessThanOrEqual(attemptsAt[0] as number);
  });

  it("a call whose fetch fails: once, with the failure in its end's result", async () => {
    const { telemetry, ended } = recording();
    const failure = new TypeError('fetch failed');
    const wrapped = wrapFetch(
      async () => {
        throw failure;
      },
      { telemetry, policy: { retry: { maxAttempts: 1 } } },
    );
    await expect(wrapped(URL_A)).rejects.toBe(failure);
    expect(ended).toHaveLength(1);
    expect(ended[0]?.end?.attempts).toBe(1);
    expect(ended[0]?.end?.result.error).toBe(failure);
  });

  it('a call its caller aborts: once, with no end and the error its caller gets', async () => {
    const { telemetry, ended } = recording();
    const hanging = (_input: unknown, init?: RequestInit) =>
      new Promise<Response>((_resolve, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason));
      });
    const wrapped = wrapFetch(hanging, { telemetry });
    const controller = new AbortController();
    const call = wrapped(URL_A, { signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    const thrown = await call.catch((error: unknown) => error);
    expect((thrown as Error).name).toBe('AbortError');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.end).toBeUndefined();
    expect(ended[0]?.error).toBe(thrown);
  });
});

describe("openTelemetry's callEnded", () => {
  function hooks() {
    const reader = new TestReader();
    const bound = openTelemetry({ meterProvider: new MeterProvider({ readers: [reader] }) }).bind(() => []);
    const request = { method: 'GET', url: new URL('https://api.example.test/v1/orders'), attempts: 2 };
    return { bound, reader, request };
  }

  /** `breakwater.call.duration`'s points: sum (s), attempts and error.type. */
  async function callPoints(reader: TestReader) {
    const { resourceMetrics } = await reader.collect();
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === 'breakwater.call.duration');
    return (metric?.dataPoints ?? []).map((p) => ({
      seconds: (p.value as { sum: number }).sum,
      attempts: p.attributes['breakwater.attempts'],
      errorType: p.attributes['error.type'],
    }));
  }

  it("a call's duration runs from the start the wrapped fetch gives", async () => {
    const { bound, reader, request } = hooks();
    const end = { attempts: 1, result: { response: { status: 200 } } };
    bound.callEnded('orders https://api.example.test', request, performance.now() - 2000, end);
    const [point] = await callPoints(reader);
    expect(point?.seconds).toBeGreaterThanOrEqual(2);
    expect(point?.attempts).toBe(1);
    expect(point?.errorType).toBeUndefined();
  });

  it("a rejected call counts the attempts its error says, else the request's", async () => {
    const { bound, reader, request } = hooks();
    const key = 'orders https://api.example.test';
    bound.callEnded(
      key,
      request,
      performance.now(),
      undefined,
      Object.assign(new Error('x'), { attempts: 3 }),
    );
    bound.callEnded(key, request, performance.now(), undefined, null);
    const points = await callPoints(reader);
    expect(points.map((p) => [p.attempts, p.errorType])).toEqual([
      [3, 'Error'],
      [2, '_OTHER'],
    ]);
  });
});

describe('a callEnded hook that throws', () => {
  /** Hooks whose callEnded throws; the attempt hook records nothing. */
  const throwing: Telemetry = {
    bind: () => ({
      event: () => {},
      attempt: () => () => {},
      gateWait: (_key, pass) => pass,
      callEnded: () => {
        throw new Error('hook broken');
      },
    }),
  };

  it('changes nothing of a call that answers: its Response is handed back, readable', async () => {
    const wrapped = wrapFetch(async () => new Response('ok'), { telemetry: throwing });
    const response = await wrapped(URL_A);
    expect(await response.text()).toBe('ok');
  });

  it('changes nothing of a call that fails: it rejects with its own error', async () => {
    const wrapped = wrapFetch(
      async () => {
        throw new TypeError('fetch failed');
      },
      { telemetry: throwing, policy: { retry: { maxAttempts: 1 } } },
    );
    await expect(wrapped(URL_A)).rejects.toThrow('fetch failed');
  });
});
