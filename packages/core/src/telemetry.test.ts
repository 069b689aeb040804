import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { ConfigError } from '@breakwater/policies';
import {
  type Attributes,
  context,
  type MeterProvider as MeterProviderApi,
  metrics,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { BrokenCircuitError, ThrottledError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { fleetStore } from './store.test-util.ts';
import { TestReader } from './telemetry.test-util.ts';
import { channelName, openTelemetry } from './telemetry.ts';
import { type WrapFetchOptions, wrapFetch } from './wrap-fetch.ts';

const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } } } as const;

let server: RoutedServer;
let contextManager: AsyncLocalStorageContextManager;
let exporter: InMemorySpanExporter;
let tracerProvider: TracerProvider;
let reader: TestReader;
let meterProvider: MeterProvider;

beforeAll(async () => {
  server = await startRoutedServer();
  contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(async () => {
  context.disable();
  await server.close();
});
afterEach(() => server.reset());

/** A wrapped fetch with a fresh SDK (tracer and meter providers with in-memory exporters). */
function instrumented(options: WrapFetchOptions = {}) {
  exporter = new InMemorySpanExporter();
  tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  reader = new TestReader();
  meterProvider = new MeterProvider({ readers: [reader] });
  return wrapFetch(globalThis.fetch, {
    policy: fast,
    ...options,
    telemetry: openTelemetry({ tracerProvider, meterProvider }),
  });
}

/** Runs `fn` inside a recording span of the caller's, and returns that span (ended) with the result. */
async function inCallerSpan<T>(
  fn: () => T | Promise<T>,
): Promise<{ caller: ReadableSpan; result: T | unknown }> {
  const tracer = tracerProvider.getTracer('caller');
  let result: T | unknown;
  await context.with(ROOT_CONTEXT, () =>
    tracer.startActiveSpan('caller', async (span) => {
      try {
        result = await fn();
      } catch (error) {
        result = error;
      }
      span.end();
    }),
  );
  await tracerProvider.forceFlush();
  const caller = exporter.getFinishedSpans().find((s) => s.name === 'caller');
  if (!caller) throw new Error('no caller span');
  return { caller, result };
}

const attemptSpans = () => exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);

async function metricsByName(): Promise<Map<string, MetricData>> {
  const { resourceMetrics } = await reader.collect();
  return new Map(
    resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics).map((m) => [m.descriptor.name, m]),
  );
}

function points(metric: MetricData | undefined) {
  return (metric?.dataPoints ?? []) as { attributes: Record<string, unknown>; value: unknown }[];
}

/** The `breakwater.events` counter's value per `name/reason`. */
async function eventCounts(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of points((await metricsByName()).get('breakwater.events'))) {
    const reason = p.attributes['breakwater.event.reason'];
    out[`${p.attributes['breakwater.event.name']}${reason === undefined ? '' : `/${reason}`}`] =
      p.value as number;
  }
  return out;
}

