import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { createEndpointResolver, matchesPattern, parseMatch } from './endpoint.ts';
import type { EndpointsConfig } from './types.ts';

const matches = (pattern: string, method: string, url: string): boolean =>
  matchesPattern(parseMatch(pattern), method, url);

describe('pattern grammar', () => {
  it.each<[string, string, string]>([
    ['GET https://api.example.com/v1/customers/*', 'GET', 'https://api.example.com/v1/customers/42'],
    ['GET https://api.example.com/v1/customers/*', 'GET', 'https://api.example.com/v1/customers'],
    ['GET https://api.example.com/v1/customers/*', 'GET', 'https://api.example.com/v1/customers/42/orders/7'],
    ['GET https://api.example.com/v1/customers/*', 'get', 'https://api.example.com/v1/customers/'],
    ['POST */v1/customers/:id/orders', 'POST', 'https://a.example/v1/customers/42/orders'],
    ['POST * /v1/customers/:id/orders', 'POST', 'http://b.example:8080/v1/customers/42/orders'],
    ['* /health', 'DELETE', 'https://x.example/health'],
    ['/health', 'PATCH', 'https://x.example/health'],
    ['GET,HEAD /items/*/price', 'HEAD', 'https://x.example/items/9/price'],
    ['https://api.example.com /v1/*', 'GET', 'https://api.example.com/v1/x'],
    ['GET * /v1/*', 'GET', 'https://api.example.com/v1'],
    ['/', 'GET', 'https://x.example/'],
    ['/*', 'GET', 'https://x.example/anything/at/all'],
    ['/*', 'GET', 'https://x.example'],
    ['/v1/items', 'GET', 'https://x.example/v1/items?token=secret#frag'],
    ['/v1/items/', 'GET', 'https://x.example/v1/items'],
    ['https://API.Example.com:443/v1/*', 'GET', 'https://api.example.com/v1/x'],
    ['http://api.example.com/v1/*', 'GET', 'http://API.EXAMPLE.COM:80/v1/x'],
    ['/caf%C3%A9', 'GET', 'https://x.example/café'],
    ['/café', 'GET', 'https://x.example/caf%c3%a9'],
    ['/%7Euser', 'GET', 'https://x.example/~user'],
    ['/a%2fb', 'GET', 'https://x.example/a%2Fb'],
    ['/hello%20world', 'GET', 'https://x.example/hello world'],
  ])('%s matches %s %s', (pattern, method, url) => {
    expect(matches(pattern, method, url)).toBe(true);
  });

  it.each<[string, string, string]>([
    ['GET https://api.example.com/v1/customers/*', 'POST', 'https://api.example.com/v1/customers/42'],
    ['GET https://api.example.com/v1/customers/*', 'GET', 'https://other.example.com/v1/customers/42'],
    ['GET https://api.example.com/v1/customers/*', 'GET', 'http://api.example.com/v1/customers/42'],
    ['GET https://api.example.com/v1/customers/*', 'GET', 'https://api.example.com:8443/v1/customers/42'],
    ['GET https://api.example.com/v1/customers/*', 'GET', 'https://api.example.com/v1/customersX'],
    ['POST */v1/customers/:id/orders', 'POST', 'https://a.example/v1/customers/orders'],
    ['POST */v1/customers/:id/orders', 'POST', 'https://a.example/v1/customers//orders'],
    ['POST */v1/customers/:id/orders', 'POST', 'https://a.example/v1/customers/1/2/orders'],
    ['GET,HEAD /items/*/price', 'GET', 'https://x.example/items/price'],
    ['GET,HEAD /items/*/price', 'PUT', 'https://x.example/items/9/price'],
    ['/v1/items', 'GET', 'https://x.example/v1/Items'],
    ['/v1/items', 'GET', 'https://x.example/v1/items/1'],
    ['/v1/*', 'GET', 'https://x.example/v2/items'],
    ['/', 'GET', 'https://x.example/a'],
    ['/a%2Fb', 'GET', 'https://x.example/a/b'],
  ])('%s does not match %s %s', (pattern, method, url) => {
    expect(matches(pattern, method, url)).toBe(false);
  });

  it('compiles a pattern into methods, origin and segments', () => {
    expect(parseMatch('get,Head https://API.example.com:443/v1/:id/*/x/*')).toEqual({
      methods: ['GET', 'HEAD'],
      origin: 'https://api.example.com',
      segments: [
        { kind: 'literal', value: 'v1' },
        { kind: 'param', name: 'id' },
        { kind: 'any' },
        { kind: 'literal', value: 'x' },
      ],
      rest: true,
    });
    expect(parseMatch('* /x')).toMatchObject({ methods: null, origin: null, rest: false });
  });

  it('matches the same way whatever the URL, for the query is ignored', () => {
    const pattern = parseMatch('GET */v1/customers/:id');
    fc.assert(
      fc.property(fc.webQueryParameters(), (query) => {
        expect(matchesPattern(pattern, 'GET', `https://x.example/v1/customers/1?${query}`)).toBe(true);
      }),
      { seed: 42 },
    );
  });

  it.each<[string, string]>([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['v1/items', "the path must start with '/'"],
    // A host without its scheme (audit s24).
    [
      'api.example.com/v1/*',
      "'api.example.com' looks like a host, write it with its scheme ('https://api.example.com/…')",
    ],
    ['GET api.example.com:8080/v1/*', "'api.example.com:8080' looks like a host"],
    ['GET htp:/x.example/v1', "the path must start with '/'"],
    ['GET api.example.com /v1', "the origin must be '*' or 'scheme://host[:port]'"],
    ['/v1/%2e%2E/x', "'.' or '..' segments"],
    ['GET v1/items', "the path must start with '/'"],
    ['/v1/**', "has a '*' that is not a whole segment"],
    ['/v1/item*', "has a '*' that is not a whole segment"],
    ['/v1//items', "empty segment ('//')"],
    ['/v1/items?token=abc', "must not contain a query ('?')"],
    ['/v1/items#top', "must not contain a fragment ('#')"],
    ['GE(T /v1', 'has an invalid method'],
    ['GET, /v1', 'has an empty method'],
    ['GET https://api.example.com/v1 /items', 'the origin must not have a path'],
    ['GET https://user:pw@api.example.com/v1', 'must not carry userinfo'],
    ['https://*.example.com/v1', 'wildcard hosts are not supported'],
    ['ftp://files.example.com/v1', "unsupported scheme 'ftp'"],
    ['https://api.example.com', "append '/*'"],
    ['GET *', "'*' alone has no path"],
    ['/v1/:id/x/:id', "the parameter ':id' appears twice"],
    ['/v1/:/x', 'needs a name'],
    ['/v1/:1bad/x', "the parameter ':1bad' needs a name"],
    // A URI template from Partner Center's reference or an OpenAPI document matched nothing (audit s24).
    [
      'GET https://api.partnercenter.microsoft.com/v1/customers/{customer-tenant-id}',
      "is a template: write a parameter as ':customer_tenant_id'",
    ],
    ['/v1/items/{id}/orders', "is a template: write a parameter as ':id'"],
    ['/v1/items/<id>', "is a template: write a parameter as ':id'"],
    ['/v1/../x', "'.' or '..' segments"],
    ['GET https://a.example extra /v1', 'space-separated parts'],
  ])('rejects %j', (pattern, reason) => {
    const error = configError(() => parseMatch(pattern, 'endpoints[2].match'));
    expect(error.path).toBe('endpoints[2].match');
    expect(error.reason).toContain(reason);
  });

  it('never echoes the query of a pattern', () => {
    const error = configError(() => parseMatch('GET https://api.example.com/v1?sig=s3cr3t'));
    expect(error.message).not.toContain('s3cr3t');
  });
});

