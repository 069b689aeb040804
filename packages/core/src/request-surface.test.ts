// The request surface of wrapFetch against real undici fetch, Request and Agent on a loopback server:
// what the wrapped fetch receives must be what the caller gave it (issue 9, items 2-6 and 11).

import { getEventListeners } from 'node:events';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ConfigError } from '@breakwater/policies';
import {
  Agent,
  type Dispatcher,
  setGlobalOrigin,
  type RequestInit as UndiciInit,
  type RequestInfo as UndiciInput,
  Request as UndiciRequest,
  fetch as undiciFetch,
} from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, type RouteHandler, startRoutedServer } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
let origin: string;

beforeAll(async () => {
  server = await startRoutedServer();
  origin = server.origin;
});

afterAll(() => server.close());

afterEach(() => server.reset());

const route = (path: string, handler: RouteHandler): string => server.route(path, handler);

/** A route that reads the whole body and answers `statuses[hit - 1]` (the last one repeats). */
function recordingRoute(
  path: string,
  ...statuses: number[]
): { url: string; bodies: string[]; raw: string[][] } {
  const bodies: string[] = [];
  const raw: string[][] = [];
  const url = route(path, (req, res, hit) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
    });
    req.on('end', () => {
      bodies.push(body);
      raw.push(req.rawHeaders);
      res.writeHead(statuses[Math.min(hit, statuses.length) - 1] ?? 200).end(body);
    });
  });
  return { url, bodies, raw };
}

/** Fast retries so that tests run in milliseconds of real time. */
const FAST = {
  retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } },
  throttle: { enabled: false },
};

const wrappedUndici = (options: Parameters<typeof wrapFetch>[1] = {}) =>
  wrapFetch(undiciFetch, { policy: FAST, ...options });

/** Settles `promise`, or fails with `label` after `ms` of real time. */
async function within<T>(ms: number, label: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms: ${label}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

const rejection = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => new Error('resolved'),
    (error: unknown) => error,
  );

/**
 * Aborts `controller` with a new Error(`message`) 50 ms into `call`, which must then reject with that
 * very reason (within 2 s of real time); returns the reason.
 */
async function expectAbortedMidway(
  controller: AbortController,
  message: string,
  call: () => Promise<unknown>,
): Promise<Error> {
  const reason = new Error(message);
  setTimeout(() => controller.abort(reason), 50);
  expect(await within(2000, 'abort ignored', rejection(call()))).toBe(reason);
  return reason;
}

