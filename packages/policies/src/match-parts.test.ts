/**
 * `match` patterns whose parts are split wrongly: several methods written with `|` or spaces (they are
 * one comma-separated part), and a space inside a path. Each refusal says what is at fault.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { createEndpointResolver, parseMatch } from './endpoint.ts';

function reasonOf(pattern: string): string {
  try {
    parseMatch(pattern, 'endpoints[0].match');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('endpoints[0].match');
    return (error as ConfigError).reason;
  }
  throw new Error(`${pattern} was accepted`);
}

describe('match: several methods', () => {
  it.each(['GET|POST */a', 'get|post /a', 'GET/POST */a', 'GET;POST */a'])(
    'refuses %j with the comma-separated form',
    (pattern) => {
      const [methods] = pattern.split(' ');
      expect(reasonOf(pattern)).toBe(
        `has an invalid method '${methods}' (methods are RFC 9110 tokens; list methods as 'GET,POST')`,
      );
    },
  );

  it('refuses space-separated methods, naming the part that should be the origin', () => {
    expect(reasonOf('GET POST */a')).toBe(
      "the origin must be '*' or 'scheme://host[:port]', got 'POST'; list methods as 'GET,POST'",
    );
    expect(reasonOf('GET api.example.com /a')).toBe(
      "the origin must be '*' or 'scheme://host[:port]', got 'api.example.com'",
    );
    expect(reasonOf('GET POST PUT /a')).toBe(
      "has 4 space-separated parts; expected '[METHODS ]TARGET'; list methods as 'GET,POST'",
    );
  });

  it('accepts the comma-separated form', () => {
    const resolver = createEndpointResolver({ endpoints: [{ name: 'w', match: 'GET,POST */a' }] });
    expect(resolver.resolve('POST', 'https://x.test/a').name).toBe('w');
    expect(resolver.resolve('GET', 'https://x.test/a').name).toBe('w');
    expect(resolver.resolve('PUT', 'https://x.test/a').name).toBe('default');
  });
});

describe('match: a space in the path', () => {
  it.each(['*/a b', '/a b', 'GET */a b', '* /a b', '/a b c', 'GET https://a.example /v1 extra'])(
    'refuses %j as a path with a space',
    (pattern) => {
      expect(reasonOf(pattern)).toBe('the path must not contain spaces (write %20)');
    },
  );

  it('still takes %20 in a path', () => {
    const resolver = createEndpointResolver({ endpoints: [{ name: 's', match: '*/a%20b' }] });
    expect(resolver.resolve('GET', 'https://x.test/a%20b').name).toBe('s');
  });
});
