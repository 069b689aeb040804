/**
 * Issue 9 item 14, end to end: with the Partner Center preset as the default policy (as the README's
 * quick start has it), a failing POST without an idempotency key to any other host is sent exactly
 * once, while a Partner Center POST still gets MS-RequestId and is retried under the same id.
 * Real undici fetch and a real loopback server; the Partner Center calls are pointed at the loopback
 * server by the wrapped fetch itself, as readme.test.ts does, so no traffic leaves the machine.
 */
import { partnerCenter } from '@breakwater/policies';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const PARTNER_CENTER = 'https://api.partnercenter.microsoft.com';

let server: LocalServer;
beforeEach(async () => {
  server = await startLocalServer();
  server.script('/v1/orders', { status: 503 });
});
afterEach(async () => {
  await server.close();
});

/** undici's fetch, with Partner Center's origin rewritten to the loopback server. */
async function loopbackFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : String(input));
  const target = url.origin === PARTNER_CENTER ? `${server.origin}${url.pathname}` : url.href;
  const res = await undiciFetch(target, init as Parameters<typeof undiciFetch>[1]);
  return res as unknown as Response;
}

function wrapped() {
  return wrapFetch(loopbackFetch, {
    policy: partnerCenter({
      retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 5 } },
    }),
  });
}

describe('partnerCenter() as the default policy', () => {
  it('sends a failing POST without an idempotency key to another host exactly once, without MS-RequestId', async () => {
    const res = await wrapped()(`${server.origin}/v1/orders`, { method: 'POST', body: '{"sku":"x"}' });
    expect(res.status).toBe(503);
    expect(server.count('/v1/orders')).toBe(1);
    expect(server.received[0]?.headers['ms-requestid']).toBeUndefined();
    expect(server.received[0]?.headers['ms-correlationid']).toBeUndefined();
  });

  it('still retries a Partner Center POST, every attempt with the same generated MS-RequestId', async () => {
    const res = await wrapped()(`${PARTNER_CENTER}/v1/orders`, { method: 'POST', body: '{"sku":"x"}' });
    expect(res.status).toBe(503);
    expect(server.count('/v1/orders')).toBe(4);
    const ids = new Set(server.received.map((r) => r.headers['ms-requestid']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('retries a POST to another host that carries its own idempotency key, as without the preset', async () => {
    const res = await wrapped()(`${server.origin}/v1/orders`, {
      method: 'POST',
      body: '{"sku":"x"}',
      headers: { 'Idempotency-Key': 'order-7' },
    });
    expect(res.status).toBe(503);
    expect(server.count('/v1/orders')).toBe(4);
  });
});

describe('generateHeadersHosts naming an internationalized host (session 25)', () => {
  it('generates the headers for it, as its URL carries it (punycode)', async () => {
    const idn = 'https://bücher.example';
    // The IDN origin, in the ASCII form URLs carry, is pointed at the loopback server.
    const fetch = wrapFetch(
      async (input: RequestInfo | URL, init?: RequestInit) => {
        const url = new URL(input instanceof Request ? input.url : String(input));
        expect(url.hostname).toBe('xn--bcher-kva.example');
        return (await undiciFetch(`${server.origin}${url.pathname}`, init as never)) as unknown as Response;
      },
      { policy: partnerCenter({ generateHeadersHosts: ['bücher.example'], retry: { maxAttempts: 1 } }) },
    );
    await fetch(`${idn}/v1/orders`, { method: 'POST', body: '{}' });
    expect(server.received[0]?.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
  });
});
