import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate } from './www-authenticate.ts';

describe('parseWwwAuthenticate', () => {
  it('parses the Partner Center challenge with its unquoted, colon-bearing realm', () => {
    expect(parseWwwAuthenticate('OAuth realm=urn:cpsvc:cpid:4c2f5e1a-8b7d-4e3f-9c6a-1d2e3f4a5b6c')).toEqual([
      { scheme: 'OAuth', params: { realm: 'urn:cpsvc:cpid:4c2f5e1a-8b7d-4e3f-9c6a-1d2e3f4a5b6c' } },
    ]);
  });

  it('returns [] for a missing, empty or blank header', () => {
    expect(parseWwwAuthenticate(null)).toEqual([]);
    expect(parseWwwAuthenticate('')).toEqual([]);
    expect(parseWwwAuthenticate(' , ,')).toEqual([]);
  });

  it('parses a scheme with no parameters', () => {
    expect(parseWwwAuthenticate('Negotiate')).toEqual([{ scheme: 'Negotiate', params: {} }]);
  });

  it('parses quoted strings with escapes, commas and spaces', () => {
    const [c] = parseWwwAuthenticate(
      'Bearer realm="example, \\"quoted\\" \\\\ here", error="invalid_token", error_description="The token expired"',
    );
    expect(c).toEqual({
      scheme: 'Bearer',
      params: {
        realm: 'example, "quoted" \\ here',
        error: 'invalid_token',
        error_description: 'The token expired',
      },
    });
  });

  it('splits several challenges in one header (RFC 9110 example)', () => {
    const header = 'Basic realm="simple", Newauth realm="apps", type=1, title="Login to \\"apps\\""';
    expect(parseWwwAuthenticate(header)).toEqual([
      { scheme: 'Basic', params: { realm: 'simple' } },
      { scheme: 'Newauth', params: { realm: 'apps', type: '1', title: 'Login to "apps"' } },
    ]);
  });

  it('parses token68 challenges', () => {
    expect(parseWwwAuthenticate('Negotiate YIIBzgYGKwYBBQUCoIIBwjCCAb6gMDAu==, Basic realm="x"')).toEqual([
      { scheme: 'Negotiate', params: {}, token68: 'YIIBzgYGKwYBBQUCoIIBwjCCAb6gMDAu==' },
      { scheme: 'Basic', params: { realm: 'x' } },
    ]);
    expect(parseWwwAuthenticate('Custom abc/+.~_-')).toEqual([
      { scheme: 'Custom', params: {}, token68: 'abc/+.~_-' },
    ]);
  });

  it('allows whitespace around "=" and lower-cases parameter names', () => {
    expect(parseWwwAuthenticate('Bearer  Realm = "r" ,  Scope=read')).toEqual([
      { scheme: 'Bearer', params: { realm: 'r', scope: 'read' } },
    ]);
  });

  it('keeps the first of duplicated parameters', () => {
    expect(parseWwwAuthenticate('Bearer realm=a, realm=b')[0]?.params).toEqual({ realm: 'a' });
  });

  it('does not let a parameter named __proto__ touch the prototype', () => {
    const [c] = parseWwwAuthenticate('Bearer __proto__=x, realm=y');
    expect(Object.getOwnPropertyDescriptor(c?.params, '__proto__')?.value).toBe('x');
    expect(c?.params.realm).toBe('y');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('gives parameters an ordinary object, which a log line can print (audit s23: one with no prototype threw)', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="x", constructor=y, hasownproperty=z');
    expect(() => `params: ${c?.params}`).not.toThrow();
    expect(Object.hasOwn(c?.params ?? {}, 'realm')).toBe(true);
    expect(c?.params.constructor).toBe('y');
    // A name first seen as inherited (constructor) still counts once: the first occurrence wins.
    expect(parseWwwAuthenticate('Bearer constructor=a, constructor=b')[0]?.params).toEqual({
      constructor: 'a',
    });
  });

  it('accepts an empty quoted value and an unterminated quoted string', () => {
    expect(parseWwwAuthenticate('Bearer realm="", error="unterminated')).toEqual([
      { scheme: 'Bearer', params: { realm: '', error: 'unterminated' } },
    ]);
  });

  it('returns what parsed from garbage', () => {
    expect(parseWwwAuthenticate('@@@, Bearer realm=x')).toEqual([
      { scheme: 'Bearer', params: { realm: 'x' } },
    ]);
    expect(parseWwwAuthenticate('realm="a,b", Basic')).toEqual([{ scheme: 'Basic', params: {} }]);
    expect(parseWwwAuthenticate('Bearer =x, realm=y')).toEqual([
      { scheme: 'Bearer', params: { realm: 'y' } },
    ]);
  });

  it('never throws, and always returns well-formed challenges', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (header) => {
        const challenges = parseWwwAuthenticate(header);
        for (const c of challenges) {
          expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/);
          for (const v of Object.values(c.params)) expect(typeof v).toBe('string');
        }
      }),
      { seed: 20_240_501, numRuns: 500 },
    );
  });

  it('round-trips generated challenges', () => {
    const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,8}$/);
    const value = fc.string({ maxLength: 12 });
    fc.assert(
      fc.property(token, fc.dictionary(token, value, { minKeys: 1, maxKeys: 4 }), (scheme, params) => {
        const lower = Object.fromEntries(
          Object.entries(params)
            .map(([k, v]) => [k.toLowerCase(), v] as const)
            .filter(([k], i, all) => all.findIndex(([k2]) => k2 === k) === i),
        );
        const header = `${scheme} ${Object.entries(lower)
          .map(([k, v]) => `${k}="${v.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)
          .join(', ')}, Basic realm="next"`;
        expect(parseWwwAuthenticate(header)).toEqual([
          { scheme, params: lower },
          { scheme: 'Basic', params: { realm: 'next' } },
        ]);
      }),
      { seed: 7, numRuns: 200 },
    );
  });
});
