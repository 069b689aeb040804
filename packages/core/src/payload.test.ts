import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseErrorPayload, readErrorPayload, truncate } from './payload.ts';

const FIXTURES = new URL('../../../fixtures/partner-center/', import.meta.url);

interface Fixture {
  status: number;
  headers: Record<string, string>;
  body?: unknown;
  bodyText?: string;
}

function fixture(name: string): Fixture {
  return JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8')) as Fixture;
}

function fixtureResponse(name: string): Response {
  const f = fixture(name);
  const text = f.bodyText ?? JSON.stringify(f.body);
  return new Response(text, { status: f.status, headers: f.headers });
}

/** A stream of `total` bytes of `fill`, counting how many bytes the consumer pulled. */
function countingStream(total: number, chunkSize: number, fill = 0x61) {
  const counter = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled >= total) {
        controller.close();
        return;
      }
      const size = Math.min(chunkSize, total - counter.pulled);
      counter.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(fill));
    },
    cancel() {
      counter.cancelled = true;
    },
  });
  return { stream, counter };
}

describe('readErrorPayload on Partner Center fixtures', () => {
  it('reads every fixture without throwing', async () => {
    const names = readdirSync(FIXTURES).filter((n) => n.endsWith('.json'));
    expect(names.length).toBeGreaterThanOrEqual(9);
    for (const name of names) {
      await expect(readErrorPayload(fixtureResponse(name))).resolves.toBeTypeOf('object');
    }
  });

  it('documented shape with a numeric code', async () => {
    const p = await readErrorPayload(fixtureResponse('404-partner-not-found.json'));
    expect(p).toEqual({
      code: '3000',
      description: 'Partner Organization with partner_id 9999999 could not be found',
      data: [],
      source: 'PartnerFD',
      raw: fixture('404-partner-not-found.json').body,
    });
  });

  it('documented shape with data strings', async () => {
    const p = await readErrorPayload(fixtureResponse('400-quota-exceeded.json'));
    expect(p.code).toBe('60012');
    expect(p.description).toBe('License quota exceeded for the requested product.');
    expect(p.data).toEqual([
      "LicenseQuotaExceededException : Not enough licenses available for product 'contoso-sku'.",
    ]);
    expect(p.source).toBe('PartnerApiServiceControllers');
    expect(p).not.toHaveProperty('isRetryable');
  });

  it('documented shape with a string code', async () => {
    const p = await readErrorPayload(fixtureResponse('409-order-in-progress.json'));
    expect(p.code).toBe('800060');
    expect(p.description).toBe(
      'Your order is in progress. Please wait a few minutes and check the order status.',
    );
    expect(p.source).toBe('PartnerFD');
    const p500 = await readErrorPayload(fixtureResponse('500-internal.json'));
    expect(p500.code).toBe('800003');
    expect(p500.description).toBe('An unexpected error occurred while processing the request.');
    const p401 = await readErrorPayload(fixtureResponse('401-unauthorized.json'));
    expect(p401.code).toBe('800001');
    expect(p401.description).toBe('The access token is missing, expired or invalid.');
  });

  it('extended shape keeps message, errorName, isRetryable and parameters', async () => {
    const p = await readErrorPayload(fixtureResponse('409-extended-not-retryable.json'));
    expect(p).toMatchObject({
      code: '600061',
      message: 'The agreement is already confirmed.',
      description: 'The agreement is already confirmed.',
      errorName: 'PartnerConfirmedAgreementAlreadyExists',
      isRetryable: false,
      parameters: {},
    });
    expect(p).not.toHaveProperty('source');
    expect(p).not.toHaveProperty('data');
    expect((p.raw as Record<string, unknown>).errorMessageExtended).toBe('InternalErrorCode=600061');
  });

  it('gateway throttling shape keeps the message and no code', async () => {
    const p = await readErrorPayload(fixtureResponse('429-gateway-throttled.json'));
    expect(p).toEqual({
      message: 'Rate limit is exceeded. Try again in 57 seconds.',
      raw: { statusCode: 429, message: 'Rate limit is exceeded. Try again in 57 seconds.' },
    });
  });

  it('old schema keeps what maps and the rest in raw', async () => {
    const p = await readErrorPayload(fixtureResponse('400-old-schema.json'));
    expect(p.code).toBe('2007');
    expect(p.description).toBe('{"message":"The address could not be validated.","field":"postalCode"}');
    expect(p.data).toEqual({ field: 'postalCode' });
    expect(p.source).toBe('Error');
    expect((p.raw as { other_errors: unknown[] }).other_errors).toHaveLength(1);
  });

  it('text body becomes the description', async () => {
    const p = await readErrorPayload(fixtureResponse('503-busy-text.json'));
    expect(p).toEqual({ description: 'Service Unavailable' });
  });
});

