/**
 * A provider that throws is the application's to fix, and its calls go on unobserved by it; the other
 * provider, which works, still records: a broken meter provider must not cost the traces, nor a broken
 * tracer provider the metrics.
 */
import { SpanKind } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

const broken = (method: string) => ({
  [method]: () => {
    throw new Error(`${method} broken`);
  },
});

it('a meter provider that throws leaves the spans recorded', async () => {
  const url = server.route('/broken-meter', (_req, res) => res.writeHead(200).end());
  const exporter = new InMemorySpanExporter();
  const fetch = wrapFetch(globalThis.fetch, {
    telemetry: openTelemetry({
      meterProvider: broken('getMeter') as never,
      tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    }),
  });
  expect((await fetch(url)).status).toBe(200);
  expect(exporter.getFinishedSpans().map((s) => [s.name, s.kind])).toEqual([['GET', SpanKind.CLIENT]]);
});

it('a tracer provider that throws leaves the metrics recorded', async () => {
  const url = server.route('/broken-tracer', (_req, res) => res.writeHead(200).end());
  const reader = new TestReader();
  const fetch = wrapFetch(globalThis.fetch, {
    telemetry: openTelemetry({
      meterProvider: new MeterProvider({ readers: [reader] }),
      tracerProvider: broken('getTracer') as never,
    }),
  });
  expect((await fetch(url)).status).toBe(200);
  const { resourceMetrics } = await reader.collect();
  const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => m.descriptor.name);
  expect(names).toContain('http.client.request.duration');
});
