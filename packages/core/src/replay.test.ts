import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import { DEFAULT_MAX_BUFFER_BYTES, type PreparedRequest, prepareRequest } from './replay.ts';

/** What the echo server saw. */
interface Echo {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array<ArrayBuffer>;
}

let server: LoopbackServer;
let origin: string;

beforeAll(async () => {
  server = await listenOnLoopback((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({
          method: req.method,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('base64'),
        }),
      );
    });
  });
  origin = server.origin;
});

afterAll(() => server.close());

afterEach(() => {
  vi.unstubAllGlobals();
});

async function send(prepared: PreparedRequest): Promise<Echo> {
  const [input, init] = prepared.attempt(new AbortController().signal);
  const res = await fetch(input, init);
  const json = (await res.json()) as { method: string; headers: Echo['headers']; body: string };
  return {
    method: json.method,
    headers: json.headers,
    body: new Uint8Array(Buffer.from(json.body, 'base64')),
  };
}

/** Sends the prepared request twice and checks both attempts reached the server identically. */
async function sendTwice(prepared: PreparedRequest): Promise<Echo> {
  const first = await send(prepared);
  const second = await send(prepared);
  expect(second).toEqual(first);
  return first;
}

const bytes = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(new TextEncoder().encode(text));

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[i++];
      if (chunk) controller.enqueue(chunk);
      else controller.close();
    },
  });
}

/** A fake fetch that records the (input, init) of every call. */
function recordingFetch() {
  const calls: Array<[RequestInfo | URL, RequestInit]> = [];
  return {
    calls,
    fetch: async (input: RequestInfo | URL, init: RequestInit) => {
      calls.push([input, init]);
      return new Response('ok');
    },
  };
}