/** An undici Agent that counts the requests dispatched through it. */
function countingAgent(): { dispatcher: Dispatcher; count: () => number; close: () => Promise<void> } {
  const agent = new Agent();
  let dispatched = 0;
  const dispatcher = agent.compose((dispatch) => (options, handler) => {
    dispatched += 1;
    return dispatch(options, handler);
  });
  return { dispatcher, count: () => dispatched, close: () => agent.close() };
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('item 2: a Request from another implementation (undici) keeps what fetch reads from it', () => {
  it("an undici Request's dispatcher carries every attempt", async () => {
    const { url } = recordingRoute('/dispatcher', 503, 200);
    const agent = countingAgent();
    try {
      const request = new UndiciRequest(url, { dispatcher: agent.dispatcher });
      const res = await wrappedUndici()(request);
      expect(res.status).toBe(200);
      expect(server.hits.get('/dispatcher')).toBe(2);
      expect(agent.count()).toBe(2);
    } finally {
      await agent.close();
    }
  });

  it("an undici Request's dispatcher and body, POSTed with an idempotency key, replayed", async () => {
    const { url, bodies } = recordingRoute('/dispatcher-post', 503, 200);
    const agent = countingAgent();
    try {
      const request = new UndiciRequest(url, {
        method: 'POST',
        body: '{"qty":2}',
        headers: { 'Idempotency-Key': 'k-1', 'content-type': 'application/json' },
        dispatcher: agent.dispatcher,
      });
      const res = await wrappedUndici()(request);
      expect(res.status).toBe(200);
      expect(bodies).toEqual(['{"qty":2}', '{"qty":2}']);
      expect(agent.count()).toBe(2);
    } finally {
      await agent.close();
    }
  });

  it("an undici Request's signal aborts the call with its reason", async () => {
    const url = route('/hang', () => {
      // Never answers.
    });
    const controller = new AbortController();
    const request = new UndiciRequest(url, { signal: controller.signal });
    await expectAbortedMidway(controller, 'caller gave up', () => wrappedUndici()(request));
  });
});

describe('item 3: relative URLs', () => {
  it("resolves against undici's setGlobalOrigin(), with retries", async () => {
    recordingRoute('/relative', 503, 200);
    setGlobalOrigin(origin);
    try {
      const res = await wrappedUndici()('/relative?x=1');
      expect(res.status).toBe(200);
      expect(server.hits.get('/relative')).toBe(2);
    } finally {
      setGlobalOrigin(undefined);
    }
  });

  it('with no base anywhere, rejects with the wrapped fetch’s own error', async () => {
    const plain = await rejection(undiciFetch('/nowhere?token=s3cret'));
    const wrapped = await rejection(wrappedUndici()('/nowhere?token=s3cret'));
    expect(plain).toBeInstanceOf(TypeError);
    expect(wrapped).toBeInstanceOf(TypeError);
    expect((wrapped as Error).message).toBe((plain as Error).message);
  });

  it('a fetch that prefixes its own base URL gets the relative URL as given; baseUrl keys it', async () => {
    recordingRoute('/prefixed', 503, 200);
    const seen: unknown[] = [];
    const prefixing: typeof undiciFetch = (input, init) => {
      seen.push(input);
      return undiciFetch(`${origin}${String(input)}`, init);
    };
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(prefixing, {
      policy: FAST,
      baseUrl: origin,
      onEvent: (event) => events.push(event),
    });
    const res = await wrapped('/prefixed');
    expect(res.status).toBe(200);
    expect(seen).toEqual(['/prefixed', '/prefixed']);
    expect(events.find((e) => e.type === 'retry')?.key).toBe(`default ${origin}`);
  });

  it('without a base, a prefixing fetch still gets the call, once, as given', async () => {
    recordingRoute('/prefixed-once', 503, 200);
    const prefixing: typeof undiciFetch = (input, init) => undiciFetch(`${origin}${String(input)}`, init);
    const res = await wrapFetch(prefixing, { policy: FAST })('/prefixed-once');
    expect(res.status).toBe(503);
    expect(server.hits.get('/prefixed-once')).toBe(1);
  });
});

describe('baseUrl option', () => {
  it.each([
    ['a relative URL', '/v1', /must be an absolute URL/],
    ['a number', 42, /must be an absolute URL, got 42/],
    ['a non-http URL', 'file:///tmp/', /must be an http: or https: URL, got file:/],
  ])('refuses %s with a ConfigError naming baseUrl', (_name, baseUrl, message) => {
    const make = () => wrapFetch(undiciFetch, { baseUrl: baseUrl as string });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(/baseUrl/);
    expect(make).toThrow(message);
  });
});

/** The wrapped undici fetch rejects `input` with undici's own TypeError, having called it once. */
async function expectFetchsErrorOnce(input: UndiciInput): Promise<void> {
  let calls = 0;
  const counting: typeof undiciFetch = (given, init) => {
    calls += 1;
    return undiciFetch(given, init);
  };
  const plain = await rejection(undiciFetch(input));
  const wrapped = await rejection(wrapFetch(counting, { policy: FAST })(input));
  expect(calls).toBe(1);
  expect(wrapped).toBeInstanceOf(TypeError);
  expect((wrapped as Error).message).toBe((plain as Error).message);
}

describe('items 3 and 6: URLs that are not http(s) go to the wrapped fetch once', () => {
  it('a revoked blob: URL fails as with fetch, and is not retried', async () => {
    const blobUrl = URL.createObjectURL(new Blob(['gone']));
    URL.revokeObjectURL(blobUrl);
    await expectFetchsErrorOnce(blobUrl);
  });

  it('a blob: URL that fails as browsers fail it ("Failed to fetch") is not retried', async () => {
    // Chromium's fetch rejects a revoked blob: URL with the same bare TypeError as a network failure.
    const blobUrl = URL.createObjectURL(new Blob(['gone']));
    URL.revokeObjectURL(blobUrl);
    let calls = 0;
    const browserLike: FetchLike = async () => {
      calls += 1;
      throw new TypeError('Failed to fetch');
    };
    const error = await rejection(wrapFetch(browserLike, { policy: FAST })(blobUrl));
    expect(error).toBeInstanceOf(TypeError);
    expect(calls).toBe(1);
  });

  it('a plain object shaped like a Request is no Request: fetch reads it as a string, once, with its own error', async () => {
    // On purpose: the types take no such object.
    await expectFetchsErrorOnce({ url: `${origin}/x`, method: 'GET', headers: {} } as unknown as UndiciInput);
  });

  it('blob: and data: URLs read as with fetch', async () => {
    const blobUrl = URL.createObjectURL(new Blob(['blob text']));
    try {
      expect(await (await wrappedUndici()(blobUrl)).text()).toBe('blob text');
    } finally {
      URL.revokeObjectURL(blobUrl);
    }
    expect(await (await wrappedUndici()('data:text/plain,hello')).text()).toBe('hello');
  });
});

describe('item 4: stream bodies', () => {
  it('a Node Readable that emits strings is sent, and replayed on a retry', async () => {
    const { url, bodies } = recordingRoute('/readable', 503, 200);
    const res = await wrappedUndici()(url, {
      method: 'PUT',
      body: Readable.from(['ab', 'cd', 'é']),
      duplex: 'half',
    });
    expect(res.status).toBe(200);
    expect(bodies).toEqual(['abcdé', 'abcdé']);
  });

  it('a ReadableStream body without duplex is refused with fetch’s own TypeError', async () => {
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes('x'));
          controller.close();
        },
      });
    const { url } = recordingRoute('/no-duplex', 200);
    const plain = await rejection(undiciFetch(url, { method: 'POST', body: stream() }));
    const refused = stream();
    const wrapped = await rejection(wrappedUndici()(url, { method: 'POST', body: refused }));
    // As with fetch, the refused stream is left as it was: unlocked, still readable by its owner.
    expect(refused.locked).toBe(false);
    expect(await new Response(refused).text()).toBe('x');
    expect(plain).toBeInstanceOf(TypeError);
    expect(wrapped).toBeInstanceOf(TypeError);
    expect((wrapped as Error).message).toBe((plain as Error).message);
    expect(server.hits.get('/no-duplex')).toBeUndefined();
  });

  it('an upload streams: the server sees the first chunk before the source has produced the last', async () => {
    let sawFirstChunk: () => void = () => {};
    const firstChunkSeen = new Promise<void>((resolve) => {
      sawFirstChunk = resolve;
    });
    const bodies: string[] = [];
    const url = route('/upload', (req, res, hit) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => {
        body += chunk;
        sawFirstChunk();
      });
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(hit === 1 ? 503 : 200).end();
      });
    });
    let streamedBeforeEnd: boolean | undefined;
    let step = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        step += 1;
        if (step === 1) controller.enqueue(bytes('first;'));
        else if (step === 2) {
          // The last chunk waits until the server has the first one (or 1 s, for a buffering wrapper).
          streamedBeforeEnd = await Promise.race([
            firstChunkSeen.then(() => true),
            new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000)),
          ]);
          controller.enqueue(bytes('last'));
        } else controller.close();
      },
    });
    const res = await wrappedUndici()(url, { method: 'PUT', body, duplex: 'half' });
    expect(res.status).toBe(200);
    expect(streamedBeforeEnd).toBe(true);
    expect(bodies).toEqual(['first;last', 'first;last']);
  });

  it('a stream past maxBufferBytes is sent once, complete, and the call not retried', async () => {
    const { url, bodies } = recordingRoute('/big', 503, 200);
    const events: BreakwaterEvent[] = [];
    const chunks = Array.from({ length: 20 }, (_, i) => String(i % 10).repeat(100));
    const res = await wrappedUndici({ maxBufferBytes: 512, onEvent: (e) => events.push(e) })(url, {
      method: 'PUT',
      body: Readable.from(chunks),
      duplex: 'half',
    });
    expect(res.status).toBe(503);
    expect(bodies).toEqual([chunks.join('')]);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({
      reason: 'body-not-replayable',
      detail: 'body-too-large-to-buffer',
    });
  });
});

