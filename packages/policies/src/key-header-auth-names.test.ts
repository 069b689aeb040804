/**
 * A `keyHeader` whose name says it carries a credential in a way the older rule missed
 * (`x-authorization`, `x-forwarded-authorization`, `x-auth`, `dpop`, a cookie variant): its value is
 * hashed like any credential's, never put verbatim in the key that events, messages and snapshots carry.
 */
import { describe, expect, it } from 'vitest';
import { createEndpointResolver } from './endpoint.ts';
import { isSecretHeader } from './headers.ts';

const TOKEN = 'S3CR3Tabc123';

describe('keyHeader names that carry credentials', () => {
  it.each([
    'x-authorization',
    'X-Forwarded-Authorization',
    'x-auth',
    'X-Auth-User',
    'proxy-auth',
    'x-oauth',
    'DPoP',
    'x-dpop',
    'cookie2',
    'x-cookie',
  ])('hashes the value of %s', (keyHeader) => {
    const resolver = createEndpointResolver({ endpoints: [{ name: 'api', match: '/v1/*', keyHeader }] });
    const { key } = resolver.resolve('GET', 'https://api.test/v1/x', new Headers({ [keyHeader]: TOKEN }));
    expect(key).toMatch(new RegExp(`^api https://api\\.test ${keyHeader.toLowerCase()}=hmac:[0-9a-f]{16}$`));
    expect(key).not.toContain(TOKEN);
  });

  it('keeps a plain partitioning header such as a tenant id readable', () => {
    expect(isSecretHeader('x-tenant-id')).toBe(false);
    const resolver = createEndpointResolver({
      endpoints: [{ name: 'api', match: '/v1/*', keyHeader: 'X-Tenant-Id' }],
    });
    const { key } = resolver.resolve(
      'GET',
      'https://api.test/v1/x',
      new Headers({ 'x-tenant-id': 'contoso' }),
    );
    expect(key).toBe('api https://api.test x-tenant-id=contoso');
  });
});