describe('prepareRequest: bodies reach the server identically on every attempt', () => {
  const cases: Array<[string, () => BodyInit, Uint8Array, string | undefined]> = [
    ['string', () => '{"a":1}', bytes('{"a":1}'), 'text/plain;charset=UTF-8'],
    ['ArrayBuffer', () => bytes('buffer').buffer, bytes('buffer'), undefined],
    ['Uint8Array', () => bytes('typed array'), bytes('typed array'), undefined],
    [
      'a typed array view into a larger buffer',
      () => new Uint8Array(bytes('xxpartxx').buffer, 2, 4),
      bytes('part'),
      undefined,
    ],
    ['DataView', () => new DataView(bytes('data view').buffer), bytes('data view'), undefined],
    [
      'Blob',
      () => new Blob(['blob body'], { type: 'application/x-test' }),
      bytes('blob body'),
      'application/x-test',
    ],
    [
      'URLSearchParams',
      () => new URLSearchParams({ q: 'a b', n: '1' }),
      bytes('q=a+b&n=1'),
      'application/x-www-form-urlencoded;charset=UTF-8',
    ],
  ];

  it.each(cases)('%s', async (_name, makeBody, expected, contentType) => {
    const prepared = await prepareRequest(`${origin}/x`, { method: 'POST', body: makeBody() }, {});
    expect(prepared.replayable).toBe(true);
    const echo = await sendTwice(prepared);
    expect(echo.body).toEqual(expected);
    expect(echo.headers['content-type']).toBe(contentType);
  });

  it('FormData with a file part (fresh boundary per attempt, same parts)', async () => {
    const form = new FormData();
    form.append('name', 'contoso');
    form.append(
      'file',
      new Blob([new Uint8Array([0, 1, 2, 255])], { type: 'application/octet-stream' }),
      'a.bin',
    );
    const prepared = await prepareRequest(`${origin}/upload`, { method: 'POST', body: form }, {});

    const parts = [];
    for (let i = 0; i < 2; i++) {
      const echo = await send(prepared);
      const contentType = String(echo.headers['content-type']);
      expect(contentType).toMatch(/^multipart\/form-data; boundary=/);
      const parsed = await new Response(echo.body, { headers: { 'content-type': contentType } }).formData();
      const file = parsed.get('file') as File;
      parts.push({
        name: parsed.get('name'),
        fileName: file.name,
        fileType: file.type,
        fileBytes: new Uint8Array(await file.arrayBuffer()),
      });
    }
    expect(parts[0]).toEqual({
      name: 'contoso',
      fileName: 'a.bin',
      fileType: 'application/octet-stream',
      fileBytes: new Uint8Array([0, 1, 2, 255]),
    });
    expect(parts[1]).toEqual(parts[0]);
  });

  it('a Request input with headers and body', async () => {
    const request = new Request(`${origin}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'ms-correlationid': 'c-1' },
      body: '{"qty":2}',
    });
    const prepared = await prepareRequest(request, undefined, {});
    expect(prepared.method).toBe('POST');
    expect(prepared.replayable).toBe(true);
    const echo = await sendTwice(prepared);
    expect(echo.method).toBe('POST');
    expect(echo.headers['content-type']).toBe('application/json');
    expect(echo.headers['ms-correlationid']).toBe('c-1');
    expect(echo.body).toEqual(bytes('{"qty":2}'));
  });

  it('a Request built from FormData keeps its multipart Content-Type with the matching boundary', async () => {
    const form = new FormData();
    form.append('k', 'v');
    const request = new Request(`${origin}/form`, { method: 'POST', body: form });
    const prepared = await prepareRequest(request, undefined, {});
    expect(prepared.headers.get('content-type')).toMatch(/^multipart\/form-data; boundary=/);
    const echo = await sendTwice(prepared);
    const parsed = await new Response(echo.body, {
      headers: { 'content-type': String(echo.headers['content-type']) },
    }).formData();
    expect(parsed.get('k')).toBe('v');
  });

  it('a ReadableStream within the limit is streamed, kept and replayed, with no Content-Type invented', async () => {
    const body = streamOf([bytes('chunk-1;'), bytes('chunk-2;'), bytes('chunk-3')]);
    const prepared = await prepareRequest(
      `${origin}/s`,
      { method: 'PUT', body, duplex: 'half' } as RequestInit,
      { maxBufferBytes: 64 },
    );
    expect(prepared.replayable).toBe(true);
    expect(prepared.notReplayableReason).toBeUndefined();
    const echo = await sendTwice(prepared);
    expect(prepared.replayable).toBe(true);
    expect(echo.body).toEqual(bytes('chunk-1;chunk-2;chunk-3'));
    expect(echo.headers['content-type']).toBeUndefined();
    // Streamed, as fetch streams a ReadableStream body: chunked on every attempt.
    expect(echo.headers['transfer-encoding']).toBe('chunked');
  });

  it('a stream of exactly maxBufferBytes is still replayable', async () => {
    const prepared = await prepareRequest(
      `${origin}/s`,
      { method: 'POST', body: streamOf([bytes('12345'), bytes('67890')]), duplex: 'half' } as RequestInit,
      { maxBufferBytes: 10 },
    );
    expect((await sendTwice(prepared)).body).toEqual(bytes('1234567890'));
    expect(prepared.replayable).toBe(true);
  });

  it('an async iterable body (accepted by Node fetch) is kept and replayed like a stream', async () => {
    async function* parts() {
      yield bytes('a');
      yield bytes('b');
    }
    const body = parts() as unknown as BodyInit;
    const prepared = await prepareRequest(
      `${origin}/s`,
      { method: 'POST', body, duplex: 'half' } as RequestInit,
      {},
    );
    expect((await sendTwice(prepared)).body).toEqual(bytes('ab'));
  });

  it('a buffer mutated by the caller after the call does not change later attempts', async () => {
    const buffer = bytes('original');
    const prepared = await prepareRequest(`${origin}/m`, { method: 'POST', body: buffer }, {});
    const first = await send(prepared);
    buffer.set(bytes('MUTATED!'));
    const second = await send(prepared);
    expect(first.body).toEqual(bytes('original'));
    expect(second.body).toEqual(bytes('original'));
  });
});

describe('prepareRequest: a stream beyond maxBufferBytes', () => {
  it('is sent once, complete and byte-exact, and is not replayable', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => new Uint8Array(1000).fill(i));
    const expected = new Uint8Array(40_000);
    chunks.forEach((chunk, i) => {
      expected.set(chunk, i * 1000);
    });
    const prepared = await prepareRequest(
      `${origin}/big`,
      { method: 'POST', body: streamOf(chunks), duplex: 'half' } as RequestInit,
      { maxBufferBytes: 4096 },
    );
    // Nothing is read before the first attempt, so nothing is known yet.
    expect(prepared.replayable).toBe(true);

    const echo = await send(prepared);
    expect(echo.body.byteLength).toBe(40_000);
    expect(echo.body).toEqual(expected);
    expect(prepared.replayable).toBe(false);
    expect(prepared.notReplayableReason).toBe('body-too-large-to-buffer');

    expect(() => prepared.attempt(new AbortController().signal)).toThrow(/cannot be sent again/);
  });

  it("passes the caller's duplex as given, and a stream body fresh per attempt", async () => {
    const prepared = await prepareRequest(
      `${origin}/big`,
      { method: 'POST', body: streamOf([bytes('abc'), bytes('def')]), duplex: 'half' } as RequestInit,
      { maxBufferBytes: 2 },
    );
    const [, init] = prepared.attempt(new AbortController().signal);
    expect((init as { duplex?: string }).duplex).toBe('half');
    expect(init.body).toBeInstanceOf(ReadableStream);
    const [, withoutDuplex] = (
      await prepareRequest(`${origin}/big`, { method: 'POST', body: streamOf([bytes('abc')]) }, {})
    ).attempt(new AbortController().signal);
    expect('duplex' in withoutDuplex).toBe(false);
  });

  it("cancelling a one-shot body cancels the caller's stream; a replayable one waits for release", async () => {
    const cancel = vi.fn();
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes(`chunk-${sent++}`));
      },
      cancel,
    });
    const prepared = await prepareRequest(
      `${origin}/big`,
      { method: 'POST', body, duplex: 'half' } as RequestInit,
      { maxBufferBytes: 8 },
    );
    const [, init] = prepared.attempt(new AbortController().signal);
    const attemptBody = init.body as ReadableStream<Uint8Array>;
    const reader = attemptBody.getReader();
    await reader.read();
    expect(prepared.replayable).toBe(true);
    await reader.read(); // past 8 bytes: one-shot from here
    expect(prepared.replayable).toBe(false);
    await reader.cancel('attempt aborted');
    expect(cancel).toHaveBeenCalledWith('attempt aborted');
  });

  it('release() cancels a replayable stream that no attempt will read again', async () => {
    const cancel = vi.fn();
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(bytes('x'));
      },
      cancel,
    });
    const prepared = await prepareRequest(`${origin}/r`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit);
    const [, init] = prepared.attempt(new AbortController().signal);
    await (init.body as ReadableStream<Uint8Array>).cancel('attempt timed out');
    expect(cancel).not.toHaveBeenCalled();
    const reason = new Error('call over');
    prepared.release(reason);
    await vi.waitFor(() => expect(body.locked).toBe(false));
    expect(cancel).toHaveBeenCalledWith(reason);
  });

  it('a maxBufferBytes of 0 sends every non-empty stream once', async () => {
    const prepared = await prepareRequest(
      `${origin}/zero`,
      { method: 'POST', body: streamOf([bytes('x')]), duplex: 'half' } as RequestInit,
      { maxBufferBytes: 0 },
    );
    expect((await send(prepared)).body).toEqual(bytes('x'));
    expect(prepared.replayable).toBe(false);
  });
});

describe('prepareRequest: a stream is teed, not buffered first', () => {
  /** A source of `count` chunks `c0;`, `c1;` ... that counts its pulls. */
  function countedSource(count: number) {
    const source = { pulls: 0, cancelled: undefined as unknown };
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (source.pulls >= count) controller.close();
          else controller.enqueue(bytes(`c${source.pulls};`));
          source.pulls += 1;
        },
        cancel(reason) {
          source.cancelled = reason;
        },
      },
      { highWaterMark: 0 },
    );
    return { source, body };
  }

  async function readAll(stream: ReadableStream<unknown>, limit = Number.POSITIVE_INFINITY): Promise<string> {
    const reader = stream.getReader();
    let text = '';
    for (let i = 0; i < limit; i++) {
      const { done, value } = await reader.read();
      if (done) return text;
      text += new TextDecoder().decode(value as Uint8Array);
    }
    await reader.cancel('attempt stopped');
    return text;
  }

  const post = (body: ReadableStream<Uint8Array>) =>
    ({ method: 'POST', body, duplex: 'half' }) as RequestInit;

  it('reads nothing before an attempt reads its body', async () => {
    const { source, body } = countedSource(3);
    const prepared = await prepareRequest(`${origin}/t`, post(body), {});
    prepared.attempt(new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(source.pulls).toBe(0);
  });

  it('a retry replays what the first attempt read, then pulls the source on; each chunk is read once', async () => {
    const { source, body } = countedSource(4);
    const prepared = await prepareRequest(`${origin}/t`, post(body), { maxBufferBytes: 100 });
    const first = prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>;
    expect(await readAll(first, 2)).toBe('c0;c1;');
    expect(prepared.replayable).toBe(true);
    expect(source.cancelled).toBeUndefined();
    const second = prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>;
    expect(await readAll(second)).toBe('c0;c1;c2;c3;');
    expect(source.pulls).toBe(5); // four chunks and the close
    const third = prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>;
    expect(await readAll(third)).toBe('c0;c1;c2;c3;');
    expect(source.pulls).toBe(5);
  });

  it("an earlier attempt's body errors once a later attempt has taken over", async () => {
    const { body } = countedSource(4);
    const prepared = await prepareRequest(`${origin}/t`, post(body), {});
    const first = (
      prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>
    ).getReader();
    await first.read();
    prepared.attempt(new AbortController().signal);
    await expect(first.read()).rejects.toThrow(/later attempt took over/);
  });

  it('a retry that goes past maxBufferBytes is the last: no attempt after it', async () => {
    const { body } = countedSource(4);
    const prepared = await prepareRequest(`${origin}/t`, post(body), { maxBufferBytes: 7 });
    expect(await readAll(prepared.attempt(new AbortController().signal)[1].body as ReadableStream, 1)).toBe(
      'c0;',
    );
    expect(prepared.replayable).toBe(true);
    const second = prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>;
    expect(await readAll(second)).toBe('c0;c1;c2;c3;');
    expect(prepared.replayable).toBe(false);
    expect(() => prepared.attempt(new AbortController().signal)).toThrow(/cannot be sent again/);
  });

  it('a body released mid-send errors rather than ending as if complete', async () => {
    const { source, body } = countedSource(4);
    const prepared = await prepareRequest(`${origin}/t`, post(body), {});
    const reader = (
      prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>
    ).getReader();
    await reader.read();
    const reason = new Error('call over');
    prepared.release(reason);
    await expect(reader.read()).rejects.toBe(reason);
    await vi.waitFor(() => expect(source.cancelled).toBe(reason));
  });

  it('a source that fails makes the request not replayable (body-stream-errored)', async () => {
    const failure = new Error('disk gone');
    const body = new ReadableStream<Uint8Array>({
      pull() {
        throw failure;
      },
    });
    const prepared = await prepareRequest(`${origin}/t`, post(body), {});
    const attemptBody = prepared.attempt(new AbortController().signal)[1].body as ReadableStream<unknown>;
    await expect(attemptBody.getReader().read()).rejects.toBe(failure);
    expect(prepared.replayable).toBe(false);
    expect(prepared.notReplayableReason).toBe('body-stream-errored');
  });
});

describe('prepareRequest: Request input and init', () => {
  it('init method, headers and body override those of the Request', async () => {
    const request = new Request(`${origin}/r`, {
      method: 'POST',
      headers: { 'x-from': 'request' },
      body: 'request body',
    });
    const prepared = await prepareRequest(
      request,
      { method: 'put', headers: { 'x-from': 'init' }, body: 'init body' },
      {},
    );
    expect(prepared.method).toBe('PUT');
    const echo = await sendTwice(prepared);
    expect(echo.method).toBe('PUT');
    expect(echo.headers['x-from']).toBe('init');
    expect(echo.body).toEqual(bytes('init body'));
    // As with new Request(request, { body }), the Request's own body is left unread.
    expect(request.bodyUsed).toBe(false);
  });

  it('hands the Request itself to fetch, so that everything it holds is read by fetch', async () => {
    const request = new Request(`${origin}/r`, { redirect: 'manual', keepalive: true, cache: 'no-store' });
    const { calls, fetch: fake } = recordingFetch();
    const prepared = await prepareRequest(request, { cache: 'reload' }, {});
    const [input, init] = prepared.attempt(new AbortController().signal);
    await fake(input, init);
    expect(calls[0]?.[0]).toBe(request);
    // The Request's headers as they were at the call: the Request's own can be changed after it.
    expect(calls[0]?.[1]).toEqual({
      cache: 'reload',
      signal: expect.any(AbortSignal),
      headers: expect.any(Headers),
    });
    const merged = new Request(input as Request, init);
    expect(merged).toMatchObject({ redirect: 'manual', keepalive: true, cache: 'reload', method: 'GET' });
  });

  it('passes every other init member through untouched on every attempt, including unknown ones', async () => {
    const dispatcher = { dispatch: () => true };
    const custom = { nested: [1, 2] };
    const init = {
      method: 'POST',
      body: 'x',
      redirect: 'error',
      credentials: 'omit',
      cache: 'no-cache',
      mode: 'same-origin',
      referrer: 'https://app.example/',
      referrerPolicy: 'no-referrer',
      integrity: 'sha256-abc',
      keepalive: true,
      priority: 'high',
      dispatcher,
      custom,
    } as RequestInit;
    const prepared = await prepareRequest('https://api.example/v1', init, {});
    const { calls, fetch: fake } = recordingFetch();
    for (let i = 0; i < 2; i++) await fake(...prepared.attempt(new AbortController().signal));
    for (const [, seen] of calls) {
      const { headers, signal, body, ...rest } = seen as Record<string, unknown>;
      expect(rest).toEqual({
        method: 'POST',
        redirect: 'error',
        credentials: 'omit',
        cache: 'no-cache',
        mode: 'same-origin',
        referrer: 'https://app.example/',
        referrerPolicy: 'no-referrer',
        integrity: 'sha256-abc',
        keepalive: true,
        priority: 'high',
        dispatcher,
        custom,
      });
      expect(rest.dispatcher).toBe(dispatcher);
      expect(rest.custom).toBe(custom);
      expect(body).toBe('x');
      expect(headers).toBeUndefined();
      expect(signal).toBeInstanceOf(AbortSignal);
    }
  });

  it("undici's dispatcher reaches undici's fetch", async () => {
    const agent = new Agent();
    const dispatch = vi.spyOn(agent, 'dispatch');
    try {
      const prepared = await prepareRequest(
        `${origin}/d`,
        { method: 'POST', body: 'via agent', dispatcher: agent } as RequestInit,
        {},
      );
      for (let i = 0; i < 2; i++) {
        const [input, init] = prepared.attempt(new AbortController().signal);
        const res = await undiciFetch(input as string, init as Parameters<typeof undiciFetch>[1]);
        const echo = (await res.json()) as { body: string };
        expect(Buffer.from(echo.body, 'base64').toString()).toBe('via agent');
      }
      expect(dispatch).toHaveBeenCalledTimes(2);
    } finally {
      await agent.close();
    }
  });

  it("does not pass the caller's signal through: each attempt carries the one it is given", async () => {
    const callerSignal = new AbortController().signal;
    const request = new Request(`${origin}/sig`, { signal: new AbortController().signal });
    for (const prepared of [
      await prepareRequest(`${origin}/sig`, { signal: callerSignal }, {}),
      await prepareRequest(request, undefined, {}),
    ]) {
      const attemptSignal = new AbortController().signal;
      const [, init] = prepared.attempt(attemptSignal);
      expect(init.signal).toBe(attemptSignal);
    }
  });

  it('the attempt signal aborts the real fetch', async () => {
    const prepared = await prepareRequest(`${origin}/abort`, undefined, {});
    const controller = new AbortController();
    controller.abort(new Error('attempt timeout'));
    await expect(fetch(...prepared.attempt(controller.signal))).rejects.toThrow('attempt timeout');
  });

  it('sends headers added with setHeader on every attempt; edits by fetch do not leak', async () => {
    const prepared = await prepareRequest(`${origin}/h`, { headers: { accept: 'application/json' } }, {});
    prepared.setHeader('MS-RequestId', 'req-1');
    const [, first] = prepared.attempt(new AbortController().signal);
    expect(first.headers).toEqual([
      ['accept', 'application/json'],
      ['MS-RequestId', 'req-1'],
    ]);
    (first.headers as Array<[string, string]>).push(['x-edited-by-fetch', '1']);
    const echo = await sendTwice(prepared);
    expect(echo.headers['ms-requestid']).toBe('req-1');
    expect(echo.headers.accept).toBe('application/json');
    expect(echo.headers['x-edited-by-fetch']).toBeUndefined();
  });

  it('accepts a URL object and leaves the caller’s URL alone', async () => {
    const url = new URL(`${origin}/u?x=1`);
    const prepared = await prepareRequest(url, undefined, {});
    expect(prepared.url.href).toBe(url.href);
    expect(prepared.url).not.toBe(url);
  });
});

describe('prepareRequest: methods', () => {
  it.each([
    ['get', 'GET'],
    ['Post', 'POST'],
    ['delete', 'DELETE'],
    ['options', 'OPTIONS'],
    ['head', 'HEAD'],
    ['put', 'PUT'],
    ['patch', 'patch'],
    ['PATCH', 'PATCH'],
    ['mkcol', 'mkcol'],
  ])('%s -> %s, as fetch normalises it (fetch itself gets it as given)', async (given, expected) => {
    const prepared = await prepareRequest('https://api.example/', { method: given }, {});
    expect(prepared.method).toBe(expected);
    expect(prepared.attempt(new AbortController().signal)[1].method).toBe(given);
  });

  it('defaults to GET', async () => {
    expect((await prepareRequest('https://api.example/', undefined)).method).toBe('GET');
  });

  it.each(['CONNECT', 'trace', 'track', 'GE T', ''])('rejects %j with a TypeError', async (method) => {
    await expect(prepareRequest('https://api.example/', { method }, {})).rejects.toThrow(TypeError);
  });
});

describe('prepareRequest: rejects what fetch rejects', () => {
  it.each(['GET', 'HEAD', 'get'])('%s with a body', async (method) => {
    await expect(prepareRequest(`${origin}/`, { method, body: 'x' }, {})).rejects.toThrow(
      /GET|HEAD request cannot have a body/,
    );
  });

  it("GET that would inherit a Request's body", async () => {
    const request = new Request(`${origin}/`, { method: 'POST', body: 'x' });
    await expect(prepareRequest(request, { method: 'GET' }, {})).rejects.toThrow(TypeError);
  });

  it('a Request whose body was already used', async () => {
    const request = new Request(`${origin}/`, { method: 'POST', body: 'x' });
    await request.text();
    const error = await prepareRequest(request, undefined, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/already used \(body-already-used\)/);
    // A body given in init replaces the used one, as with new Request(request, { body }).
    const prepared = await prepareRequest(request, { body: 'fresh' }, {});
    expect((await sendTwice(prepared)).body).toEqual(bytes('fresh'));
  });

  it('a locked stream', async () => {
    const body = streamOf([bytes('x')]);
    body.getReader();
    await expect(prepareRequest(`${origin}/`, { method: 'POST', body }, {})).rejects.toThrow(/locked/);
  });

  it('a stream chunk that is a string goes to fetch as given (undici sends it as UTF-8)', async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue('text é');
        controller.close();
      },
    });
    const prepared = await prepareRequest(
      `${origin}/`,
      { method: 'POST', body, duplex: 'half' } as RequestInit,
      {},
    );
    expect((await sendTwice(prepared)).body).toEqual(bytes('text é'));
  });

  it('a relative URL, with a clear message that keeps query values out', async () => {
    const error = await prepareRequest('/v1/customers?token=s3cret', undefined, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    const message = (error as Error).message;
    expect(message).toMatch(/"\/v1\/customers\?…": not an absolute URL/);
    expect(message).toMatch(/no base URL \(baseUrl, setGlobalOrigin\(\) or globalThis\.location\)/);
    expect(message).not.toContain('s3cret');
  });

  it('a URL with credentials, without echoing them', async () => {
    const error = await prepareRequest('https://user:hunter2@api.example/', undefined, {}).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/includes credentials/);
    expect((error as Error).message).not.toContain('hunter2');
  });
});

describe('prepareRequest: relative URLs in browsers', () => {
  it('resolves against globalThis.location when it exists', async () => {
    vi.stubGlobal('location', { href: 'https://app.example/portal/page' });
    const prepared = await prepareRequest('../api/items?x=1', undefined, {});
    expect(prepared.url.href).toBe('https://app.example/api/items?x=1');
  });
});

it('DEFAULT_MAX_BUFFER_BYTES is 1 MiB', () => {
  expect(DEFAULT_MAX_BUFFER_BYTES).toBe(1_048_576);
});
