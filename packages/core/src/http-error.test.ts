import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { Response as UndiciResponse } from 'undici';
import { describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';

const FIXTURES = new URL('../../../fixtures/partner-center/', import.meta.url);
const NOW = Date.parse('2026-10-21T07:27:00Z');
const URL_WITH_SECRETS = 'https://user:pw@api.partnercenter.microsoft.com/v1/customers/abc?token=s3cr3t#frag';
const SAFE_URL = 'https://api.partnercenter.microsoft.com/v1/customers/abc?token=REDACTED';

interface Fixture {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  bodyText?: string;
}

function fixtureResponse(name: string): Response {
  const f = JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Fixture;
  const text = f.bodyText ?? JSON.stringify(f.body);
  return new Response(text, { status: f.status, headers: f.headers });
}

function fromFixture(name: string, context: Parameters<typeof HttpError.from>[1] = {}) {
  return HttpError.from(fixtureResponse(name), {
    method: 'get',
    url: URL_WITH_SECRETS,
    now: NOW,
    ...context,
  });
}

describe('HttpError.from on Partner Center fixtures', () => {
  it('404: documented payload, ids from the response, redacted message', async () => {
    const e = await fromFixture('404-partner-not-found.json');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('HttpError');
    expect(e.status).toBe(404);
    expect(e.code).toBe('3000');
    expect(e.description).toBe('Partner Organization with partner_id 9999999 could not be found');
    expect(e.data).toEqual([]);
    expect(e.source).toBe('PartnerFD');
    expect(e.requestId).toBe('7f3b1a52-2c1d-4c55-9a39-0b6c1f0f8e21');
    expect(e.correlationId).toBe('0b1f4d3e-9a7c-4e51-8d0a-6a2d9c4b7e10');
    expect(e.method).toBe('GET');
    expect(e.url).toBe(SAFE_URL);
    expect(e.attempts).toBe(1);
    expect(e.retryAfterMs).toBeUndefined();
    expect(e.challenge).toBeUndefined();
    expect(e.challenges).toEqual([]);
    expect(e.message).toBe(
      `breakwater: HTTP 404 Not Found: Partner Organization with partner_id 9999999 could not be found (code 3000) [GET ${SAFE_URL}]`,
    );
    expect(e.message).not.toContain('s3cr3t');
    expect(e.message).not.toContain('pw');
  });

  it('401: parsed OAuth challenge', async () => {
    const e = await fromFixture('401-unauthorized.json');
    expect(e.status).toBe(401);
    expect(e.code).toBe('800001');
    expect(e.description).toBe('The access token is missing, expired or invalid.');
    expect(e.source).toBe('PartnerFD');
    expect(e.challenge).toEqual({
      scheme: 'OAuth',
      params: { realm: 'urn:cpsvc:cpid:4c2f5e1a-8b7d-4e3f-9c6a-1d2e3f4a5b6c' },
    });
    expect(e.challenges).toHaveLength(1);
  });

  it('429: gateway message, Retry-After in ms', async () => {
    const e = await fromFixture('429-gateway-throttled.json');
    expect(e.status).toBe(429);
    expect(e.retryAfterMs).toBe(57_000);
    expect(e.code).toBeUndefined();
    expect(e.serverMessage).toBe('Rate limit is exceeded. Try again in 57 seconds.');
    expect(e.message).toBe(
      `breakwater: HTTP 429 Too Many Requests: Rate limit is exceeded. Try again in 57 seconds. [GET ${SAFE_URL}]`,
    );
  });

  it('503: text body as description, HTTP-date Retry-After against the injected clock', async () => {
    const e = await fromFixture('503-busy-text.json');
    expect(e.description).toBe('Service Unavailable');
    expect(e.code).toBeUndefined();
    expect(e.retryAfterMs).toBe(60_000);
    const later = await fromFixture('503-busy-text.json', { now: Date.parse('2026-10-21T08:00:00Z') });
    expect(later.retryAfterMs).toBe(0);
  });

  it('409 extended: errorName, isRetryable, parameters, serverMessage', async () => {
    const e = await fromFixture('409-extended-not-retryable.json');
    expect(e.code).toBe('600061');
    expect(e.errorName).toBe('PartnerConfirmedAgreementAlreadyExists');
    expect(e.isRetryable).toBe(false);
    expect(e.parameters).toEqual({});
    expect(e.serverMessage).toBe('The agreement is already confirmed.');
    expect(e.source).toBeUndefined();
  });

  it('documented payloads with numeric and string codes', async () => {
    const quota = await fromFixture('400-quota-exceeded.json');
    expect([quota.status, quota.code, quota.source]).toEqual([400, '60012', 'PartnerApiServiceControllers']);
    expect(quota.isRetryable).toBeUndefined();
    const inProgress = await fromFixture('409-order-in-progress.json');
    expect([inProgress.code, inProgress.description]).toEqual([
      '800060',
      'Your order is in progress. Please wait a few minutes and check the order status.',
    ]);
    const internal = await fromFixture('500-internal.json');
    expect([internal.status, internal.code, internal.source]).toEqual([500, '800003', 'PartnerFD']);
    const old = await fromFixture('400-old-schema.json');
    expect([old.code, old.source]).toEqual(['2007', 'Error']);
    expect(old.data).toEqual({ field: 'postalCode' });
  });
});

describe("HttpError from another fetch's response", () => {
  it("reads npm undici's Response as it is, without a cast", async () => {
    const response = new UndiciResponse('{"code":"X","isRetryable":false}', {
      status: 409,
      headers: { 'content-type': 'application/json', 'retry-after': '3' },
    });
    const error = await HttpError.from(response, { now: NOW });
    expect(error).toMatchObject({ status: 409, code: 'X', isRetryable: false, retryAfterMs: 3_000 });
    expect(error.response).toBe(response);
    expect(error.response.bodyUsed).toBe(true);
  });

  it('takes a response with no body stream (a test double) and builds the error from its status and headers', async () => {
    const response = {
      ok: false,
      status: 503,
      statusText: 'Service Unavailable',
      url: '',
      headers: new Headers({ 'retry-after': '2' }),
      text: async () => 'never read',
    };
    const error = await HttpError.from(response, { now: NOW });
    expect(error).toMatchObject({ status: 503, retryAfterMs: 2_000 });
    expect(error.payload).toEqual({});
    expect(new HttpError({ response }).status).toBe(503);
  });
});

describe('HttpError', () => {
  it('consumes the response body and keeps the response', async () => {
    const res = fixtureResponse('500-internal.json');
    const e = await HttpError.from(res);
    expect(e.response).toBe(res);
    expect(res.bodyUsed).toBe(true);
    expect(e.payload.code).toBe('800003');
  });

  it('a body already consumed still gives an HttpError with an empty payload', async () => {
    const res = new Response('{"code":1}', { status: 502, statusText: 'Bad Gateway' });
    await res.text();
    const e = await HttpError.from(res);
    expect(e.payload).toEqual({});
    expect(e.message).toBe('breakwater: HTTP 502 Bad Gateway');
  });

  it('falls back to request ids, and prefers those of the response', async () => {
    const requestHeaders = new Headers({ 'MS-RequestId': 'req-1', 'MS-CorrelationId': 'corr-1' });
    const e = await HttpError.from(new Response('', { status: 500 }), { requestHeaders });
    expect([e.requestId, e.correlationId]).toEqual(['req-1', 'corr-1']);
    const own = await HttpError.from(
      new Response('', { status: 500, headers: { 'ms-requestid': 'res-1' } }),
      {
        requestHeaders,
      },
    );
    expect([own.requestId, own.correlationId]).toEqual(['res-1', 'corr-1']);
  });

  it('uses the given retryAfterMs, attempts and endpoint', async () => {
    const e = await HttpError.from(fixtureResponse('429-gateway-throttled.json'), {
      retryAfterMs: 1_500,
      attempts: 4,
      endpoint: 'customers https://api.partnercenter.microsoft.com',
    });
    expect(e.retryAfterMs).toBe(1_500);
    expect(e.attempts).toBe(4);
    expect(e.endpoint).toBe('customers https://api.partnercenter.microsoft.com');
  });

  it('rejects bad context values clearly', () => {
    const res = new Response(null, { status: 500 });
    expect(() => new HttpError(res, {}, { attempts: 0 })).toThrow(/attempts/);
    expect(() => new HttpError(res, {}, { retryAfterMs: -1 })).toThrow(/retryAfterMs/);
  });

  it('keeps a given delay of 0 (the server\'s "retry now"), and refuses NaN and Infinity, which no server says', () => {
    const response = new Response(null, { status: 503 });
    expect(new HttpError({ response, retryAfterMs: 0 }).retryAfterMs).toBe(0);
    for (const retryAfterMs of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new HttpError({ response, retryAfterMs })).toThrow(
        new RangeError(
          `breakwater: HttpError: retryAfterMs must be a finite number >= 0, got ${retryAfterMs}`,
        ),
      );
    }
  });

  it('reads the body only up to the given bound', async () => {
    const e = await HttpError.from(new Response('x'.repeat(10_000), { status: 500 }), { bodyLimitBytes: 10 });
    expect(e.description).toBe('xxxxxxxxxx');
  });

  it('uses reason phrases when the status text is empty, and leaves out what is unknown', () => {
    expect(new HttpError(new Response(null, { status: 503 })).message).toBe(
      'breakwater: HTTP 503 Service Unavailable',
    );
    expect(new HttpError(new Response(null, { status: 599 })).message).toBe('breakwater: HTTP 599');
    expect(new HttpError(new Response(null, { status: 500 }), {}, { method: 'post' }).message).toBe(
      'breakwater: HTTP 500 Internal Server Error [POST]',
    );
  });

  it('keeps the message short and on one line', () => {
    const description = `line one\n${'word '.repeat(300)}`;
    const e = new HttpError(new Response(null, { status: 400 }), { description });
    expect(e.message).not.toContain('\n');
    expect(e.message.length).toBeLessThan(350);
    expect(e.description).toBe(description);
  });

  it('never puts query values or userinfo in its message, url or JSON form', async () => {
    const e = await HttpError.from(new Response('{"code":1}', { status: 400 }), {
      url: new URL('https://u:pa55@host.example/x?api_key=K3Y#t0k'),
      requestHeaders: new Headers({ authorization: 'Bearer T0K3N' }),
    });
    const json = JSON.stringify(e);
    for (const secret of ['pa55', 'K3Y', 't0k', 'T0K3N']) {
      expect(e.message).not.toContain(secret);
      expect(json).not.toContain(secret);
    }
    expect(JSON.parse(json)).toMatchObject({
      status: 400,
      code: '1',
      url: 'https://host.example/x?api_key=REDACTED',
    });
    expect(JSON.parse(json)).not.toHaveProperty('response');
  });

  it('isHttpError recognises HttpErrors, including from another copy of the package', () => {
    const e = new HttpError(new Response(null, { status: 404 }));
    expect(HttpError.isHttpError(e)).toBe(true);
    expect(HttpError.isHttpError(new Error('x'))).toBe(false);
    expect(HttpError.isHttpError(null)).toBe(false);
    expect(HttpError.isHttpError({ status: 404 })).toBe(false);
    const foreign = Object.create({ [Symbol.for('breakwater.HttpError')]: true }) as object;
    expect(HttpError.isHttpError(foreign)).toBe(true);
  });

  it('prints under util.inspect as an Error does: within the depth asked, a cycle through it as such', () => {
    const error = new HttpError({
      response: new Response(null, { status: 409 }),
      payload: { code: '600', raw: { code: 600, data: { level2: { level3: 'deep' } } } },
    }) as HttpError & { self?: unknown; context?: unknown };
    // Within the depth asked, counted from the top: two levels down, 2 of 4 are left for its fields.
    const nested = inspect({ call: { error } }, { depth: 4 });
    expect(nested).toContain("code: '600'");
    expect(nested).toContain('raw: { code: 600, data: [Object] }');
    expect(inspect({ a: { b: { c: error } } }, { depth: 2 })).toContain('c: [HttpError]');
    // A cycle (a logger's context that points back at the error) ends, as it does for any Error.
    error.self = error;
    const outer = new Error('request failed', { cause: error });
    error.context = { outer };
    for (const depth of [2, null]) {
      const printed = inspect(outer, { depth });
      expect(printed.length).toBeLessThan(20_000);
      expect(printed).toContain('breakwater: HTTP 409 Conflict');
      expect(printed).toContain('[Circular');
    }
  });
});
