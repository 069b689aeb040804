import { describe, expect, it } from 'vitest';
import { type ClientContext, ClientUnavailableError } from './client.ts';
import { CLIENTS, keyName } from './clients.ts';

const spec = (name: string) => {
  const found = CLIENTS.find((c) => c.name === name);
  if (!found) throw new Error(`no client ${name}`);
  return found;
};

/** A fetch that answers 200 and remembers the tenant header of every attempt. */
function context(breakers: boolean, tenantHeader?: string): { context: ClientContext; seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    context: {
      fetch: async (input, init) => {
        seen.push(new Request(input, init).headers.get('x-tenant-id') ?? '-');
        return new Response('{}');
      },
      routes: [
        {
          name: 'customers',
          path: '/v1/customers',
          match: 'GET */v1/customers',
          ...(tenantHeader ? { tenantHeader } : {}),
        },
      ],
      attemptTimeoutMs: 1_000,
      breakers,
      now: () => 0,
    },
  };
}

const url = 'http://127.0.0.1:1/v1/customers';

describe('clients', () => {
  it('send the call headers on the attempt, every client alike', async () => {
    for (const c of CLIENTS) {
      const { context: ctx, seen } = context(true);
      const client = await c.create(ctx);
      await client.call(url, new AbortController().signal, { 'x-tenant-id': 'contoso' });
      await client.call(url, new AbortController().signal);
      client.close();
      expect([c.name, seen]).toEqual([c.name, ['contoso', '-']]);
    }
  });

  it('breakwater keeps one breaker per tenant when the route has a tenant header', async () => {
    const { context: ctx } = context(true, 'x-tenant-id');
    const client = await spec('breakwater').create(ctx);
    for (const tenant of ['contoso', 'fabrikam']) {
      await client.call(url, new AbortController().signal, { 'x-tenant-id': tenant });
    }
    expect(client.breakers().map((b) => b.key)).toEqual(['customers contoso', 'customers fabrikam']);
    client.close();
  });

  it('with breakers off, cockatiel runs its retry alone and opossum (only a breaker) declines', async () => {
    const cockatiel = await spec('cockatiel').create(context(false).context);
    await cockatiel.call(url, new AbortController().signal);
    expect(cockatiel.breakers()).toEqual([]);
    await expect(spec('opossum').create(context(false).context)).rejects.toThrow(ClientUnavailableError);
  });

  it('runs the tail-latency lanes (hedging, slow-call breaking) only where a route has a slow tail', () => {
    const route = { name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' };
    for (const name of ['breakwater-hedge', 'breakwater-slowcall']) {
      expect(spec(name).appliesTo?.([route])).toBe(false);
      expect(spec(name).appliesTo?.([route, { ...route, slowTail: true }])).toBe(true);
    }
    expect(spec('breakwater').appliesTo).toBeUndefined();
  });

  it('charts endpoint keys by rule name, and by tenant for a partitioned key', () => {
    expect(keyName('customers http://127.0.0.1:1')).toBe('customers');
    expect(keyName('customers http://127.0.0.1:1 x-tenant-id=contoso')).toBe('customers contoso');
  });
});
