import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSecretHeader, redactHeaders, redactUrl } from './redact.ts';

describe('redactUrl', () => {
  it('replaces every query value and keeps the names of name=value parts', () => {
    expect(redactUrl('https://api.example.com/v1/customers?size=10&token=abc&flag&empty=')).toBe(
      'https://api.example.com/v1/customers?size=REDACTED&token=REDACTED&REDACTED&empty=REDACTED',
    );
  });

  it('keeps only a name that reads as a name: a part whose text before its = is not one goes whole', () => {
    expect(redactUrl('https://h.example/x?S3CR3T;a=1&ids[]=2&a.b-c~d=3&p%20q=4')).toBe(
      'https://h.example/x?REDACTED&ids[]=REDACTED&a.b-c~d=REDACTED&p%20q=REDACTED',
    );
  });

  it('drops userinfo and the fragment', () => {
    expect(redactUrl('https://user:p%40ss@api.example.com:8443/a/b?q=1#access_token=xyz')).toBe(
      'https://api.example.com:8443/a/b?q=REDACTED',
    );
    expect(redactUrl('https://user@host/')).toBe('https://host/');
  });

  it('keeps a URL without query as is', () => {
    expect(redactUrl('https://api.partnercenter.microsoft.com/v1/customers/abc')).toBe(
      'https://api.partnercenter.microsoft.com/v1/customers/abc',
    );
    expect(redactUrl('https://host/path?')).toBe('https://host/path');
  });

  it('accepts URL objects without changing them', () => {
    const url = new URL('https://u:p@host/x?secret=1#f');
    expect(redactUrl(url)).toBe('https://host/x?secret=REDACTED');
    expect(url.href).toBe('https://u:p@host/x?secret=1#f');
  });

  it('keeps a relative reference relative', () => {
    expect(redactUrl('/v1/customers?key=abc#frag')).toBe('/v1/customers?key=REDACTED');
  });

  it('never echoes input it cannot parse', () => {
    expect(redactUrl('not a url?token=secret')).toBe('[invalid URL]');
    expect(redactUrl('')).toBe('[invalid URL]');
    expect(redactUrl('//host/x?token=secret')).toBe('[invalid URL]');
  });

  it('reduces data: URLs', () => {
    expect(redactUrl('data:text/plain,secret')).toBe('data:REDACTED');
  });

  it('never leaks a query value or a password (property)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{6,20}$/).map((s) => `S3CR3T${s}`);
    fc.assert(
      fc.property(secret, secret, secret, (a, b, c) => {
        const out = redactUrl(`https://me:${a}@host.example/p?x=${b}&y=1#${c}`);
        expect(out).not.toContain(a);
        expect(out).not.toContain(b);
        expect(out).not.toContain(c);
      }),
      { seed: 42, numRuns: 100 },
    );
  });
});

describe('redactHeaders', () => {
  it('redacts credentials and keeps the rest', () => {
    const out = redactHeaders({
      Authorization: 'Bearer eyJ...',
      'Proxy-Authorization': 'Basic abc',
      Cookie: 'a=1',
      'Set-Cookie': 'b=2',
      'x-api-key': 'k',
      'api-key': 'k',
      'Ocp-Apim-Subscription-Key': 'k',
      'x-ms-authorization-auxiliary': 'Bearer x',
      'X-Client-Secret': 's',
      'x-refresh-token': 't',
      'MS-RequestId': 'req-1',
      'MS-CorrelationId': 'corr-1',
      'Idempotency-Key': 'idem-1',
      Accept: 'application/json',
    });
    expect(out).toEqual({
      authorization: 'REDACTED',
      'proxy-authorization': 'REDACTED',
      cookie: 'REDACTED',
      'set-cookie': 'REDACTED',
      'x-api-key': 'REDACTED',
      'api-key': 'REDACTED',
      'ocp-apim-subscription-key': 'REDACTED',
      'x-ms-authorization-auxiliary': 'REDACTED',
      'x-client-secret': 'REDACTED',
      'x-refresh-token': 'REDACTED',
      'ms-requestid': 'req-1',
      'ms-correlationid': 'corr-1',
      'idempotency-key': 'idem-1',
      accept: 'application/json',
    });
  });

  it('accepts Headers and arrays of pairs, joining repeated names', () => {
    const h = new Headers([
      ['Accept', 'a'],
      ['Set-Cookie', 'x=1'],
      ['Set-Cookie', 'y=2'],
    ]);
    expect(redactHeaders(h)).toEqual({ accept: 'a', 'set-cookie': 'REDACTED' });
    expect(
      redactHeaders([
        ['X-Trace', '1'],
        ['x-trace', '2'],
        ['Authorization', 'a'],
        ['authorization', 'b'],
      ]),
    ).toEqual({ 'x-trace': '1, 2', authorization: 'REDACTED' });
  });

  it('does not throw on values Headers would reject, and returns a plain object', () => {
    const out = redactHeaders({ 'x-bad': 'line\nbreak', ['__proto__']: 'x' });
    expect(out['x-bad']).toBe('line\nbreak');
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('isSecretHeader is case-insensitive and keeps idempotency keys', () => {
    expect(isSecretHeader('AUTHORIZATION')).toBe(true);
    expect(isSecretHeader('X-MS-Authorization')).toBe(true);
    expect(isSecretHeader('Idempotency-Key')).toBe(false);
    expect(isSecretHeader('Keep-Alive')).toBe(false);
    expect(isSecretHeader('Content-Type')).toBe(false);
  });
});
