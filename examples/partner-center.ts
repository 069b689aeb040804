/**
 * A Partner Center-style client on wrapFetch: per-endpoint rules, MS-RequestId generated once per call
 * (so a POST may be retried), typed errors with the payload parsed, and breaker state.
 *
 * Run: node --conditions=@breakwater/source examples/partner-center.ts
 */
import { BrokenCircuitError, HttpError, wrapFetch } from '@breakwater/core';
import { partnerCenter } from '@breakwater/policies';
import { seededRandom, startUpstream } from './upstream.ts';

const upstream = await startUpstream([
  // Flaky: a third of the answers are 503s or dropped connections.
  {
    name: 'customers',
    path: '/v1/customers',
    phases: [
      {
        at: 0,
        label: 'flaky',
        faults: [
          { p: 0.25, status: 503 },
          { p: 0.1, reset: true },
        ],
      },
    ],
  },
  // Down: every answer is a 500, which is not retried but opens the breaker.
  { name: 'orders', path: '/v1/orders', phases: [{ at: 0, label: 'outage', down: true, status: 500 }] },
]);

const fetch = wrapFetch(globalThis.fetch, {
  // Short waits so that the example runs in a moment; the defaults are 200 ms to 30 s.
  policy: partnerCenter({
    retry: { backoff: { initialDelayMs: 5, maxDelayMs: 20, throttleInitialDelayMs: 20 } },
    // The preset generates MS-RequestId for Partner Center's host only; here a local server stands in.
    generateHeadersHosts: ['127.0.0.1'],
  }),
  endpoints: [
    { name: 'customers', match: 'GET */v1/customers' },
    { name: 'orders', match: 'POST */v1/orders', policy: { breaker: { consecutiveFailures: 3 } } },
  ],
  throwHttpErrors: true,
  random: seededRandom(7),
});

try {
  let ok = 0;
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${upstream.origin}/v1/customers`);
    await res.json();
    ok++;
  }
  const { customers } = upstream.counts();
  console.log(`customers: ${ok}/20 calls succeeded, in ${customers?.requests} requests (faults retried)`);

  try {
    await fetch(`${upstream.origin}/v1/customers/9999999`);
  } catch (error) {
    if (!(error instanceof HttpError)) throw error;
    console.log(`missing customer: HTTP ${error.status}, code ${error.code}, ${error.attempts} attempt`);
  }

  for (let i = 0; i < 5; i++) {
    try {
      await fetch(`${upstream.origin}/v1/orders`, { method: 'POST', body: '{"sku":"contoso"}' });
    } catch (error) {
      if (error instanceof HttpError) console.log(`order ${i + 1}: HTTP ${error.status} (not retried)`);
      else if (error instanceof BrokenCircuitError)
        console.log(`order ${i + 1}: refused, breaker ${error.state}`);
      else throw error;
    }
  }

  for (const b of fetch.breakers()) console.log(`breaker ${b.key.split(' ')[0]}: ${b.state}`);
} finally {
  await upstream.close();
}
