/**
 * Issue 9 item 13: configurations that cannot work are refused when they are built, with the path of
 * the offending value; configurations users write that can work are accepted.
 */
import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';
import type { EndpointsConfig, PolicyInput } from './types.ts';

describe('a success status is never a retry status', () => {
  it.each<[PolicyInput, string]>([
    [{ retry: { statuses: [503, 200] } }, 'policy.retry.statuses[1]'],
    [{ retry: { statuses: [204] } }, 'policy.retry.statuses[0]'],
    [{ retry: { retryAnyMethodStatuses: [429, 299] } }, 'policy.retry.retryAnyMethodStatuses[1]'],
  ])('refuses %j', (input, path) => {
    const error = configError(() => definePolicy(input));
    expect(error.path).toBe(path);
    expect(error.reason).toContain('a 2xx response is a success and is never retried');
  });

  it('names the rule it sits in', () => {
    const error = configError(() =>
      createEndpointResolver({
        endpoints: [{ name: 'a', match: '/x', policy: { retry: { statuses: [201] } } }],
      }),
    );
    expect(error.path).toBe('endpoints[0].policy.retry.statuses[0]');
  });

  it('still accepts every non-2xx status users retry', () => {
    expect(definePolicy({ retry: { statuses: [408, 425, 429, 500, 502, 503, 504] } }).retry.statuses).toEqual(
      [408, 425, 429, 500, 502, 503, 504],
    );
  });
});

describe('a success status is never a breaker failure nor a throttle (audit s24)', () => {
  it.each<[PolicyInput, string]>([
    [{ breaker: { failureStatuses: [200], consecutiveFailures: 1 } }, 'policy.breaker.failureStatuses[0]'],
    [{ throttle: { statuses: [429, 204] } }, 'policy.throttle.statuses[1]'],
  ])('refuses %j', (input, path) => {
    const error = configError(() => definePolicy(input));
    expect(error.path).toBe(path);
    expect(error.reason).toContain('a 2xx response never counts as a failure or a throttle');
  });

  it('still accepts the statuses users count', () => {
    expect(
      definePolicy({ breaker: { failureStatuses: [500, 502, 503, 504, 408] } }).breaker.failureStatuses,
    ).toEqual([500, 502, 503, 504, 408]);
  });
});

describe('a key written one level too high names where it belongs (audit s24)', () => {
  it.each<[PolicyInput, string, string]>([
    [{ maxAttempts: 2 } as PolicyInput, 'policy.maxAttempts', "did you mean 'retry.maxAttempts'?"],
    [{ attemptMs: 5000 } as PolicyInput, 'policy.attemptMs', "did you mean 'timeout.attemptMs'?"],
    [
      { consecutiveFailures: 3 } as PolicyInput,
      'policy.consecutiveFailures',
      "did you mean 'breaker.consecutiveFailures'?",
    ],
  ])('%j', (input, path, hint) => {
    const error = configError(() => definePolicy(input));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(hint);
  });
});

describe('generateHeaders names neither a credential nor a header fetch manages', () => {
  it.each([
    ['Authorization', 'carries credentials'],
    ['x-api-key', 'carries credentials'],
    ['Ocp-Apim-Subscription-Key', 'carries credentials'],
    ['X-Auth-Token', 'carries credentials'],
    ['Cookie', 'carries credentials'],
    ['Content-Length', 'fetch manages it'],
    ['Host', 'fetch manages it'],
    ['transfer-encoding', 'fetch manages it'],
    ['Connection', 'fetch manages it'],
    ['Origin', 'fetch manages it'],
    ['Referer', 'fetch manages it'],
    ['Sec-Fetch-Mode', 'fetch manages it'],
    ['Proxy-Foo', 'fetch manages it'],
    ['X-HTTP-Method-Override', 'fetch manages it'],
  ])('refuses %s', (name, reason) => {
    const error = configError(() => definePolicy({ generateHeaders: ['MS-RequestId', name] }));
    expect(error.path).toBe('policy.generateHeaders[1]');
    expect(error.reason).toContain(reason);
    expect(error.reason).toContain(`'${name}'`);
  });

  it('refuses them in an endpoint rule and in preset overrides too', () => {
    expect(
      configError(() =>
        createEndpointResolver({
          endpoints: [{ name: 'a', match: '/x', policy: { generateHeaders: ['Authorization'] } }],
        }),
      ).path,
    ).toBe('endpoints[0].policy.generateHeaders[0]');
    expect(configError(() => partnerCenter({ generateHeaders: ['Host'] })).path).toBe(
      'overrides.generateHeaders[0]',
    );
  });

  it('accepts request identifiers, Idempotency-Key included', () => {
    const names = ['MS-RequestId', 'MS-CorrelationId', 'Idempotency-Key', 'X-Request-Id'];
    expect(definePolicy({ generateHeaders: names }).generateHeaders).toEqual(names);
  });
});