describe('item 5: aborts cancel the body, as with fetch', () => {
  function cancellableStream(): {
    body: ReadableStream<Uint8Array>;
    cancelled: Promise<unknown>;
  } {
    let onCancel: (reason: unknown) => void = () => {};
    const cancelled = new Promise<unknown>((resolve) => {
      onCancel = resolve;
    });
    let sent = false;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return new Promise<void>(() => {}); // stalls after one chunk
        sent = true;
        controller.enqueue(bytes('partial'));
        return undefined;
      },
      cancel: (reason) => onCancel(reason),
    });
    return { body, cancelled };
  }

  it('an already aborted signal cancels a stream body with its reason and rejects with it', async () => {
    const { url } = recordingRoute('/pre-aborted', 200);
    const reason = new Error('already aborted');
    const { body, cancelled } = cancellableStream();
    const error = await rejection(
      wrappedUndici()(url, {
        method: 'PUT',
        body,
        duplex: 'half',
        signal: AbortSignal.abort(reason),
      }),
    );
    expect(error).toBe(reason);
    expect(await within(1000, 'source not cancelled', cancelled)).toBe(reason);
    expect(server.hits.get('/pre-aborted')).toBeUndefined();
  });

  it('an abort while a Request body is still being read cancels it with the reason', async () => {
    const { url } = recordingRoute('/abort-reading', 200);
    const { body, cancelled } = cancellableStream();
    const controller = new AbortController();
    const request = new UndiciRequest(url, {
      method: 'PUT',
      body,
      duplex: 'half',
      signal: controller.signal,
    });
    const reason = await expectAbortedMidway(controller, 'stop reading', () => wrappedUndici()(request));
    expect(await within(1000, 'source not cancelled', cancelled)).toBe(reason);
  });

  it('an abort while the body is being sent cancels the source with the reason', async () => {
    const url = route('/abort-sending', (req) => {
      req.resume(); // reads, never answers
    });
    const { body, cancelled } = cancellableStream();
    const controller = new AbortController();
    const reason = await expectAbortedMidway(controller, 'stop sending', () =>
      wrappedUndici()(url, {
        method: 'PUT',
        body,
        duplex: 'half',
        signal: controller.signal,
      }),
    );
    expect(await within(1000, 'source not cancelled', cancelled)).toBe(reason);
  });
});