describe('createEndpointResolver', () => {
  const config: EndpointsConfig = {
    policy: { retry: { maxAttempts: 3 } },
    endpoints: [
      {
        name: 'customers',
        match: 'GET https://api.example.com/v1/customers/*',
        policy: { retry: { maxAttempts: 5 } },
      },
      { name: 'orders', match: 'POST */v1/customers/:id/orders', policy: { retry: { idempotent: true } } },
      { name: 'everything-v1', match: '/v1/*' },
    ],
  };

  it('resolves to the first rule that matches, in declaration order', () => {
    const resolver = createEndpointResolver(config);
    const customers = resolver.resolve('GET', 'https://api.example.com/v1/customers/42/orders');
    expect(customers.name).toBe('customers');
    expect(customers.key).toBe('customers https://api.example.com');
    expect(customers.policy.retry.maxAttempts).toBe(5);

    // The broad rule also matches, but the earlier one wins.
    const orders = resolver.resolve('POST', new URL('https://API.example.com:443/v1/customers/42/orders'));
    expect(orders).toMatchObject({ name: 'orders', key: 'orders https://api.example.com' });
    expect(orders.policy.retry.idempotent).toBe(true);
    expect(orders.policy.retry.maxAttempts).toBe(3);

    expect(resolver.resolve('DELETE', 'https://api.example.com/v1/customers/42/orders').name).toBe(
      'everything-v1',
    );
  });

  it("takes a host's rules and key for its fully qualified name, written with a trailing dot", () => {
    const resolver = createEndpointResolver(config);
    for (const url of [
      'https://api.example.com./v1/customers/42',
      'https://API.example.com.:443/v1/customers/42',
    ]) {
      expect(resolver.resolve('GET', url)).toMatchObject({
        name: 'customers',
        key: 'customers https://api.example.com',
      });
    }
    expect(resolver.resolve('GET', 'http://api.example.com.:8080/v1/x').key).toBe(
      'everything-v1 http://api.example.com:8080',
    );
    // A rule written with the dot matches the name written without it, and the key leaves it out too.
    const dotted = createEndpointResolver({
      endpoints: [{ name: 'pc', match: 'https://api.example.com./*' }],
    });
    expect(dotted.resolve('GET', 'https://api.example.com/v1').key).toBe('pc https://api.example.com');
    expect(dotted.resolve('GET', 'https://api.example.com./v1').key).toBe('pc https://api.example.com');
    // Another host stays another upstream.
    expect(dotted.resolve('GET', 'https://api.example.co/v1').name).toBe('default');
  });

  it('puts a broad rule declared first ahead of narrower ones', () => {
    const resolver = createEndpointResolver({
      endpoints: [
        { name: 'broad', match: '/*' },
        { name: 'narrow', match: 'GET /v1/customers/:id' },
      ],
    });
    expect(resolver.resolve('GET', 'https://x.example/v1/customers/1').name).toBe('broad');
  });

  it('falls back to the default policy under the name default', () => {
    const resolver = createEndpointResolver(config);
    const resolved = resolver.resolve('GET', 'https://other.example:8443/v2/x?token=abc');
    expect(resolved.name).toBe('default');
    expect(resolved.key).toBe('default https://other.example:8443');
    expect(resolved.policy.retry.maxAttempts).toBe(3);
    expect(resolved.policy.breaker).toEqual(DEFAULT_POLICY.breaker);
    expect(createEndpointResolver({}).resolve('GET', 'https://x.example/').policy).toEqual(DEFAULT_POLICY);
  });

  it('merges each policy once and shares the frozen result', () => {
    const resolver = createEndpointResolver(config);
    const a = resolver.resolve('GET', 'https://api.example.com/v1/customers/1');
    const b = resolver.resolve('GET', 'https://api.example.com/v1/customers/2?x=1');
    expect(a.policy).toBe(b.policy);
    expect(Object.isFrozen(a.policy.retry)).toBe(true);
    const d1 = resolver.resolve('GET', 'https://a.example/');
    const d2 = resolver.resolve('GET', 'https://b.example/');
    expect(d1.policy).toBe(d2.policy);
  });

  it('keys never carry the path or the query', () => {
    const resolver = createEndpointResolver(config);
    const { key } = resolver.resolve('GET', 'https://api.example.com/v1/customers/42?token=secret');
    expect(key).not.toContain('/v1');
    expect(key).not.toContain('secret');
  });

  it('keeps keys bounded: 2,000 distinct URLs over 50 rules give at most 50 × origins keys', () => {
    const endpoints = Array.from({ length: 49 }, (_, i) => ({ name: `r${i}`, match: `/api/r${i}/*` }));
    const resolver = createEndpointResolver({ endpoints: [...endpoints, { name: 'rest', match: '/*' }] });
    const origins = ['https://a.example', 'https://b.example:8443', 'http://c.example'];
    const keys = new Set<string>();
    const urls = new Set<string>();
    fc.assert(
      fc.property(
        fc.constantFrom(...origins),
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.webSegment(), { maxLength: 4 }),
        fc.webQueryParameters(),
        (origin, rule, segments, query) => {
          const url = `${origin}/api/r${rule}/${segments.join('/')}?${query}`;
          urls.add(url);
          keys.add(resolver.resolve('GET', url).key);
        },
      ),
      { seed: 7, numRuns: 2_000 },
    );
    expect(urls.size).toBeGreaterThan(1_500);
    expect(keys.size).toBeLessThanOrEqual(50 * origins.length);
  });

  it('resolves the same after a JSON round trip of the configuration', () => {
    const copy = JSON.parse(JSON.stringify(config)) as EndpointsConfig;
    const original = createEndpointResolver(config);
    const revived = createEndpointResolver(copy);
    expect(revived.rules).toEqual(original.rules);
    for (const [method, url] of [
      ['GET', 'https://api.example.com/v1/customers/1'],
      ['POST', 'https://z.example/v1/customers/1/orders'],
      ['PUT', 'https://z.example/v1/x'],
      ['GET', 'https://z.example/v2'],
    ] as const) {
      expect(revived.resolve(method, url)).toEqual(original.resolve(method, url));
    }
  });

  it('lists its rules in order', () => {
    expect(createEndpointResolver(config).rules).toEqual([
      { name: 'customers', match: 'GET https://api.example.com/v1/customers/*' },
      { name: 'orders', match: 'POST */v1/customers/:id/orders' },
      { name: 'everything-v1', match: '/v1/*' },
    ]);
  });

  it('throws a TypeError for a relative URL, without echoing it', () => {
    const resolver = createEndpointResolver(config);
    expect(() => resolver.resolve('GET', '/v1/customers?token=secret')).toThrow(TypeError);
    expect(() => resolver.resolve('GET', '/v1/customers?token=secret')).toThrow(/absolute URL/);
    expect(() => resolver.resolve('GET', '/v1/customers?token=secret')).not.toThrow(/secret/);
    expect(() => resolver.resolve('BAD METHOD', 'https://x.example/')).toThrow(TypeError);
  });

  it.each<[string, unknown, string, string]>([
    ['a non-object configuration', [], '', 'must be an object'],
    ['an unknown top-level key', { endpoint: [] }, 'endpoint', "(did you mean 'endpoints'?)"],
    ['endpoints not an array', { endpoints: {} }, 'endpoints', 'must be an array'],
    ['a rule not an object', { endpoints: ['GET /x'] }, 'endpoints[0]', 'must be an object'],
    [
      'an unknown rule key',
      { endpoints: [{ name: 'a', match: '/x', polcy: {} }] },
      'endpoints[0].polcy',
      "(did you mean 'policy'?)",
    ],
    ['an empty name', { endpoints: [{ name: '', match: '/x' }] }, 'endpoints[0].name', 'non-empty string'],
    [
      'a name with a space',
      { endpoints: [{ name: 'orders api', match: '/x' }] },
      'endpoints[0].name',
      'no spaces or control characters',
    ],
    [
      'a name with a newline',
      { endpoints: [{ name: 'a\nb', match: '/x' }] },
      'endpoints[0].name',
      'no spaces or control characters',
    ],
    ['a missing name', { endpoints: [{ match: '/x' }] }, 'endpoints[0].name', 'non-empty string'],
    ['the reserved name', { endpoints: [{ name: 'default', match: '/x' }] }, 'endpoints[0].name', 'reserved'],
    [
      'a duplicate name',
      {
        endpoints: [
          { name: 'a', match: '/x' },
          { name: 'b', match: '/y' },
          { name: 'a', match: '/z' },
        ],
      },
      'endpoints[2].name',
      "duplicate name 'a' (also endpoints[0].name)",
    ],
    ['a missing match', { endpoints: [{ name: 'a' }] }, 'endpoints[0].match', 'must be a string'],
    [
      'an unparseable match',
      {
        endpoints: [
          { name: 'a', match: '/x' },
          { name: 'b', match: '/y' },
          { name: 'c', match: '/v1/**' },
        ],
      },
      'endpoints[2].match',
      "'*' that is not a whole segment",
    ],
    [
      'a bad rule policy',
      {
        endpoints: [
          { name: 'a', match: '/x' },
          { name: 'b', match: '/y' },
          { name: 'c', match: '/z', policy: { retry: { maxAttempts: 0 } } },
        ],
      },
      'endpoints[2].policy.retry.maxAttempts',
      'must be an integer >= 1, got 0',
    ],
    [
      'a rule policy conflicting with the default policy',
      {
        policy: { timeout: { totalMs: 5_000, attemptMs: 1_000 } },
        endpoints: [{ name: 'a', match: '/x', policy: { timeout: { attemptMs: 6_000 } } }],
      },
      'endpoints[0].policy.timeout.attemptMs',
      'exceeds timeout.totalMs (5000)',
    ],
    [
      'a bad default policy',
      { policy: { breaker: { failureRatio: 0 } } },
      'policy.breaker.failureRatio',
      'in (0, 1]',
    ],
  ])('rejects %s', (_, input, path, reason) => {
    const error = configError(() => createEndpointResolver(input as EndpointsConfig));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });
});

