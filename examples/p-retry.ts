/**
 * The p-retry recipe, for calls that are not fetch calls: an SDK function that throws its own errors.
 * `pRetryOptions` applies breakwater's outcome table and idempotency rule to them, and
 * `retryThroughBreaker` also runs every attempt through the endpoint's circuit breaker.
 *
 * Run: node --conditions=@breakwater/source examples/p-retry.ts
 */
import { createEndpointBreakers, pRetryOptions, retryThroughBreaker } from '@breakwater/core/p-retry';
import pRetry from 'p-retry';
import { seededRandom, startUpstream } from './upstream.ts';

/** The error an SDK throws: a status code and the response headers as a plain object. */
class SdkError extends Error {
  override readonly name = 'SdkError';
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, headers: Record<string, string>) {
    super(`request failed with ${statusCode}`);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

/** A stand-in for an SDK client: it speaks HTTP inside, but callers only see its methods. */
function sdkClient(origin: string) {
  const call = async (method: string, path: string): Promise<unknown> => {
    const res = await fetch(`${origin}${path}`, { method });
    if (!res.ok) throw new SdkError(res.status, Object.fromEntries(res.headers));
    return res.json();
  };
  return {
    getCustomer: (id: string) => call('GET', `/v1/customers/${id}`),
    createOrder: () => call('POST', '/v1/orders'),
  };
}

const upstream = await startUpstream([
  {
    name: 'customer',
    path: '/v1/customers/42',
    phases: [{ at: 0, label: 'flaky', faults: [{ p: 0.4, status: 503 }] }],
  },
  { name: 'orders', path: '/v1/orders', phases: [{ at: 0, label: 'outage', down: true, status: 503 }] },
]);
const sdk = sdkClient(upstream.origin);
const policy = { retry: { backoff: { initialDelayMs: 5, maxDelayMs: 20, throttleInitialDelayMs: 20 } } };

try {
  // A read: idempotent, so transient failures are retried.
  for (let i = 0; i < 5; i++) {
    await pRetry(
      () => sdk.getCustomer('42'),
      pRetryOptions({ method: 'GET', policy, random: seededRandom(i) }),
    );
  }
  console.log(`getCustomer: 5/5 succeeded in ${upstream.counts().customer?.requests} requests`);

  // A create without an idempotency key: made once, whatever the failure.
  await pRetry(() => sdk.createOrder(), pRetryOptions({ method: 'POST', policy })).catch((error: unknown) => {
    console.log(
      `createOrder: ${(error as SdkError).statusCode}, sent ${upstream.counts().orders?.requests} time`,
    );
  });

  // Through the endpoint's breaker: sustained 503s open it, then calls are refused without a request.
  const breakers = createEndpointBreakers({
    policy: { ...policy, breaker: { consecutiveFailures: 4 } },
    endpoints: [{ name: 'orders', match: 'POST */v1/orders' }],
  });
  const target = { method: 'GET', url: `${upstream.origin}/v1/customers/42` };
  const orders = {
    method: 'POST',
    url: `${upstream.origin}/v1/orders`,
    headers: { 'Idempotency-Key': 'order-1' },
  };
  await retryThroughBreaker(breakers, target, () => sdk.getCustomer('42'));
  for (let i = 0; i < 2; i++) {
    await retryThroughBreaker(breakers, orders, () => sdk.createOrder()).catch((error: unknown) => {
      const status = error instanceof SdkError ? ` ${error.statusCode}` : '';
      console.log(`createOrder with a key, through the breaker: ${(error as Error).name}${status}`);
    });
  }
  for (const b of breakers.breakers()) console.log(`breaker ${b.key.split(' ')[0]}: ${b.state}`);
} finally {
  await upstream.close();
}
