/**
 * Request secrets a server echoes in the places and forms the first scrub missed: the 401's
 * `WWW-Authenticate` challenge, the parts of an AWS SigV4 credential, JSON escapes and percent-escapes
 * in a body read as text, a secret cut by the read's bound, the password of a Basic credential.
 * Real loopback HTTP, undici's fetch, through `wrapFetch` and `HttpError.from`.
 */
import { fetch as undiciFetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { expectNowhere, failure, routesOnLoopback, type UndiciInit } from './echoed-secrets.test-util.ts';
import { HttpError } from './http-error.ts';

const fetch = undiciFetch;
const MARK = 'S3CR3T';
const JSON_TYPE = { 'content-type': 'application/json' };

const route = routesOnLoopback();

describe('a 401 whose WWW-Authenticate challenge echoes the token', () => {
  const token = `eyJhbGciOiJIUzI1NiJ9.${MARK}-challenge-token.sig`;
  const challenge = `Bearer realm="api", error="invalid_token", error_description="token ${token} expired", Negotiate ${token}`;

  it('has the token out of the parsed challenge and every printed form, the rest kept', async () => {
    const url = route((_req, res) =>
      res.writeHead(401, { 'www-authenticate': challenge, ...JSON_TYPE }).end('{"code":"401"}'),
    );
    const wrapped = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    // HttpError.from is typed with the global Response; undici's has all it reads.
    const built = await HttpError.from(response, {
      requestHeaders: new Headers({ authorization: `Bearer ${token}` }),
    });
    for (const error of [wrapped, built]) {
      expectNowhere(error, MARK);
      expect(error.challenges).toEqual([
        {
          scheme: 'Bearer',
          params: { realm: 'api', error: 'invalid_token', error_description: 'token REDACTED expired' },
        },
        { scheme: 'Negotiate', params: {}, token68: 'REDACTED' },
      ]);
      expect(error.challenge).toBe(error.challenges[0]);
    }
  });

  it('built by hand, the challenge is scrubbed of the request headers given', () => {
    const response = new Response(null, { status: 401, headers: { 'www-authenticate': challenge } });
    const error = new HttpError({
      response,
      requestHeaders: new Headers({ authorization: `Bearer ${token}` }),
    });
    expectNowhere(error, MARK);
    expect(error.challenge?.params.error_description).toBe('token REDACTED expired');
  });

  it('keeps a challenge that echoes nothing exactly as sent', async () => {
    const url = route((_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'OAuth realm=urn:cpsvc:cpid:123' }).end(),
    );
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    expect(error.challenge).toEqual({ scheme: 'OAuth', params: { realm: 'urn:cpsvc:cpid:123' } });
  });
});

describe('an AWS SigV4 credential', () => {
  const keyId = `AKIA${MARK}EXAMPLE7Q`;
  const scope = '20150830/us-east-1/iam/aws4_request';
  const signature = `${MARK}5d672d79c15b13162d9279b0855cfba6789a8edb4cb0`;
  const authorization = `AWS4-HMAC-SHA256 Credential=${keyId}/${scope}, SignedHeaders=content-type;host;x-amz-date, Signature=${signature}`;

  it('has the access key id, the credential and the signature out, alone or together', async () => {
    const url = route((_req, res) => {
      const body = {
        code: 'InvalidClientTokenId',
        description: `The security token included in the request is invalid: key ${keyId}`,
        message: `Credential=${keyId}/${scope}; expected signature other than ${signature}`,
      };
      res.writeHead(403, JSON_TYPE).end(JSON.stringify(body));
    });
    const error = await failure(url, { headers: { authorization } });
    expectNowhere(error, MARK);
    expect(error.description).toBe('The security token included in the request is invalid: key REDACTED');
    expect(error.serverMessage).toBe('Credential=REDACTED; expected signature other than REDACTED');
  });

  it('keeps the credential scope and the signed header names, which are no secret', async () => {
    const url = route((_req, res) => {
      const text = `Credential should be scoped to ${scope}; SignedHeaders content-type;host;x-amz-date`;
      res.writeHead(403, { 'content-type': 'text/plain' }).end(text);
    });
    const error = await failure(url, { headers: { authorization } });
    expect(error.description).toBe(
      `Credential should be scoped to ${scope}; SignedHeaders content-type;host;x-amz-date`,
    );
  });

  it('of a presigned URL: the access key id of X-Amz-Credential echoed alone', async () => {
    const query = `?X-Amz-Credential=${keyId}%2F20150830%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=${signature}`;
    const url = route((_req, res) =>
      res.writeHead(403, { 'content-type': 'text/plain' }).end(`No key ${keyId}`),
    );
    const error = await failure(`${url}${query}`);
    expect(error.description).toBe('No key REDACTED');
  });
});

