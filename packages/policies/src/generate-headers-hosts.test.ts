/**
 * `generateHeadersHosts` is a list of host names (session 25): an internationalized name is matched in
 * its ASCII (punycode) form, the one a request's URL carries, and a `'*'` or a pattern, which matched
 * no host at all (headers silently never generated), is refused with what to write instead.
 */
import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';

const generated = (hosts: string[], url: string): readonly string[] =>
  createEndpointResolver({
    policy: { generateHeaders: ['X-Request-Id'], generateHeadersHosts: hosts },
  }).resolve('POST', url).policy.generateHeaders;

describe('generateHeadersHosts', () => {
  it.each([
    ['bücher.example', 'https://bücher.example/v1/orders'],
    ['bücher.example', 'https://xn--bcher-kva.example/v1/orders'],
    ['BÜCHER.example', 'https://Bücher.example/v1/orders'],
  ])('matches the host %s, an IDN, in its ASCII form: %s', (host, url) => {
    expect(generated([host], url)).toEqual(['X-Request-Id']);
    expect(generated([host], 'https://buecher.example/v1/orders')).toEqual([]);
  });

  it.each([
    ['api.example.com', 'https://api.example.com./v1/orders'],
    ['api.example.com.', 'https://api.example.com/v1/orders'],
  ])("matches %s whether or not the name has a fully qualified name's trailing dot: %s", (host, url) => {
    expect(generated([host], url)).toEqual(['X-Request-Id']);
  });

  it.each([
    ['*', 0],
    ['*.example.com', 1],
  ])('refuses %j, a pattern in a list of host names, saying null means every host', (pattern, index) => {
    const hosts = index === 0 ? [pattern] : ['api.example.com', pattern];
    const error = configError(() => definePolicy({ generateHeadersHosts: hosts }));
    expect(error.path).toBe(`policy.generateHeadersHosts[${index}]`);
    expect(error.reason).toBe(
      `must be a host name, not a pattern, got '${pattern}': list each host, or set null for every host`,
    );
  });
});