describe('readErrorPayload bounds and failures', () => {
  it('does not read a 10 MiB body past the bound, and cancels the rest', async () => {
    const { stream, counter } = countingStream(10 * 1024 * 1024, 16 * 1024);
    const p = await readErrorPayload(new Response(stream, { status: 500 }));
    // The stream may pull one chunk ahead of the reader (highWaterMark 1), never more.
    expect(counter.pulled).toBeLessThanOrEqual(65_536 + 2 * 16 * 1024);
    expect(counter.cancelled).toBe(true);
    expect(p.description).toHaveLength(1024);
  });

  it('honours a custom bound exactly', async () => {
    const p = await readErrorPayload(new Response('abcdefghij'), 4);
    expect(p).toEqual({ description: 'abcd' });
    expect(await readErrorPayload(new Response('abc'), 0)).toEqual({});
  });

  it('rejects an invalid bound with a RangeError', async () => {
    await expect(readErrorPayload(new Response('x'), -1)).rejects.toThrow(RangeError);
    await expect(readErrorPayload(new Response('x'), Number.NaN)).rejects.toThrow(/limitBytes/);
  });

  it('a JSON body cut by the bound still yields a payload', async () => {
    const body = JSON.stringify({ code: 1, description: 'x'.repeat(200) });
    const p = await readErrorPayload(
      new Response(body, { headers: { 'content-type': 'application/json' } }),
      50,
    );
    expect(p.description).toBe(body.slice(0, 50));
  });

  it('a JSON body cut by the bound keeps the members that arrived whole (errors audit s23)', async () => {
    const details = Array.from({ length: 5_000 }, (_, n) => ({ field: `item${n}`, reason: 'invalid value' }));
    const body = JSON.stringify({
      code: 600012,
      description: 'Validation failed',
      isRetryable: false,
      details,
    });
    expect(body.length).toBeGreaterThan(65_536);
    const payload = await readErrorPayload(
      new Response(body, { status: 400, headers: { 'content-type': 'application/json' } }),
    );
    expect(payload).toMatchObject({ code: '600012', description: 'Validation failed', isRetryable: false });
    expect(payload.raw).toEqual({ code: 600012, description: 'Validation failed', isRetryable: false });
  });

  it('a cut JSON body whose whole members say nothing readable keeps its text as the description', async () => {
    const body = `{"source":"PartnerFD","items":[${'"x",'.repeat(20_000)}"y"]}`;
    const payload = await readErrorPayload(new Response(body, { status: 400 }), 1_000);
    expect(payload.source).toBe('PartnerFD');
    expect(payload.description).toBe(body.slice(0, 1_000));
  });

  it('null body gives an empty payload', async () => {
    expect(await readErrorPayload(new Response(null, { status: 404 }))).toEqual({});
  });

  it('empty body gives an empty payload', async () => {
    expect(await readErrorPayload(new Response('', { status: 500 }))).toEqual({});
    expect(
      await readErrorPayload(new Response('  \n', { headers: { 'content-type': 'application/json' } })),
    ).toEqual({});
  });

  it('already used body gives an empty payload', async () => {
    const res = new Response('{"code":1}');
    await res.text();
    expect(await readErrorPayload(res)).toEqual({});
  });

  it('locked body gives an empty payload', async () => {
    const res = new Response('{"code":1}');
    res.body?.getReader();
    expect(await readErrorPayload(res)).toEqual({});
  });

  it('body that errors mid-read keeps what arrived', async () => {
    let step = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        step += 1;
        if (step === 1) controller.enqueue(new TextEncoder().encode('partial '));
        else controller.error(new Error('ECONNRESET'));
      },
    });
    const p = await readErrorPayload(new Response(stream, { status: 502 }));
    expect(p).toEqual({ description: 'partial' });
  });

  it('body that errors at once gives an empty payload', async () => {
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.error(new Error('boom'));
      },
    });
    expect(await readErrorPayload(new Response(stream))).toEqual({});
  });

  it('decodes multi-byte characters split across chunks', async () => {
    const bytes = new TextEncoder().encode('{"description":"é€😀"}');
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const b of bytes) controller.enqueue(new Uint8Array([b]));
        controller.close();
      },
    });
    const p = await readErrorPayload(new Response(stream));
    expect(p.description).toBe('é€😀');
  });
});