describe("a rule's match names only methods that exist", () => {
  it.each([
    ['GTE */x', 'GTE', "did you mean 'GET'?"],
    ['POTS */x', 'POTS', "did you mean 'POST'?"],
    ['GET,PTU */x', 'PTU', "did you mean 'PUT'?"],
    ['PACTH */x', 'PACTH', "did you mean 'PATCH'?"],
    ['DELET */x', 'DELET', "did you mean 'DELETE'?"],
    ['purge */x', 'purge', 'write a custom method in upper case'],
    ['Gett */x', 'Gett', "did you mean 'GET'?"],
  ])('refuses %s', (match, method, hint) => {
    const error = configError(() => createEndpointResolver({ endpoints: [{ name: 'a', match }] }));
    expect(error.path).toBe('endpoints[0].match');
    expect(error.reason).toContain(`unknown method '${method}'`);
    expect(error.reason).toContain(hint);
  });

  it.each([
    'GET */x',
    'get */x',
    'patch */x',
    'GET,HEAD,OPTIONS */x',
    'PROPFIND */x',
    'QUERY */x',
    'PURGE */x',
    'MY-METHOD */x',
  ])('accepts %s', (match) => {
    const resolver = createEndpointResolver({ endpoints: [{ name: 'a', match }] });
    const method = match.split(/[ ,]/)[0] as string;
    expect(resolver.resolve(method, 'https://api.example.com/x').name).toBe('a');
  });

  it('applies the same rule to retry.idempotentMethods', () => {
    const error = configError(() => definePolicy({ retry: { idempotentMethods: ['GET', 'PTU'] } }));
    expect(error.path).toBe('policy.retry.idempotentMethods[1]');
    expect(error.reason).toContain("did you mean 'PUT'?");
  });
});

describe('the half-open wait is positive', () => {
  it('refuses breaker.halfOpenAfterMs: 0', () => {
    const error = configError(() => definePolicy({ breaker: { halfOpenAfterMs: 0 } }));
    expect(error.path).toBe('policy.breaker.halfOpenAfterMs');
    expect(error.reason).toContain('must be a finite number of ms > 0, got 0');
  });

  it('refuses breaker.maxHalfOpenAfterMs: 0 (its cap)', () => {
    const error = configError(() => definePolicy({ breaker: { halfOpenAfterMs: 1, maxHalfOpenAfterMs: 0 } }));
    expect(error.path).toBe('policy.breaker.maxHalfOpenAfterMs');
  });
});

describe('an attempt timeout the user did not set fits inside the deadline', () => {
  // totalMs alone cutting (or keeping) the default attempt timeout, through definePolicy, the preset and
  // an endpoint configuration's default policy: unwritten-defaults.test.ts.
  it('an explicit attemptMs above totalMs is still refused', () => {
    const error = configError(() => definePolicy({ timeout: { totalMs: 5_000, attemptMs: 8_000 } }));
    expect(error.path).toBe('policy.timeout.attemptMs');
    expect(error.reason).toContain('8000 exceeds timeout.totalMs (5000)');
  });

  const resolve = (config: EndpointsConfig) =>
    createEndpointResolver(config).resolve('GET', 'https://api.example.com/x').policy.timeout;

  it('in a rule that sets only totalMs: the inherited attempt timeout, explicit or not, is cut to it', () => {
    const rule = { name: 'a', match: '/x', policy: { timeout: { totalMs: 3_000 } } };
    expect(resolve({ endpoints: [rule] })).toEqual({ attemptMs: 3_000, totalMs: 3_000 });
    expect(resolve({ policy: { timeout: { attemptMs: 8_000 } }, endpoints: [rule] })).toEqual({
      attemptMs: 3_000,
      totalMs: 3_000,
    });
    // An inherited attempt timeout already inside the deadline is kept.
    expect(resolve({ policy: { timeout: { attemptMs: 1_000 } }, endpoints: [rule] })).toEqual({
      attemptMs: 1_000,
      totalMs: 3_000,
    });
  });

  it('a rule that sets attemptMs above an inherited deadline is refused, naming the rule', () => {
    const error = configError(() =>
      createEndpointResolver({
        policy: { timeout: { totalMs: 3_000 } },
        endpoints: [{ name: 'a', match: '/x', policy: { timeout: { attemptMs: 8_000 } } }],
      }),
    );
    expect(error.path).toBe('endpoints[0].policy.timeout.attemptMs');
    expect(error.reason).toContain('8000 exceeds timeout.totalMs (3000)');
  });
});