describe('OpenTelemetry traces', () => {
  it('a success: one CLIENT span named by its method, child of the caller, semconv attributes, query values redacted', async () => {
    const url = server.route('/v1/customers', (_req, res) => res.end('{}'));
    const fetch = instrumented({ endpoints: [{ name: 'customers', match: 'GET */v1/customers' }] });
    const { caller } = await inCallerSpan(async () => (await fetch(`${url}?id=42`)).text());
    const [span, ...more] = attemptSpans();
    expect(more).toHaveLength(0);
    expect(span?.name).toBe('GET');
    expect(span?.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    expect(span?.spanContext().traceId).toBe(caller.spanContext().traceId);
    const port = Number(new URL(url).port);
    expect(span?.attributes).toEqual({
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'url.full': `${url}?id=REDACTED`,
      'breakwater.endpoint': 'customers',
      'http.response.status_code': 200,
    });
    expect(span?.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('a retried call: one span per attempt with http.request.resend_count, error.type, and the waits on the caller span', async () => {
    const url = server.route('/flaky', (_req, res, hit) => res.writeHead(hit < 3 ? 503 : 200).end());
    const fetch = instrumented();
    const { caller, result } = await inCallerSpan(() => fetch(url));
    expect((result as Response).status).toBe(200);
    const spans = attemptSpans();
    expect(spans.map((s) => s.attributes['http.request.resend_count'])).toEqual([undefined, 1, 2]);
    expect(spans.map((s) => s.attributes['error.type'])).toEqual(['503', '503', undefined]);
    expect(spans.map((s) => s.status.code)).toEqual([
      SpanStatusCode.ERROR,
      SpanStatusCode.ERROR,
      SpanStatusCode.UNSET,
    ]);
    for (const span of spans) expect(span.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    const waits = caller.events.filter((e) => e.name === 'breakwater.wait');
    expect(waits.map((e) => e.attributes?.['breakwater.wait.source'])).toEqual(['backoff', 'backoff']);
    expect(waits.map((e) => e.attributes?.['breakwater.attempt'])).toEqual([2, 3]);
    for (const wait of waits) expect(wait.attributes?.['breakwater.wait.delay_ms']).toBeTypeOf('number');
  });

  it('every attempt of a retried call redacts url.full: no query value or fragment reaches a span', async () => {
    const url = server.route('/flaky-query', (_req, res, hit) => res.writeHead(hit < 2 ? 503 : 200).end());
    const fetch = instrumented();
    await inCallerSpan(() => fetch(`${url}?token=s3cr3t&page=2#frag`));
    const spans = attemptSpans();
    expect(spans).toHaveLength(2);
    for (const span of spans) {
      expect(span.attributes['url.full']).toBe(`${url}?token=REDACTED&page=REDACTED`);
    }
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toMatch(/s3cr3t|frag/);
  });
});

describe('OpenTelemetry metrics', () => {
  it('http.client.request.duration per attempt and breakwater.call.duration per call, in seconds, with the rule name and never the URL', async () => {
    const url = server.route('/v1/orders/7', (_req, res, hit) => res.writeHead(hit === 1 ? 502 : 200).end());
    const fetch = instrumented({ endpoints: [{ name: 'orders', match: 'GET */v1/orders/:id' }] });
    await (await fetch(`${url}?secret=s3cr3t`)).text();
    const byName = await metricsByName();
    const attempt = byName.get('http.client.request.duration');
    expect(attempt?.descriptor.unit).toBe('s');
    const port = Number(new URL(url).port);
    const base = {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'breakwater.endpoint': 'orders',
    };
    expect(points(attempt).map((p) => [p.attributes, (p.value as { count: number }).count])).toEqual([
      [{ ...base, 'http.response.status_code': 502, 'error.type': '502' }, 1],
      [{ ...base, 'http.response.status_code': 200 }, 1],
    ]);
    const call = byName.get('breakwater.call.duration');
    expect(call?.descriptor.unit).toBe('s');
    expect(points(call).map((p) => p.attributes)).toEqual([
      { ...base, 'http.response.status_code': 200, 'breakwater.attempts': 2 },
    ]);
    const sum = (points(call)[0]?.value as { sum: number } | undefined)?.sum;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(5);
    expect(await eventCounts()).toEqual({ 'retry/transient-status': 1 });
  });

  it('a breaker opening: break and reject counted, the state gauge reads open (2) for the key, the refused call has 0 attempts', async () => {
    const url = server.route('/down', (_req, res) => res.writeHead(500).end());
    const fetch = instrumented({
      endpoints: [{ name: 'down', match: '* */down', policy: { breaker: { consecutiveFailures: 2 } } }],
    });
    await fetch(url);
    await fetch(url);
    const { caller, result } = await inCallerSpan(() => fetch(url));
    expect(result).toBeInstanceOf(BrokenCircuitError);
    expect(await eventCounts()).toEqual({ break: 1, 'reject/circuit-open': 1 });
    expect(caller.events.map((e) => [e.name, e.attributes?.['breakwater.event.reason']])).toEqual([
      ['breakwater.reject', 'circuit-open'],
    ]);
    const byName = await metricsByName();
    const key = `down ${server.origin}`;
    expect(points(byName.get('breakwater.breaker.state'))).toEqual([
      expect.objectContaining({
        attributes: { 'breakwater.endpoint': 'down', 'breakwater.endpoint.key': key },
        value: 2,
      }),
    ]);
    expect(points(byName.get('breakwater.gate.waiting'))).toEqual([expect.objectContaining({ value: 0 })]);
    expect(points(byName.get('breakwater.retry_budget.remaining'))).toEqual([
      expect.objectContaining({ value: expect.any(Number) }),
    ]);
    const refused = points(byName.get('breakwater.call.duration')).find(
      (p) => p.attributes['error.type'] === 'BrokenCircuitError',
    );
    expect(refused?.attributes['breakwater.attempts']).toBe(0);
  });

  it('an endpoint isolated by hand: the state gauge reads isolated (3) and the isolate event is counted', async () => {
    const url = server.route('/maintenance', (_req, res) => res.writeHead(200).end());
    const fetch = instrumented({ endpoints: [{ name: 'maintenance', match: '* */maintenance' }] });
    const key = `maintenance ${server.origin}`;
    fetch.isolate(key);
    await expect(fetch(url)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(await eventCounts()).toMatchObject({ isolate: 1, 'reject/isolated': 1 });
    const byName = await metricsByName();
    expect(points(byName.get('breakwater.breaker.state'))).toEqual([
      expect.objectContaining({
        attributes: expect.objectContaining({ 'breakwater.endpoint.key': key }),
        value: 3,
      }),
    ]);
  });

  it('a throttled call: throttled, the rate cut, give-up and reject counted; a call held at the gate gets a wait event with source gate', async () => {
    const url = server.route('/limited', (_req, res, hit) =>
      hit === 1 ? res.writeHead(429, { 'retry-after': '30' }).end() : res.end('ok'),
    );
    const fetch = instrumented({ policy: { timeout: { attemptMs: 1000, totalMs: 1000 } } });
    const first = await fetch(url);
    expect(first.status).toBe(429);
    const { result } = await inCallerSpan(() => fetch(url));
    expect(result).toBeInstanceOf(ThrottledError);
    expect(await eventCounts()).toEqual({
      throttled: 1,
      'rate-change/throttled': 1,
      'give-up/deadline': 1,
      'reject/throttled': 1,
    });

    // A 429 without a delay closes the gate for the throttling backoff: a call arriving meanwhile waits.
    const held = server.route('/held', (_req, res, hit) => res.writeHead(hit === 1 ? 429 : 200).end());
    let second: Promise<{ caller: ReadableSpan }> | undefined;
    const gated = instrumented({
      policy: { retry: { backoff: { throttleInitialDelayMs: 100, maxDelayMs: 200 } } },
      onEvent: (event) => {
        if (event.type === 'throttled') second = inCallerSpan(() => gated(held));
      },
    });
    await gated(held);
    const { caller } = await (second as Promise<{ caller: ReadableSpan }>);
    const wait = caller.events.find((e) => e.name === 'breakwater.wait');
    expect(wait?.attributes?.['breakwater.wait.source']).toBe('gate');
    expect(wait?.attributes?.['breakwater.wait.delay_ms']).toBeGreaterThanOrEqual(1);
  });
});

describe('the gate hold on the caller span', () => {
  const slowPass = async (held: boolean) => {
    // A pass that takes a while (a busy event loop) without the gate holding the call.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return { held, letsThrough: () => true };
  };
  const waits = (caller: { events: { name: string }[] }) =>
    caller.events.filter((e) => e.name === 'breakwater.wait').length;

  it('is recorded when the gate says it held the call, not when passing merely took time', async () => {
    instrumented(); // a fresh SDK: the providers and exporter below
    const hooks = openTelemetry({ tracerProvider, meterProvider }).bind(() => []);
    const notHeld = await inCallerSpan(() => hooks.gateWait('k', slowPass(false)));
    expect(waits(notHeld.caller)).toBe(0);
    exporter.reset();
    const held = await inCallerSpan(() => hooks.gateWait('k', slowPass(true)));
    expect(waits(held.caller)).toBe(1);
  });

  it("is not recorded for a 429's retry waiting its Retry-After at the gate: one wait, the server's", async () => {
    const url = server.route('/paced', (_req, res, hit) =>
      hit === 1 ? res.writeHead(429, { 'retry-after-ms': '100' }).end() : res.end('ok'),
    );
    const fetch = instrumented();
    const { caller, result } = await inCallerSpan(async () => (await fetch(url)).text());
    expect(result).toBe('ok');
    const sources = caller.events
      .filter((e) => e.name === 'breakwater.wait')
      .map((e) => e.attributes?.['breakwater.wait.source']);
    expect(sources).toEqual(['server']);
  });
});

describe('no secret in any span, span event or metric attribute', () => {
  it('Authorization, cookies, API keys and URL tokens stay out', async () => {
    const url = server.route('/secret', (_req, res, hit) => res.writeHead(hit === 1 ? 503 : 401).end());
    const fetch = instrumented({ onEvent: () => {} });
    await inCallerSpan(() =>
      fetch(`${url}?access_token=tok-SECRET-1&sig=SIG-SECRET-2#frag-SECRET-3`, {
        headers: {
          authorization: 'Bearer AUTH-SECRET-4',
          cookie: 'session=COOKIE-SECRET-5',
          'x-api-key': 'KEY-SECRET-6',
          'ocp-apim-subscription-key': 'KEY-SECRET-7',
        },
      }),
    );
    const everything = JSON.stringify({
      spans: exporter.getFinishedSpans().map((s) => ({ n: s.name, a: s.attributes, e: s.events })),
      metrics: [...(await metricsByName()).values()].map((m) => m.dataPoints.map((p) => p.attributes)),
    });
    expect(everything).toContain('access_token=REDACTED');
    expect(everything).not.toMatch(/SECRET|Bearer|session=/);
  });
});

describe('telemetry off or without an SDK', () => {
  it('openTelemetry() with no SDK registered: a retried call works as without it', async () => {
    const url = server.route('/plain', (_req, res, hit) => res.writeHead(hit === 1 ? 503 : 200).end());
    const fetch = wrapFetch(globalThis.fetch, { policy: fast, telemetry: openTelemetry() });
    expect((await fetch(url)).status).toBe(200);
  });

  it('follows the global tracer provider: a call after an SDK registers makes its span, though the first call ran without one', async () => {
    const url = server.route('/late-tracer', (_req, res) => res.writeHead(200).end());
    const fetch = wrapFetch(globalThis.fetch, { telemetry: openTelemetry() });
    expect((await fetch(url)).status).toBe(200);
    exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
    try {
      expect((await fetch(url)).status).toBe(200);
      expect(exporter.getFinishedSpans().map((s) => [s.name, s.kind])).toEqual([['GET', SpanKind.CLIENT]]);
    } finally {
      trace.disable();
    }
  });

  it('with no SDK behind the global provider, adds nothing to a caller span of a provider the app keeps to itself', async () => {
    const url = server.route('/own-provider', (_req, res, hit) => res.writeHead(hit < 2 ? 503 : 200).end());
    instrumented();
    const fetch = wrapFetch(globalThis.fetch, { policy: fast, telemetry: openTelemetry() });
    const { caller, result } = await inCallerSpan(() => fetch(url));
    expect((result as Response).status).toBe(200);
    // Not half of breakwater's telemetry (the waits without the attempts' spans): none of it.
    expect(attemptSpans()).toEqual([]);
    expect(caller.events).toEqual([]);
  });

  it('an abort during the call whose reason is null still rejects with that reason, metrics on', async () => {
    const url = server.route('/late', (_req, res) => {
      setTimeout(() => res.writeHead(200).end(), 500);
    });
    const fetch = instrumented();
    const controller = new AbortController();
    const call = fetch(url, { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort(null);
    const settled = await call.then(
      () => 'resolved',
      (reason: unknown) => reason,
    );
    expect(settled).toBeNull();
  });

  it('a provider that throws when first read leaves the calls working, unobserved', async () => {
    const url = server.route('/broken-provider', (_req, res) => res.writeHead(200).end());
    const broken = {
      getMeter: () => {
        throw new Error('meter provider broken');
      },
    };
    const fetch = wrapFetch(globalThis.fetch, { telemetry: openTelemetry({ meterProvider: broken }) });
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url)).status).toBe(200);
  });

  it('a telemetry option that is not openTelemetry()’s is refused, naming the option', () => {
    expect(() => wrapFetch(globalThis.fetch, { telemetry: {} as never })).toThrow(ConfigError);
    expect(() => wrapFetch(globalThis.fetch, { telemetry: {} as never })).toThrow(
      /telemetry: must be openTelemetry\(\)'s, got/,
    );
    expect(() => wrapFetch(globalThis.fetch, { telemetry: (() => {}) as never })).toThrow(ConfigError);
  });
});

describe('diagnostics_channel', () => {
  it('publishes every event on breakwater:<type>, without the telemetry option, only to subscribers', async () => {
    const url = server.route('/dc', (_req, res, hit) => res.writeHead(hit === 1 ? 503 : 200).end());
    const received: BreakwaterEvent[] = [];
    const onMessage = (message: unknown) => received.push(message as BreakwaterEvent);
    subscribe(channelName('attempt'), onMessage);
    subscribe(channelName('retry'), onMessage);
    try {
      const fetch = wrapFetch(globalThis.fetch, { policy: fast });
      expect((await fetch(`${url}?token=t0k`)).status).toBe(200);
    } finally {
      unsubscribe(channelName('attempt'), onMessage);
      unsubscribe(channelName('retry'), onMessage);
    }
    expect(channelName('retry')).toBe('breakwater:retry');
    expect(received.map((e) => e.type)).toEqual(['attempt', 'retry', 'attempt']);
    expect(received[0]).toMatchObject({ type: 'attempt', status: 503, url: `${url}?token=REDACTED` });
    expect(received[1]).toMatchObject({ type: 'retry', attempt: 2, delaySource: 'backoff' });
  });

  it('publishes the events of createEndpointBreakers (the p-retry and cockatiel adapters) too', async () => {
    const received: BreakwaterEvent[] = [];
    const onMessage = (message: unknown) => received.push(message as BreakwaterEvent);
    subscribe(channelName('break'), onMessage);
    subscribe(channelName('reject'), onMessage);
    try {
      const breakers = createEndpointBreakers({ policy: { breaker: { consecutiveFailures: 1 } } });
      const target = { method: 'GET', url: 'https://api.example.com/v1/status' };
      const failing = () => Promise.reject(Object.assign(new Error('down'), { status: 503 }));
      await expect(breakers.run(target, failing)).rejects.toThrow('down');
      await expect(breakers.run(target, failing)).rejects.toBeInstanceOf(BrokenCircuitError);
    } finally {
      unsubscribe(channelName('break'), onMessage);
      unsubscribe(channelName('reject'), onMessage);
    }
    expect(received.map((e) => e.type)).toEqual(['break', 'reject']);
    expect(received[0]?.key).toBe('default https://api.example.com');
  });
});

describe('the known gaps', () => {
  it('counts the rate changes and the store going down and up, the store events with no endpoint', async () => {
    const fleet = fleetStore();
    const fetch = instrumented({ store: fleet.instance() });
    const url = server.route('/rated', (_req, res, hit) => res.writeHead(hit === 1 ? 429 : 200).end());
    expect((await fetch(url)).status).toBe(200);
    fleet.setUp(false);
    fleet.setUp(true);
    const counted = points((await metricsByName()).get('breakwater.events'));
    expect(await eventCounts()).toMatchObject({ 'rate-change/throttled': 1, 'store-down': 1, 'store-up': 1 });
    expect(counted.find((p) => p.attributes['breakwater.event.name'] === 'store-down')?.attributes).toEqual({
      'breakwater.event.name': 'store-down',
    });
  });
  it('reads the global meter provider at the first call: an SDK registered after the wrapped fetch is built records', async () => {
    const url = server.route('/late-sdk', (_req, res) => res.writeHead(200).end());
    const fetch = wrapFetch(globalThis.fetch, { telemetry: openTelemetry() });
    reader = new TestReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    try {
      expect((await fetch(url)).status).toBe(200);
      const byName = await metricsByName();
      expect(points(byName.get('http.client.request.duration'))).toHaveLength(1);
      expect(points(byName.get('breakwater.breaker.state'))).toEqual([expect.objectContaining({ value: 0 })]);
    } finally {
      metrics.disable();
    }
  });

  it('hands the SDK one attribute object per endpoint, method and outcome, reused on every record', async () => {
    const recorded: Attributes[] = [];
    const sdk = new MeterProvider({ readers: [new TestReader()] });
    const spying: MeterProviderApi = {
      getMeter(name, version, opts) {
        const meter = sdk.getMeter(name, version, opts);
        return Object.assign(Object.create(meter), {
          createHistogram: (n: string, o: object) => {
            const histogram = meter.createHistogram(n, o);
            return {
              record(value: number, attributes: Attributes) {
                recorded.push(attributes);
                histogram.record(value, attributes);
              },
            };
          },
        });
      },
    };
    const url = server.route('/same', (_req, res) => res.writeHead(200).end());
    const fetch = wrapFetch(globalThis.fetch, { telemetry: openTelemetry({ meterProvider: spying }) });
    await fetch(url);
    await fetch(url);
    // Per call: the attempt's record, then the call's.
    expect(recorded).toHaveLength(4);
    expect(recorded[2]).toBe(recorded[0]);
    expect(recorded[3]).toBe(recorded[1]);
    expect(recorded[0]).not.toBe(recorded[1]);
  });
  it('createEndpointBreakers takes the same telemetry option: events counted, state gauge per key, bad values refused', async () => {
    instrumented(); // a fresh SDK: the providers and reader below
    const breakers = createEndpointBreakers({
      policy: { breaker: { consecutiveFailures: 1 } },
      telemetry: openTelemetry({ tracerProvider, meterProvider }),
    });
    const target = { method: 'GET', url: 'https://api.example.com/v1/status' };
    const failing = () => Promise.reject(Object.assign(new Error('down'), { status: 503 }));
    await expect(breakers.run(target, failing)).rejects.toThrow('down');
    const { caller, result } = await inCallerSpan(() => breakers.run(target, failing));
    expect(result).toBeInstanceOf(BrokenCircuitError);
    expect(await eventCounts()).toEqual({ break: 1, 'reject/circuit-open': 1 });
    expect(caller.events.map((e) => e.name)).toEqual(['breakwater.reject']);
    expect(points((await metricsByName()).get('breakwater.breaker.state'))).toEqual([
      expect.objectContaining({
        attributes: {
          'breakwater.endpoint': 'default',
          'breakwater.endpoint.key': 'default https://api.example.com',
        },
        value: 2,
      }),
    ]);
    expect(() => createEndpointBreakers({ telemetry: {} as never })).toThrow(
      /telemetry: must be openTelemetry\(\)'s, got/,
    );
  });
  it('injects no traceparent: the caller’s own propagation headers go out unchanged on every attempt', async () => {
    const seen: (string | undefined)[] = [];
    const traced = (path: string) =>
      server.route(path, (req, res, hit) => {
        seen.push(req.headers.traceparent as string | undefined);
        res.writeHead(hit === 1 ? 503 : 200).end();
      });
    const fetch = instrumented();
    propagation.setGlobalPropagator({
      inject: (ctx, carrier, setter) => {
        const span = trace.getSpanContext(ctx);
        if (span) setter.set(carrier, 'traceparent', `00-${span.traceId}-${span.spanId}-01`);
      },
      extract: (ctx) => ctx,
      fields: () => ['traceparent'],
    });
    try {
      await inCallerSpan(() => fetch(traced('/untraced')));
      expect(seen).toEqual([undefined, undefined]);
      exporter.reset();
      const url = traced('/traced');
      const headers: Record<string, string> = {};
      const { caller } = await inCallerSpan(async () => {
        propagation.inject(context.active(), headers);
        return fetch(url, { headers });
      });
      const own = `00-${caller.spanContext().traceId}-${caller.spanContext().spanId}-01`;
      expect(seen.slice(2)).toEqual([own, own]);
    } finally {
      propagation.disable();
    }
  });
});

describe("README's Telemetry section", () => {
  it('names every instrument, attribute, span event and counted event name these calls produce', async () => {
    const fleet = fleetStore();
    const fetch = instrumented({
      store: fleet.instance(),
      endpoints: [{ name: 'down', match: '* */all-down', policy: { breaker: { consecutiveFailures: 1 } } }],
    });
    const retried = server.route('/all-retried', (_req, res, hit) =>
      res.writeHead(hit === 1 ? 503 : 200).end(),
    );
    const limited = server.route('/all-limited', (_req, res, hit) =>
      res.writeHead(hit === 1 ? 429 : 200).end(),
    );
    const down = server.route('/all-down', (_req, res) => res.writeHead(500).end());
    await inCallerSpan(async () => {
      await fetch(`${retried}?page=2`, { method: 'PROPFIND' });
      await fetch(limited);
      await fetch(down);
      await fetch(down).catch(() => undefined);
    });
    fleet.setUp(false);
    fleet.setUp(true);
    const named = new Set<string>();
    for (const metric of (await metricsByName()).values()) {
      named.add(metric.descriptor.name);
      for (const point of points(metric)) {
        for (const key of Object.keys(point.attributes)) named.add(key);
        const event = point.attributes['breakwater.event.name'];
        if (typeof event === 'string') named.add(event);
      }
    }
    for (const span of exporter.getFinishedSpans()) {
      if (span.kind === SpanKind.CLIENT) for (const key of Object.keys(span.attributes)) named.add(key);
      for (const event of span.events) {
        named.add(event.name);
        for (const key of Object.keys(event.attributes ?? {})) named.add(key);
      }
    }
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(
      readme.indexOf('### Telemetry'),
      readme.indexOf('\n### ', readme.indexOf('### Telemetry') + 1),
    );
    const missing = [...named].filter((name) => !section.includes(`\`${name}\``));
    expect(named.size).toBeGreaterThan(30);
    expect(missing).toEqual([]);
  });
});