describe('item 5: a stalled Node Readable body', () => {
  it('is destroyed as soon as the caller aborts, not when its source next produces data', async () => {
    const url = route('/abort-stalled-readable', (req) => {
      req.resume(); // reads, never answers
    });
    // A source that produced one chunk and then stalls (a slow producer, a paused upstream).
    const body = new Readable({ read() {} });
    body.push('first');
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const call = wrappedUndici()(url, {
      method: 'PUT',
      body,
      duplex: 'half',
      signal: controller.signal,
    });
    expect(await within(2000, 'abort ignored', rejection(call))).toMatchObject({ name: 'AbortError' });
    const destroyed = new Promise<boolean>((resolve) => {
      if (body.destroyed) resolve(true);
      else body.once('close', () => resolve(body.destroyed));
    });
    expect(await within(1000, 'stalled Readable not destroyed', destroyed)).toBe(true);
  });
});

describe('item 6: transparency details', () => {
  it('header names reach the wire in the case the caller wrote them, generated ones too', async () => {
    const { url, raw } = recordingRoute('/case', 200);
    await wrappedUndici()(url, { headers: { 'X-MiXed-Case': 'a' } });
    await wrappedUndici({ policy: { ...FAST, generateHeaders: ['MS-RequestId'] } })(url, {
      headers: [['X-Other-Case', 'b']],
    });
    const plainRaw = [...(raw[0] ?? [])];
    await undiciFetch(url, { headers: { 'X-MiXed-Case': 'a' } });
    expect(raw[0]).toContain('X-MiXed-Case');
    expect(raw[0]).toEqual(raw[2]);
    expect(plainRaw).toEqual(raw[2]);
    expect(raw[1]).toContain('X-Other-Case');
    expect(raw[1]).toContain('MS-RequestId');
  });

  it('a detached ArrayBuffer body is sent as fetch sends it (empty)', async () => {
    const { url, bodies, raw } = recordingRoute('/detached', 200);
    const detached = () => {
      const buffer = new ArrayBuffer(8);
      structuredClone(buffer, { transfer: [buffer] });
      return buffer;
    };
    const plain = await undiciFetch(url, { method: 'POST', body: detached() });
    const wrapped = await wrappedUndici()(url, { method: 'POST', body: detached() });
    expect(wrapped.status).toBe(plain.status);
    expect(bodies).toEqual(['', '']);
    const length = (headers: string[] | undefined) => headers?.[headers.indexOf('content-length') + 1];
    expect(length(raw[1])).toBe(length(raw[0]));
  });

  it.each([
    ['a plain object', {}],
    ['a string', 'signal'],
  ])('a signal that is %s gets fetch’s TypeError', async (_name, signal) => {
    const { url } = recordingRoute('/bad-signal', 200);
    // On purpose: a signal that is none, which the types refuse.
    const init = { signal } as unknown as UndiciInit;
    const plain = await rejection(undiciFetch(url, init));
    const wrapped = await rejection(wrappedUndici()(url, init));
    expect(plain).toBeInstanceOf(TypeError);
    expect(wrapped).toBeInstanceOf(TypeError);
    expect((wrapped as Error).message).toBe((plain as Error).message);
  });
});