describe('keyHeader: one key per header value', () => {
  const resolver = createEndpointResolver({
    endpoints: [{ name: 'tenants', match: '/v1/*', keyHeader: 'X-Tenant-Id' }],
  });

  it('partitions the key by the header value', () => {
    const a = resolver.resolve('GET', 'https://api.test/v1/x', new Headers({ 'x-tenant-id': 'contoso' }));
    const b = resolver.resolve('GET', 'https://api.test/v1/y', new Headers({ 'x-tenant-id': 'fabrikam' }));
    const none = resolver.resolve('GET', 'https://api.test/v1/y');
    expect(a.key).toBe('tenants https://api.test x-tenant-id=contoso');
    expect(b.key).toBe('tenants https://api.test x-tenant-id=fabrikam');
    expect(none.key).toBe('tenants https://api.test x-tenant-id=');
  });

  it('hashes a long or unusual value instead of echoing it', () => {
    const value = `${'z'.repeat(80)} secret-ish`;
    const { key } = resolver.resolve('GET', 'https://api.test/v1/x', new Headers({ 'x-tenant-id': value }));
    expect(key).toMatch(/^tenants https:\/\/api\.test x-tenant-id=#[0-9a-f]{8}$/);
    expect(key).not.toContain('secret-ish');
  });

  it.each([
    ['bad header', 'RFC 9110 token'],
    ['', 'RFC 9110 token'],
  ])('rejects keyHeader %j', (keyHeader, reason) => {
    const error = configError(() =>
      createEndpointResolver({ endpoints: [{ name: 'a', match: '/x', keyHeader }] }),
    );
    expect(error.path).toBe('endpoints[0].keyHeader');
    expect(error.reason).toContain(reason);
  });
});
