/**
 * `TelemetryHooks.attempt`'s `startedAt`: the attempt's start as the wrapped fetch read it, so that
 * `http.client.request.duration` runs from there, not from a second clock read inside the hook.
 */
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { expect, it } from 'vitest';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';

/** The sum of `http.client.request.duration`'s points, in seconds. */
async function attemptSeconds(reader: TestReader): Promise<number> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === 'http.client.request.duration');
  return (metric?.dataPoints ?? []).reduce((sum, p) => sum + (p.value as { sum: number }).sum, 0);
}

function hooks() {
  const reader = new TestReader();
  const bound = openTelemetry({ meterProvider: new MeterProvider({ readers: [reader] }) }).bind(() => []);
  const request = { method: 'GET', url: new URL('https://api.example.test/v1/orders') };
  return { bound, reader, request };
}

it("an attempt's duration runs from the start the wrapped fetch gives", async () => {
  const { bound, reader, request } = hooks();
  const end = bound.attempt('orders https://api.example.test', request, 1, performance.now() - 2000);
  end({ response: { status: 200 }, verdict: {} });
  expect(await attemptSeconds(reader)).toBeGreaterThanOrEqual(2);
});
