/**
 * `isolate(key)` and `reset(key)` refuse a key no call can have: it was shown `isolated` in
 * `breakers()` while the endpoint's calls went through (audit s24).
 */
import { describe, expect, it } from 'vitest';
import { wrapFetch } from './wrap-fetch.ts';

const ok = async (): Promise<Response> => new Response('ok');

describe('isolate refuses keys no request can have', () => {
  it.each<[string, string]>([
    ['orders https://a.example x-tenat=acme', "a partition other than the rule's 'x-tenant='"],
    ['orders https://a.example', "no partition after the origin (the rule partitions by 'x-tenant=')"],
    ['orders https://a.example x-tenant=acme extra', "a partition other than the rule's 'x-tenant='"],
  ])('on a rule partitioned by X-Tenant: %j', (key, reason) => {
    const fetch = wrapFetch(ok, { endpoints: [{ name: 'orders', match: '/*', keyHeader: 'X-Tenant' }] });
    expect(() => fetch.isolate(key)).toThrow(reason);
    expect(fetch.breakers()).toEqual([]);
  });

  it.each([
    'orders https://a.example x-tenant=acme',
    // A trailing space is a partition of its own, empty: no call has that key.
    'orders https://a.example ',
  ])('on a rule without keyHeader: %j', (key) => {
    const fetch = wrapFetch(ok, { endpoints: [{ name: 'orders', match: '/*' }] });
    expect(() => fetch.isolate(key)).toThrow('more than the rule and the origin (the rule has no keyHeader)');
  });

  it('takes the keys calls have, and holds them', async () => {
    const fetch = wrapFetch(ok, { endpoints: [{ name: 'orders', match: '/*', keyHeader: 'X-Tenant' }] });
    fetch.isolate('orders https://a.example x-tenant=acme');
    const held = fetch('https://a.example/x', { headers: { 'X-Tenant': 'acme' } });
    await expect(held).rejects.toMatchObject({ name: 'BrokenCircuitError' });
    expect((await fetch('https://a.example/x', { headers: { 'X-Tenant': 'other' } })).status).toBe(200);
  });

  it.each(['default https://A.example', 'default https://a.example:443', 'default https://bücher.example'])(
    '%s: the refusal names the origin as keys write it',
    (key) => {
      expect(() => wrapFetch(ok).isolate(key)).toThrow(
        /an origin written otherwise than keys write it: write 'https:\/\//,
      );
    },
  );

  it('shows no more of a URL given by mistake than its origin', () => {
    expect(() => wrapFetch(ok).isolate('default https://a.example/x?token=S3CR3T')).toThrow(
      /more than the origin https:\/\/a\.example(?!.*S3CR3T)/,
    );
  });
});
