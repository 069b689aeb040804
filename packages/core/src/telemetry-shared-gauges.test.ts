import { metrics } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { retryThroughBreaker } from './p-retry.ts';
import { Metrics } from './telemetry/metrics.ts';
import { TestReader } from './telemetry.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import type { BreakerSnapshot } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } } } as const;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: unknown;
}

/** Every data point of the gauge `name`, as one collection hands them out. */
async function gauge(reader: TestReader, name: string): Promise<Point[]> {
  const { resourceMetrics } = await reader.collect();
  const metric = resourceMetrics.scopeMetrics
    .flatMap((s) => s.metrics)
    .find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? []) as Point[];
}

it('one openTelemetry() serving two wrapped fetches of one origin: an isolated breaker shows on the state gauge, the smaller budget on the budget gauge', async () => {
  const url = server.route('/v1/shared', (_req, res, hit) => res.writeHead(hit === 2 ? 503 : 200).end());
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = openTelemetry({ meterProvider });
  const orders = wrapFetch(globalThis.fetch, { policy: fast, telemetry });
  const billing = wrapFetch(globalThis.fetch, { policy: fast, telemetry });
  expect((await orders(url)).status).toBe(200);
  // Billing's call meets the 503 and retries: its budget is the smaller one.
  expect((await billing(url)).status).toBe(200);
  const [ordersKey] = orders.breakers();
  const [billingKey] = billing.breakers();
  expect(ordersKey?.key).toBe(billingKey?.key);
  expect(billingKey?.retryBudgetLeft).toBeLessThan(ordersKey?.retryBudgetLeft ?? 0);

  orders.isolate(ordersKey?.key ?? '');
  const attributes = { 'breakwater.endpoint': 'default', 'breakwater.endpoint.key': ordersKey?.key };
  expect(await gauge(reader, 'breakwater.breaker.state')).toEqual([
    expect.objectContaining({ attributes, value: 3 }),
  ]);
  expect(await gauge(reader, 'breakwater.retry_budget.remaining')).toEqual([
    expect.objectContaining({ attributes, value: billingKey?.retryBudgetLeft }),
  ]);
  // The other wrapped fetch's breaker, closed, does not hide it whichever is read last.
  billing.isolate(ordersKey?.key ?? '');
  orders.reset(ordersKey?.key ?? '');
  expect((await gauge(reader, 'breakwater.breaker.state')).map((p) => p.value)).toEqual([3]);
  await meterProvider.shutdown();
});

it('the gauges merge the endpoints of one attribute set: the worst state, the waiting calls summed, the smallest budget left', async () => {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const recorder = new Metrics(meterProvider.getMeter('test'));
  const snapshot = (key: string, s: Partial<BreakerSnapshot>) => ({ key, ...s }) as BreakerSnapshot;
  const first = () => [
    snapshot('default https://a.example', { state: 'half-open', waiting: 2, retryBudgetLeft: 7 }),
    snapshot('default https://b.example', { state: 'closed', waiting: 0, retryBudgetLeft: null }),
  ];
  const second = () => [
    snapshot('default https://a.example', { state: 'closed', waiting: 3, retryBudgetLeft: 4 }),
    snapshot('default https://b.example', { state: 'open', waiting: 1, retryBudgetLeft: 9 }),
  ];
  const third = () => [
    snapshot('default https://a.example', { state: 'closed', waiting: 0, retryBudgetLeft: 6 }),
  ];
  for (const endpoints of [first, second, third]) recorder.watch(endpoints);
  const byKey = async (name: string) =>
    Object.fromEntries(
      (await gauge(reader, name)).map((p) => [p.attributes['breakwater.endpoint.key'], p.value]),
    );
  expect(await byKey('breakwater.breaker.state')).toEqual({
    'default https://a.example': 1,
    'default https://b.example': 2,
  });
  expect(await byKey('breakwater.gate.waiting')).toEqual({
    'default https://a.example': 5,
    'default https://b.example': 1,
  });
  // A budget that is off (null) on one side leaves the other's.
  expect(await byKey('breakwater.retry_budget.remaining')).toEqual({
    'default https://a.example': 4,
    'default https://b.example': 9,
  });
  await meterProvider.shutdown();
});

it("createEndpointBreakers' telemetry (the p-retry adapter's breakers): the gauges exist from the first call, before any breaker event", async () => {
  const reader = new TestReader();
  const meterProvider = new MeterProvider({ readers: [reader] });
  const breakers = createEndpointBreakers({ policy: fast, telemetry: openTelemetry({ meterProvider }) });
  const target = { method: 'GET', url: 'https://api.example.com/v1/customers' };
  let calls = 0;
  const flaky = () => {
    calls += 1;
    if (calls <= 2) throw Object.assign(new Error('unavailable'), { status: 503 });
    return 'ok';
  };
  expect(await retryThroughBreaker(breakers, target, flaky)).toBe('ok');
  expect(calls).toBe(3);
  const [live] = breakers.breakers();
  const attributes = { 'breakwater.endpoint': 'default', 'breakwater.endpoint.key': live?.key };
  expect(await gauge(reader, 'breakwater.breaker.state')).toEqual([
    expect.objectContaining({ attributes, value: 0 }),
  ]);
  expect(await gauge(reader, 'breakwater.retry_budget.remaining')).toEqual([
    expect.objectContaining({ attributes, value: live?.retryBudgetLeft }),
  ]);
  await meterProvider.shutdown();
});

it('createEndpointBreakers with the global meter provider: an SDK registered after the breakers are built, before their first call, records the gauges', async () => {
  const breakers = createEndpointBreakers({ telemetry: openTelemetry() });
  const reader = new TestReader();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  try {
    const target = { method: 'GET', url: 'https://api.example.com/v1/orders' };
    expect(await breakers.run(target, () => 'ok')).toBe('ok');
    expect(await gauge(reader, 'breakwater.breaker.state')).toEqual([expect.objectContaining({ value: 0 })]);
  } finally {
    metrics.disable();
  }
});
