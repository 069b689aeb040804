import { inspect } from 'node:util';
import { MeterProvider, type MetricData } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import { type WrapFetchOptions, wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/** A wrapped fetch with `endpoints` and a fresh meter provider, and the reader to collect from. */
function instrumented(endpoints: NonNullable<WrapFetchOptions['endpoints']>) {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const fetch = wrapFetch(globalThis.fetch, { endpoints, telemetry: openTelemetry({ meterProvider }) });
  return { fetch, reader, meterProvider };
}

const GAUGES = ['breakwater.breaker.state', 'breakwater.gate.waiting', 'breakwater.retry_budget.remaining'];

async function gaugeKeys(reader: TestReader): Promise<{ keys: string[]; exported: MetricData[] }> {
  const { resourceMetrics } = await reader.collect();
  const exported = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .filter((m) => GAUGES.includes(m.descriptor.name));
  expect(exported.map((m) => m.descriptor.name).sort()).toEqual([...GAUGES].sort());
  const keys = exported.flatMap((m) =>
    m.dataPoints.map((p) => String(p.attributes['breakwater.endpoint.key'])),
  );
  return { keys: [...new Set(keys)].sort(), exported };
}

it("the gauges' breakwater.endpoint.key carries no keyHeader value: a keyed hash per value, stable, one series per partition", async () => {
  const url = server.route('/v1/orders', (_req, res) => res.end('{}'));
  const { fetch, reader, meterProvider } = instrumented([
    { name: 'orders', match: 'GET */v1/orders', keyHeader: 'X-Tenant' },
  ]);
  // A tenant id and an e-mail enter the endpoint key verbatim (short plain values), a long value as an
  // unkeyed FNV digest, whose few guessable inputs a reader could try offline.
  const values = ['acme-corp', 'jane.doe@example.com', `${'x'.repeat(70)} long tenant`];
  for (const value of values) await (await fetch(url, { headers: { 'x-tenant': value } })).text();
  await (await fetch(url)).text();
  const live = fetch.breakers().map((b) => b.key);
  expect(live.some((key) => key.includes('jane.doe@example.com'))).toBe(true);

  const first = await gaugeKeys(reader);
  const dump = inspect(first.exported, { depth: null }) + JSON.stringify(first.exported);
  for (const value of values) expect(dump).not.toContain(value);
  expect(dump).not.toMatch(/x-tenant=#/);
  const prefix = `orders ${server.origin} x-tenant=`;
  // The call without the header keeps its empty partition; each value gets its own digest.
  expect(first.keys).toContain(prefix);
  const hashed = first.keys.filter((key) => key !== prefix);
  expect(hashed).toHaveLength(values.length);
  for (const key of hashed) expect(key).toMatch(/^orders \S+ x-tenant=hmac:[0-9a-f]{16}$/);
  for (const key of first.keys) expect(key.startsWith(prefix)).toBe(true);

  // The same value keeps its series: a second call and a second collection give the same keys.
  await (await fetch(url, { headers: { 'x-tenant': 'acme-corp' } })).text();
  expect((await gaugeKeys(reader)).keys).toEqual(first.keys);
  await meterProvider.shutdown();
});

it('a key without a header partition is exported as it is', async () => {
  const url = server.route('/v1/plain', (_req, res) => res.end('{}'));
  const { fetch, reader, meterProvider } = instrumented([{ name: 'plain', match: 'GET */v1/plain' }]);
  await (await fetch(url)).text();
  expect((await gaugeKeys(reader)).keys).toEqual([`plain ${server.origin}`]);
  await meterProvider.shutdown();
});

it("a credential keyHeader's key, already a keyed hash, is exported as fetch.breakers() shows it", async () => {
  const url = server.route('/v1/billing', (_req, res) => res.end('{}'));
  const { fetch, reader, meterProvider } = instrumented([
    { name: 'billing', match: 'GET */v1/billing', keyHeader: 'Ocp-Apim-Subscription-Key' },
  ]);
  await (await fetch(url, { headers: { 'ocp-apim-subscription-key': 'sub-key-1' } })).text();
  const [key] = fetch.breakers().map((b) => b.key);
  expect(key).toMatch(/ ocp-apim-subscription-key=hmac:[0-9a-f]{16}$/);
  expect((await gaugeKeys(reader)).keys).toEqual([key]);
  await meterProvider.shutdown();
});
