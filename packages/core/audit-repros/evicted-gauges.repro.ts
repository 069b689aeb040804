/**
 * Finding (upstream, @opentelemetry/sdk-metrics 3.1.1): under cumulative temporality (every pull
 * reader, the Prometheus exporter included) the SDK keeps exporting the last value of every attribute
 * set an observable callback ever reported. breakwater's gauges observe only the live endpoint keys,
 * but a key evicted past `maxEndpoints` stays in every export with its last state, forever: the
 * series are bounded by every key ever seen, not by `maxEndpoints` (README, Metrics: "per live endpoint
 * key"). The SDK spec says it SHOULD NOT export a set not observed in the last callback. A reader
 * with delta temporality exports the live keys only (checked); the README says so since audit s23.
 * Nothing in breakwater can remove a series from the SDK: for upstream, or a README line only.
 */
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { expect, it } from 'vitest';
import { listenOnLoopback } from '../src/local-server.test-util.ts';
import { openTelemetry } from '../src/telemetry.ts';
import { wrapFetch } from '../src/wrap-fetch.ts';

class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

async function stateKeys(reader: TestReader): Promise<unknown[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === 'breakwater.breaker.state');
  return (metric?.dataPoints ?? []).map((p) => p.attributes['breakwater.endpoint.key']).sort();
}

it('the state gauge of a key evicted past maxEndpoints is no longer exported', async () => {
  const servers = await Promise.all([0, 1, 2, 3].map(() => listenOnLoopback((_req, res) => res.end('ok'))));
  const reader = new TestReader();
  const fetch = wrapFetch(globalThis.fetch, {
    maxEndpoints: 2,
    telemetry: openTelemetry({ meterProvider: new MeterProvider({ readers: [reader] }) }),
  });
  try {
    for (const { origin } of servers) {
      await (await fetch(origin)).text();
      await stateKeys(reader);
    }
    const live = fetch.breakers().map((b) => b.key);
    expect(live).toHaveLength(2);
    expect(await stateKeys(reader)).toEqual(live.sort());
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});