describe('readErrorPayload: bounded in time by a signal', () => {
  /** A body that sends `text` and then nothing, ever; records whether it was cancelled. */
  function stalledBody(text: string): { response: Response; cancelled: () => boolean } {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
      },
      cancel() {
        cancelled = true;
      },
    });
    const response = new Response(stream, { status: 503, headers: { 'content-type': 'text/plain' } });
    return { response, cancelled: () => cancelled };
  }

  it('ends a stalled read on abort, keeps what arrived, and cancels the stream', async () => {
    const { response, cancelled } = stalledBody('Service busy, please');
    const controller = new AbortController();
    const read = readErrorPayload(response, undefined, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort(new Error('deadline'));
    await expect(read).resolves.toEqual({ description: 'Service busy, please' });
    expect(cancelled()).toBe(true);
  });

  it('reads nothing with a signal already aborted, and frees the body', async () => {
    const { response, cancelled } = stalledBody('{"code": 1');
    await expect(readErrorPayload(response, undefined, AbortSignal.abort())).resolves.toEqual({});
    expect(cancelled()).toBe(true);
  });
});

describe('parseErrorPayload', () => {
  it('truncates descriptions and messages to 1024 characters', () => {
    const long = 'd'.repeat(5000);
    const p = parseErrorPayload(JSON.stringify({ description: long, message: long }), 'application/json');
    expect(p.description).toHaveLength(1024);
    expect(p.description?.endsWith('…')).toBe(true);
    expect(p.message).toHaveLength(1024);
  });

  it('truncates a text body to 1024 characters', () => {
    const p = parseErrorPayload(`<html>${'x'.repeat(3000)}</html>`, 'text/html');
    expect(p.description).toHaveLength(1024);
    expect(p).not.toHaveProperty('raw');
  });

  it('does not split a surrogate pair when truncating', () => {
    const cut = truncate(`${'a'.repeat(1022)}😀😀`);
    expect(cut).toBe(`${'a'.repeat(1022)}…`);
    expect(truncate('short')).toBe('short');
  });

  it('broken JSON keeps the members that arrived whole, its text as the description, and never throws', () => {
    expect(parseErrorPayload('{"code": 3000, "descr', 'application/json')).toEqual({
      code: '3000',
      description: '{"code": 3000, "descr',
      raw: { code: 3000 },
    });
    expect(parseErrorPayload('{"descr', 'application/json')).toEqual({ description: '{"descr' });
    expect(parseErrorPayload('not json', 'application/json')).toEqual({ description: 'not json' });
  });

  it('JSON that is not an object is kept as raw with its text as description', () => {
    expect(parseErrorPayload('[1,2]', 'application/json')).toEqual({ description: '[1,2]', raw: [1, 2] });
    expect(parseErrorPayload('"Bad gateway"', 'application/json')).toEqual({
      description: 'Bad gateway',
      raw: 'Bad gateway',
    });
    expect(parseErrorPayload('null', 'application/json')).toEqual({ description: 'null', raw: null });
  });

  it('recognises JSON behind a wrong content type, and +json types', () => {
    expect(parseErrorPayload('{"code":7}', 'text/plain').code).toBe('7');
    expect(parseErrorPayload('{"code":7}', null).code).toBe('7');
    expect(parseErrorPayload('{"code":7}', 'application/problem+json; charset=utf-8').code).toBe('7');
  });

  it('ignores fields of the wrong type', () => {
    const p = parseErrorPayload(
      JSON.stringify({ code: {}, description: 5, source: [], isRetryable: 'maybe', errorName: null }),
      'application/json',
    );
    expect(Object.keys(p)).toEqual(['raw']);
  });

  it('accepts stringified booleans and old or nested field names', () => {
    expect(parseErrorPayload('{"isRetryable":"true"}', null).isRetryable).toBe(true);
    expect(parseErrorPayload('{"error_code":"2008","error_description":"State"}', null)).toMatchObject({
      code: '2008',
      description: 'State',
    });
    expect(parseErrorPayload('{"error":{"code":"Throttled","message":"Slow down"}}', null)).toMatchObject({
      code: 'Throttled',
      message: 'Slow down',
    });
  });

  it('never sets an absent field to undefined', () => {
    const p = parseErrorPayload('{"code":1}', 'application/json');
    expect(Object.keys(p).sort()).toEqual(['code', 'raw']);
  });
});
