import { MeterProvider } from '@opentelemetry/sdk-metrics';
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

/** `breakwater.call.duration`'s points: attempts and error.type of each. */
async function calls(reader: TestReader): Promise<[unknown, unknown][]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === 'breakwater.call.duration');
  return (metric?.dataPoints ?? []).map((p) => [
    p.attributes['breakwater.attempts'],
    p.attributes['error.type'],
  ]);
}

function instrumented() {
  const reader = new TestReader();
  const fetch = wrapFetch(globalThis.fetch, {
    // A server delay of 1 s before the retry: the caller aborts during that wait.
    policy: { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 2 } } },
    telemetry: openTelemetry({ meterProvider: new MeterProvider({ readers: [reader] }) }),
  });
  return { fetch, reader };
}

it('a call its caller aborts during the wait before a retry counts the attempt it sent', async () => {
  const url = server.route('/abort-in-wait', (_req, res) => res.writeHead(503, { 'retry-after': '1' }).end());
  const { fetch, reader } = instrumented();
  const controller = new AbortController();
  const call = fetch(url, { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(server.hits.get('/abort-in-wait')).toBe(1);
  controller.abort();
  await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  expect(await calls(reader)).toEqual([[1, 'AbortError']]);
});

it('a call its caller aborts during its second attempt counts both attempts', async () => {
  const url = server.route('/abort-in-attempt', (_req, res, hit) => {
    if (hit === 1) res.writeHead(503).end();
    // The second attempt is answered only after the caller gave up.
    else setTimeout(() => res.writeHead(200).end(), 1000);
  });
  const { fetch, reader } = instrumented();
  const controller = new AbortController();
  const call = fetch(url, { signal: controller.signal });
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(server.hits.get('/abort-in-attempt')).toBe(2);
  controller.abort();
  await expect(call).rejects.toMatchObject({ name: 'AbortError' });
  expect(await calls(reader)).toEqual([[2, 'AbortError']]);
});
