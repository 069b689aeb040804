import { SpanKind } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { AttributeCache } from './telemetry/attributes.ts';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

// Methods the conventions do not list (a proxy forwarding its clients' methods sends any token; these
// are the ones Node's HTTP server answers).
const UNLISTED = ['PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT'];

it('unlisted methods: each span keeps http.request.method_original, the duration histograms one _OTHER series per outcome', async () => {
  const url = server.route('/dav', (_req, res) => res.writeHead(200).end());
  const exporter = new InMemorySpanExporter();
  const reader = new TestReader();
  const fetch = wrapFetch(globalThis.fetch, {
    telemetry: openTelemetry({
      tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
      meterProvider: new MeterProvider({ readers: [reader] }),
    }),
  });
  for (const method of UNLISTED) await (await fetch(url, { method })).arrayBuffer();

  const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
  expect(
    spans.map((s) => [
      s.name,
      s.attributes['http.request.method'],
      s.attributes['http.request.method_original'],
    ]),
  ).toEqual(UNLISTED.map((method) => ['HTTP', '_OTHER', method]));
  const { resourceMetrics } = await reader.collect();
  for (const name of ['http.client.request.duration', 'breakwater.call.duration']) {
    const metric = resourceMetrics.scopeMetrics
      .flatMap((s) => s.metrics)
      .find((m) => m.descriptor.name === name);
    const points = metric?.dataPoints ?? [];
    expect(
      points.map((p) => [p.attributes['http.request.method'], p.attributes['http.request.method_original']]),
    ).toEqual([['_OTHER', undefined]]);
    expect((points[0]?.value as { count: number } | undefined)?.count).toBe(UNLISTED.length);
  }
});

it('keeps one attribute set per key for every unlisted method: memory stays bounded by keys, not by methods', () => {
  const cache = new AttributeCache();
  const url = new URL('https://api.example.com/v1');
  const first = cache.of('default https://api.example.com', { method: 'X-1', url });
  for (let i = 2; i < 1000; i++) {
    expect(cache.of('default https://api.example.com', { method: `X-${i}`, url })).toBe(first);
  }
  expect(first.request).not.toHaveProperty('http.request.method_original');
});

it('knownMethods replaces the list: QUERY named and recorded as itself, a method left out of it is _OTHER', async () => {
  const url = server.route('/search', (_req, res) => res.writeHead(200).end());
  const exporter = new InMemorySpanExporter();
  const reader = new TestReader();
  const fetch = wrapFetch(globalThis.fetch, {
    telemetry: openTelemetry({
      knownMethods: ['GET', 'QUERY'],
      tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
      meterProvider: new MeterProvider({ readers: [reader] }),
    }),
  });
  await (await fetch(url, { method: 'QUERY', body: '{}' })).arrayBuffer();
  await (await fetch(url, { method: 'POST', body: '{}' })).arrayBuffer();

  const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
  expect(
    spans.map((s) => [
      s.name,
      s.attributes['http.request.method'],
      s.attributes['http.request.method_original'],
    ]),
  ).toEqual([
    ['QUERY', 'QUERY', undefined],
    ['HTTP', '_OTHER', 'POST'],
  ]);
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === 'http.client.request.duration');
  expect(metric?.dataPoints.map((p) => p.attributes['http.request.method'])).toEqual(['QUERY', '_OTHER']);
});
