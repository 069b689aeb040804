/**
 * Issue 9 item 14, at the policies level: the Partner Center preset's generated headers (and so the
 * retryability a generated MS-RequestId gives a POST) apply to Partner Center hosts only, wherever
 * the preset sits (the default policy or a rule's).
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { createEndpointResolver } from './endpoint.ts';
import { isIdempotent } from './idempotency.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';

const PC = 'https://api.partnercenter.microsoft.com/v1/customers/c1/orders';
const OTHER = 'https://api.example.com/v1/orders';

describe('partnerCenter() as the default policy', () => {
  const resolver = createEndpointResolver({ policy: partnerCenter() });

  it('generates MS-RequestId and MS-CorrelationId for Partner Center', () => {
    expect(resolver.resolve('POST', PC).policy.generateHeaders).toEqual(['MS-RequestId', 'MS-CorrelationId']);
    expect(
      resolver.resolve('POST', 'https://API.PartnerCenter.Microsoft.com:443/v1/x').policy.generateHeaders,
    ).toEqual(['MS-RequestId', 'MS-CorrelationId']);
  });

  it.each([
    OTHER,
    'http://127.0.0.1:8080/v1/orders',
    'https://partnercenter.microsoft.com/v1/orders',
    'https://api.partnercenter.microsoft.com.evil.example/v1/orders',
    'https://evil-api.partnercenter.microsoft.com/v1/orders',
  ])('generates nothing for %s, so a POST there stays non-idempotent', (url) => {
    const { policy } = resolver.resolve('POST', url);
    expect(policy.generateHeaders).toEqual([]);
    // What core does per call: set each generated header, then ask whether the request may repeat.
    const headers = new Headers();
    for (const name of policy.generateHeaders) headers.set(name, crypto.randomUUID());
    expect(isIdempotent({ method: 'POST', headers }, policy.retry)).toBe(false);
  });

  it('keeps everything else of the preset on other hosts', () => {
    const pc = resolver.resolve('GET', PC).policy;
    const other = resolver.resolve('GET', OTHER).policy;
    expect({ ...other, generateHeaders: pc.generateHeaders }).toEqual(pc);
  });

  it('a generated MS-RequestId still makes a Partner Center POST idempotent', () => {
    const { policy } = resolver.resolve('POST', PC);
    const headers = new Headers();
    for (const name of policy.generateHeaders) headers.set(name, crypto.randomUUID());
    expect(isIdempotent({ method: 'POST', headers }, policy.retry)).toBe(true);
  });
});

describe('partnerCenter() in a rule, and overrides', () => {
  it('scopes the same way when a rule matches any origin', () => {
    const resolver = createEndpointResolver({
      endpoints: [{ name: 'orders', match: 'POST */v1/*', policy: partnerCenter() }],
    });
    expect(resolver.resolve('POST', PC).policy.generateHeaders).toEqual(['MS-RequestId', 'MS-CorrelationId']);
    expect(resolver.resolve('POST', OTHER).policy.generateHeaders).toEqual([]);
  });

  it('generateHeadersHosts names the hosts (a sovereign cloud, a test stand-in)', () => {
    const resolver = createEndpointResolver({
      policy: partnerCenter({ generateHeadersHosts: ['api.partnercenter.microsoft.com', '127.0.0.1'] }),
    });
    expect(resolver.resolve('POST', 'http://127.0.0.1:8080/v1/orders').policy.generateHeaders).toHaveLength(
      2,
    );
    expect(resolver.resolve('POST', OTHER).policy.generateHeaders).toEqual([]);
  });

  it('generateHeadersHosts: null generates for every host (the behaviour of a plain generateHeaders)', () => {
    const resolver = createEndpointResolver({ policy: partnerCenter({ generateHeadersHosts: null }) });
    expect(resolver.resolve('POST', OTHER).policy.generateHeaders).toEqual([
      'MS-RequestId',
      'MS-CorrelationId',
    ]);
    const plain = createEndpointResolver({ policy: { generateHeaders: ['X-Request-Id'] } });
    expect(plain.resolve('POST', OTHER).policy.generateHeaders).toEqual(['X-Request-Id']);
  });

  it.each<[unknown, string]>([
    [['https://api.partnercenter.microsoft.com'], 'policy.generateHeadersHosts[0]'],
    [['api.partnercenter.microsoft.com:443'], 'policy.generateHeadersHosts[0]'],
    [['a.example', 'bad host/'], 'policy.generateHeadersHosts[1]'],
    [[''], 'policy.generateHeadersHosts[0]'],
    ['api.partnercenter.microsoft.com', 'policy.generateHeadersHosts'],
  ])('refuses generateHeadersHosts %j', (hosts, path) => {
    let error: unknown;
    try {
      definePolicy({ generateHeadersHosts: hosts } as never);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe(path);
  });
});
