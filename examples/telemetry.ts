/**
 * The OpenTelemetry recipe: the SDK's MeterProvider read by the Prometheus exporter (served on a
 * loopback port chosen by the system) and a TracerProvider, handed to `openTelemetry()`. A flaky
 * endpoint is retried and a failing one opens its breaker; the scrape shows breakwater's instruments
 * and the trace one span per attempt.
 *
 * Run: node --conditions=@breakwater/source examples/telemetry.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { wrapFetch } from '@breakwater/core';
import { openTelemetry } from '@breakwater/core/telemetry';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { seededRandom, startUpstream } from './upstream.ts';

const upstream = await startUpstream([
  {
    name: 'customers',
    path: '/v1/customers',
    phases: [{ at: 0, label: 'flaky', faults: [{ p: 0.3, status: 503 }] }],
  },
  { name: 'orders', path: '/v1/orders', phases: [{ at: 0, label: 'outage', down: true, status: 500 }] },
]);

// The exporter's own server would take a fixed port (9464); here it answers on an ephemeral one.
const prometheus = new PrometheusExporter({ preventServerStart: true });
const scrapeServer = createServer((req, res) => prometheus.getMetricsRequestHandler(req, res));
await new Promise<void>((resolve) => scrapeServer.listen(0, '127.0.0.1', resolve));
const scrapeUrl = `http://127.0.0.1:${(scrapeServer.address() as AddressInfo).port}/metrics`;

const meterProvider = new MeterProvider({ readers: [prometheus] });
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });

const api = wrapFetch(fetch, {
  endpoints: [
    { name: 'customers', match: 'GET */v1/customers' },
    { name: 'orders', match: '* */v1/orders', policy: { breaker: { consecutiveFailures: 3 } } },
  ],
  policy: { retry: { backoff: { initialDelayMs: 5, maxDelayMs: 20 } } },
  random: seededRandom(7),
  telemetry: openTelemetry({ meterProvider, tracerProvider }),
});

try {
  let ok = 0;
  for (let i = 0; i < 10; i++) if ((await api(`${upstream.origin}/v1/customers?page=${i}`)).ok) ok++;
  console.log(`customers: ${ok}/10 succeeded`);
  for (let i = 0; i < 4; i++) {
    await api(`${upstream.origin}/v1/orders`, { method: 'POST' }).catch((error: Error) => {
      console.log(`orders: ${error.name}`);
    });
  }

  await tracerProvider.forceFlush();
  const resent = spans
    .getFinishedSpans()
    .filter((s) => s.attributes['http.request.resend_count'] !== undefined);
  console.log(`spans: ${spans.getFinishedSpans().length} attempts, ${resent.length} of them resends`);

  // What Prometheus would scrape: breakwater's series and the attempt counts of the semconv histogram.
  const scrape = await (await fetch(scrapeUrl)).text();
  for (const line of scrape.split('\n')) {
    if (/^(breakwater_events|breakwater_breaker_state|http_client_request_duration_count)/.test(line)) {
      const ports = line.replace(/server_port="\d+"/, 'server_port="<port>"').replace(/:\d+"/, ':<port>"');
      console.log(ports.replace(/,?otel_scope_name="[^"]*"/, ''));
    }
  }
} finally {
  await meterProvider.shutdown();
  await tracerProvider.shutdown();
  scrapeServer.close();
  await upstream.close();
}
