/**
 * Issue 9 item 9 (second half): a rule may partition by a credential header (APIs throttle per
 * subscription key), but the value never appears verbatim in the key, which events, messages and
 * breaker snapshots carry.
 */
import { describe, expect, it } from 'vitest';
import { createEndpointResolver } from './endpoint.ts';

const SUBSCRIPTION_KEY = '3f9a2c7e5b1d4e8fa0c6b2d9e7f1a3c5';

describe('keyHeader naming a credential header', () => {
  it.each(['x-api-key', 'Ocp-Apim-Subscription-Key', 'X-Auth-Token', 'Authorization', 'Cookie', 'api-key'])(
    'accepts %s and puts a keyed hash of its value in the key, never the value',
    (keyHeader) => {
      const resolver = createEndpointResolver({ endpoints: [{ name: 'apim', match: '/v1/*', keyHeader }] });
      const name = keyHeader.toLowerCase();
      for (const value of [SUBSCRIPTION_KEY, 'short', 'Bearer eyJhbGciOi.payload.sig', 'a=b; session=xyz']) {
        const { key } = resolver.resolve('GET', 'https://api.test/v1/x', new Headers({ [keyHeader]: value }));
        expect(key).toMatch(new RegExp(`^apim https://api\\.test ${name}=hmac:[0-9a-f]{16}$`));
        expect(key).not.toContain(value);
        for (const part of value.split(/[\s=;.]+/)) if (part.length >= 4) expect(key).not.toContain(part);
      }
    },
  );

  it('gives each value its own key and the same value the same key', () => {
    const resolver = createEndpointResolver({
      endpoints: [{ name: 'apim', match: '/v1/*', keyHeader: 'Ocp-Apim-Subscription-Key' }],
    });
    const keyOf = (value: string) =>
      resolver.resolve('GET', 'https://api.test/v1/x', new Headers({ 'ocp-apim-subscription-key': value }))
        .key;
    expect(keyOf('key-a')).toBe(keyOf('key-a'));
    expect(keyOf(' key-a ')).toBe(keyOf('key-a'));
    expect(keyOf('key-a')).not.toBe(keyOf('key-b'));
  });

  it('leaves a request without the header in the unpartitioned key', () => {
    const resolver = createEndpointResolver({
      endpoints: [{ name: 'apim', match: '/v1/*', keyHeader: 'x-api-key' }],
    });
    expect(resolver.resolve('GET', 'https://api.test/v1/x').key).toBe('apim https://api.test x-api-key=');
  });

  it('hashes the same value alike in two resolvers of one process (keys can be compared across them)', () => {
    const config = { endpoints: [{ name: 'apim', match: '/v1/*', keyHeader: 'x-api-key' }] };
    const headers = new Headers({ 'x-api-key': SUBSCRIPTION_KEY });
    expect(createEndpointResolver(config).resolve('GET', 'https://api.test/v1/x', headers).key).toBe(
      createEndpointResolver(config).resolve('GET', 'https://api.test/v1/x', headers).key,
    );
  });

  it('keeps short plain values of other headers verbatim, as before', () => {
    const resolver = createEndpointResolver({
      endpoints: [{ name: 't', match: '/v1/*', keyHeader: 'X-Tenant-Id' }],
    });
    const { key } = resolver.resolve(
      'GET',
      'https://api.test/v1/x',
      new Headers({ 'x-tenant-id': 'contoso' }),
    );
    expect(key).toBe('t https://api.test x-tenant-id=contoso');
  });
});