describe('a JSON error body cut at the 64 KiB bound', () => {
  const token = `eyJhbGciOiJIUzI1NiJ9.${MARK}/escaped+token.sig`;
  const padding = 'x'.repeat(70_000);
  // PHP writes `/` as `\/`; some encoders escape every non-alphanumeric or arbitrary characters.
  const forms = [
    `\\u0065yJhbGciOiJIUzI1NiJ9.${MARK}\\/escaped+token.sig`,
    `eyJhbGciOiJIUzI1NiJ9.\\u0053\\u0033CR3T\\u002fescaped\\u002Btoken.sig`,
  ];

  it('has the secret out of a member that arrived whole, decoded from \\u escapes or an escaped /', async () => {
    for (const form of forms) {
      const url = route((_req, res) =>
        res.writeHead(401, JSON_TYPE).end(`{"description":"token ${form} expired","pad":"${padding}"}`),
      );
      const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
      expect(error.description).toBe('token REDACTED expired');
      expectNowhere(error, MARK, 'CR3T', 'escaped');
    }
  });

  it('has the secret out of the text of a member the bound cut, written with \\u escapes or an escaped /', async () => {
    for (const form of forms) {
      const url = route((_req, res) =>
        res.writeHead(401, JSON_TYPE).end(`{"description":"token ${form} expired ${padding}"}`),
      );
      const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
      expect(error.description?.startsWith('{"description":"token REDACTED expired xxx')).toBe(true);
      expectNowhere(error, MARK, 'CR3T', 'escaped');
    }
  });

  it('does not take out text that only resembles the secret', async () => {
    const nearMiss = `eyJhbGciOiJIUzI1NiJ9.${MARK}\\/escaped+token.sIg`;
    const url = route((_req, res) =>
      res.writeHead(401, JSON_TYPE).end(`{"description":"token ${nearMiss} ${padding}"}`),
    );
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    expect(error.description?.startsWith(`{"description":"token ${nearMiss} xxx`)).toBe(true);
  });
});

describe('a secret cut by the end of the read', () => {
  const token = `${MARK}-cut-bearer-token-0123456789`;

  it('has the part of the secret before the bound out', async () => {
    const body = `{"description":"token ${token} expired"}`;
    const cutAt = body.indexOf(token) + 14;
    const error = await HttpError.from(new Response(body, { status: 401, headers: JSON_TYPE }), {
      requestHeaders: new Headers({ authorization: `Bearer ${token}` }),
      bodyLimitBytes: cutAt,
    });
    expect(error.description).toBe('{"description":"token REDACTED');
    expectNowhere(error, MARK);
  });

  it('has the part of the secret sent before the body stalled out (wrapFetch, attempt timeout)', async () => {
    const url = route((_req, res) => {
      res.writeHead(401, JSON_TYPE);
      res.write(`{"description":"token ${token.slice(0, 16)}`);
    });
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } }, 300);
    expect(error.description).toBe('{"description":"token REDACTED');
    expectNowhere(error, MARK);
  });

  it('keeps a read to the end that ends like the start of a secret', async () => {
    const text = `see ${token.slice(0, 16)}`;
    const error = await HttpError.from(new Response(text, { status: 401 }), {
      requestHeaders: new Headers({ authorization: `Bearer ${token}` }),
    });
    expect(error.description).toBe(text);
  });
});

const lowerHex = (text: string): string => text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());

describe('other forms of an echoed credential', () => {
  it('a token echoed percent-encoded, in upper or lower case hex', async () => {
    const token = `${MARK}+abc/def==ghij`;
    const url = route((_req, res) =>
      res
        .writeHead(401, { 'content-type': 'text/plain' })
        .end(`next=/login?t=${encodeURIComponent(token)} or ${lowerHex(encodeURIComponent(token))}`),
    );
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    expect(error.description).toBe('next=/login?t=REDACTED or REDACTED');
  });

  it('the user:password of a Basic credential and its password alone, the user name kept', async () => {
    const basic = Buffer.from(`alice:${MARK}-basic-password`).toString('base64');
    const url = route((_req, res) => {
      const body = { description: `alice:${MARK}-basic-password refused; password ${MARK}-basic-password` };
      res.writeHead(401, JSON_TYPE).end(JSON.stringify(body));
    });
    const error = await failure(url, { headers: { authorization: `Basic ${basic}` } });
    expect(error.description).toBe('REDACTED refused; password REDACTED');
    expectNowhere(error, MARK);
  });
});

describe('a top-level JSON array error body', () => {
  it('is described in the same shape whether a secret was taken out or not', async () => {
    const body = (value: string): string => `[\n  {"code": "Denied", "key": "${value}"},\n  "second"\n]`;
    const shown = async (value: string, init: UndiciInit): Promise<string | undefined> => {
      const url = route((_req, res) => res.writeHead(403, JSON_TYPE).end(body(value)));
      return (await failure(url, init)).description;
    };
    const withSecret = await shown(`${MARK}-array-key`, { headers: { 'x-api-key': `${MARK}-array-key` } });
    const without = await shown('ordinary-value', {});
    expect(withSecret).toBe(without?.replace('ordinary-value', 'REDACTED'));
    expect(without).toBe('[{"code":"Denied","key":"ordinary-value"},"second"]');
  });
});