describe('item 11: a refused call releases its stream body', () => {
  /** A wrapped fetch whose breaker for `url` is open. */
  async function openBreaker(url: string) {
    const wrapped = wrappedUndici({
      policy: { ...FAST, retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 1 } },
    });
    expect((await wrapped(url)).status).toBe(503);
    return wrapped;
  }

  it('a ReadableStream over maxBufferBytes is cancelled when the breaker refuses the call', async () => {
    const { url } = recordingRoute('/refused', 503);
    const wrapped = await openBreaker(url);
    let cancelledWith: unknown = 'not cancelled';
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(64 * 1024));
      },
      cancel(reason) {
        cancelledWith = reason;
      },
    });
    const error = await rejection(wrapped(url, { method: 'PUT', body, duplex: 'half' }));
    expect(error).toBeInstanceOf(BrokenCircuitError);
    expect(cancelledWith).toBe(error);
    expect(body.locked).toBe(false);
    expect(server.hits.get('/refused')).toBe(1);
  });

  it('a stream body is cancelled when a closed throttle gate refuses the call', async () => {
    const url = route('/throttled', (req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(429, { 'retry-after': '60' }).end());
    });
    const wrapped = wrappedUndici({
      policy: { ...FAST, throttle: { enabled: true }, timeout: { attemptMs: 1000, totalMs: 1000 } },
    });
    expect((await wrapped(url, { method: 'POST' })).status).toBe(429);
    let cancelledWith: unknown = 'not cancelled';
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new Uint8Array(1024));
      },
      cancel(reason) {
        cancelledWith = reason;
      },
    });
    const error = await rejection(wrapped(url, { method: 'PUT', body, duplex: 'half' }));
    expect((error as Error).name).toBe('ThrottledError');
    expect(cancelledWith).toBe(error);
    expect(server.hits.get('/throttled')).toBe(1);
  });

  it('a file stream is closed when the breaker refuses the call (no descriptor leak)', async () => {
    const { url } = recordingRoute('/refused-file', 503);
    const wrapped = await openBreaker(url);
    const dir = mkdtempSync(join(tmpdir(), 'breakwater-'));
    try {
      const file = join(dir, 'upload.bin');
      writeFileSync(file, new Uint8Array(4 * 1024 * 1024));
      const stream = createReadStream(file);
      const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
      const error = await rejection(wrapped(url, { method: 'PUT', body: stream, duplex: 'half' }));
      expect(error).toBeInstanceOf(BrokenCircuitError);
      await within(1000, 'file stream left open', closed);
      expect(stream.destroyed).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('kept properties', () => {
  it('a long-lived signal gains no listeners over many calls with Request and stream bodies', async () => {
    const { url } = recordingRoute('/long-lived', 200);
    const controller = new AbortController();
    const wrapped = wrappedUndici();
    const call = async (i: number) => {
      const request = new UndiciRequest(url, { method: 'PUT', body: `body ${i}`, signal: controller.signal });
      await (await wrapped(request)).text();
      const init: UndiciInit = {
        method: 'PUT',
        body: Readable.from([`s${i}`]),
        duplex: 'half',
        signal: controller.signal,
      };
      await (await wrapped(url, init)).text();
    };
    for (let i = 0; i < 5; i++) await call(i);
    // undici itself keeps one listener on a signal its Requests follow, and breakwater one per signal
    // (caller-abort.ts); what matters is no growth.
    const settled = getEventListeners(controller.signal, 'abort').length;
    expect(settled).toBeLessThanOrEqual(2);
    for (let i = 0; i < 50; i++) await call(i);
    expect(getEventListeners(controller.signal, 'abort').length).toBe(settled);
  });

  it('a POST without an idempotency key, with a stream body, is sent exactly once on a 503', async () => {
    const { url, bodies } = recordingRoute('/post-once', 503, 200);
    const res = await wrappedUndici()(url, {
      method: 'POST',
      body: Readable.from(['once']),
      duplex: 'half',
    });
    expect(res.status).toBe(503);
    expect(bodies).toEqual(['once']);
  });
});
