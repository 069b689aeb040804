import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import * as undici from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * The transparency suite: every case makes the same call through plain undici `fetch` and through
 * `wrapFetch(undici.fetch)` (retries off, and the default policy), against a real loopback server, and
 * the two must be indistinguishable: the same Response (status, headers, url, redirected, body bytes) or
 * the same error (class, name, message, cause), and the same requests on the wire (method, path, raw
 * header names and values in order, body bytes). A call that succeeds first time gains nothing from
 * the wrapper but must lose nothing either. docs/transparency.md lists what legitimately differs.
 */

/** Both fetches, typed loosely enough to be handed the odd inputs users (and these cases) pass. */
type AnyFetch = (input: unknown, init?: Record<string, unknown>) => Promise<Response>;

interface Received {
  readonly method: string;
  readonly url: string;
  /** Header names exactly as they arrived, in order, values as sent. */
  readonly rawHeaders: readonly (readonly [string, string])[];
  readonly body: string;
}

type ErrorShape = {
  readonly class: string;
  readonly name: string;
  readonly message: string;
  readonly cause?: ErrorShape | { readonly code?: unknown; readonly class: string; readonly message: string };
};

interface Observation {
  readonly response?: {
    readonly class: string;
    readonly status: number;
    readonly statusText: string;
    readonly url: string;
    readonly redirected: boolean;
    readonly headers: readonly (readonly [string, string])[];
    readonly setCookie: readonly string[];
    readonly body: string | { readonly error: ErrorShape };
  };
  readonly error?: ErrorShape;
  readonly received: readonly Received[];
  /** Whatever else a case observes (a dispatcher's use, a body stream's cancellation). */
  readonly extra: Record<string, unknown>;
}

/** What a case gets to make its call. */
interface CaseContext {
  readonly origin: string;
  url(path: string): string;
  /** Resolves when the server has the request line and headers of the next request for `path`. */
  arrival(path: string): Promise<void>;
  /** Records an extra observation, compared like the rest. */
  extra(name: string, value: unknown): void;
  /** Runs after the call settled and its body was read (closing an Agent, resetting a global). */
  cleanup(fn: () => unknown): void;
}

interface Case {
  readonly name: string;
  call(fetch: AnyFetch, ctx: CaseContext): Promise<Response>;
  /**
   * Where breakwater itself refuses an input before calling fetch, its message may be its own
   * (starting with "breakwater:") as long as the error class and name are fetch's. Default: the
   * message must be fetch's exactly.
   */
  readonly ownMessage?: boolean;
  /**
   * The default policy retries this call (a 503 on a GET, a refused connection): the caller still gets
   * what fetch returns, later, and the server receives the very same request on each of the 4 attempts.
   */
  readonly retriedByDefault?: boolean;
  /**
   * Extra observations where breakwater deliberately does better than fetch, with why. The reference
   * must show fetch's own value (so the case notices if fetch changes), the wrapper the one given here.
   */
  readonly wrapperDiffers?: {
    readonly extra: Readonly<Record<string, unknown>>;
    readonly fetchDoes: Readonly<Record<string, unknown>>;
    readonly why: string;
  };
}

// ---------------------------------------------------------------------------------------------------
// The loopback server

let server: Server;
let origin: string;
/** A port nothing listens on (one for the whole file: the error message names it). */
let closedPort: number;
let received: Received[] = [];
let open = 0;
const arrivals = new Map<string, Array<() => void>>();
const timers = new Set<NodeJS.Timeout>();

function later(ms: number, fn: () => void): void {
  const timer = setTimeout(() => {
    timers.delete(timer);
    fn();
  }, ms);
  timers.add(timer);
}

function answer(req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void {
  if (path === '/echo' || path === '/other') {
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.setHeader('X-Reply-Case', 'Kept');
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.end(`${req.method} ${path} ${body.byteLength}`);
  } else if (path === '/bytes') {
    res.setHeader('content-type', 'application/octet-stream');
    res.end(Buffer.from(Array.from({ length: 256 }, (_, i) => i)));
  } else if (/^\/redirect\/\d{3}$/.test(path)) {
    res.writeHead(Number(path.slice(-3)), { location: '/echo' }).end('moved');
  } else if (/^\/status\/\d{3}$/.test(path)) {
    res.writeHead(Number(path.slice(-3)), { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'nope', message: 'refused' } }));
  } else if (path === '/hold') {
    // Answers late, so a call whose abort is ignored ends with a visible difference instead of a hang.
    later(1500, () => res.end('late'));
  } else if (path === '/hold-body') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first part;');
    later(1500, () => res.end('late end'));
  } else {
    res.writeHead(404).end();
  }
}

beforeAll(async () => {
  server = createServer((req, res) => {
    open += 1;
    res.on('close', () => {
      open -= 1;
    });
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    for (const resolve of arrivals.get(path)?.splice(0) ?? []) resolve();
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Only requests whose body arrived whole are recorded: where an upload is cut short by an abort,
    // how much of it reached the server is a matter of timing, not of the fetch under test.
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const rawHeaders: (readonly [string, string])[] = [];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        rawHeaders.push([req.rawHeaders[i] ?? '', req.rawHeaders[i + 1] ?? '']);
      }
      received.push({
        method: req.method ?? '',
        url: req.url ?? '',
        rawHeaders,
        body: body.toString('latin1'),
      });
      answer(req, res, path, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  closedPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
});

afterAll(async () => {
  for (const timer of timers) clearTimeout(timer);
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

// ---------------------------------------------------------------------------------------------------
// Observing one call

function errorShape(error: unknown, depth = 0): ErrorShape {
  if (!(error instanceof Error) && !(error instanceof DOMException)) {
    return { class: typeof error, name: '', message: String(error) };
  }
  const shape: { class: string; name: string; message: string; cause?: ErrorShape } = {
    class: error.constructor.name,
    name: error.name,
    message: error.message,
  };
  const cause: unknown = (error as { cause?: unknown }).cause;
  if (cause !== undefined && depth < 2) {
    const code = (cause as { code?: unknown }).code;
    shape.cause = { ...errorShape(cause, depth + 1), ...(code !== undefined ? { code } : {}) };
  }
  return shape;
}

/** multipart boundaries are random per request: name them by order of appearance instead. */
function normaliseBoundaries(text: string, boundaries: string[]): string {
  let out = text;
  for (const [i, boundary] of boundaries.entries()) out = out.split(boundary).join(`BOUNDARY${i}`);
  return out;
}

async function settleServer(): Promise<void> {
  // Lets requests already on the wire arrive, then waits for every exchange to end (bounded).
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
  const until = Date.now() + 3000;
  while (open > 0 && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** A call that ignores what should end it must show up as a difference, not as a test timeout. */
async function settlesWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the call did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

async function observe(kase: Case, fetch: AnyFetch, settleMs = 2500): Promise<Observation> {
  received = [];
  const extra: Record<string, unknown> = {};
  const cleanups: (() => unknown)[] = [];
  const ctx: CaseContext = {
    origin,
    url: (path) => `${origin}${path}`,
    arrival: (path) =>
      new Promise<void>((resolve) => {
        const list = arrivals.get(path) ?? [];
        list.push(resolve);
        arrivals.set(path, list);
      }),
    extra: (name, value) => {
      extra[name] = value;
    },
    cleanup: (fn) => cleanups.push(fn),
  };
  let response: Observation['response'];
  let error: ErrorShape | undefined;
  try {
    const res = await settlesWithin(kase.call(fetch, ctx), settleMs);
    let body: string | { error: ErrorShape };
    try {
      body = Buffer.from(await res.arrayBuffer()).toString('latin1');
    } catch (bodyError) {
      body = { error: errorShape(bodyError) };
    }
    response = {
      class: res.constructor.name,
      status: res.status,
      statusText: res.statusText,
      url: res.url,
      redirected: res.redirected,
      headers: [...res.headers].filter(([name]) => name !== 'date'),
      setCookie: res.headers.getSetCookie(),
      body,
    };
  } catch (thrown) {
    error = errorShape(thrown);
  }
  await settleServer();
  for (const fn of cleanups) await fn();
  arrivals.clear();

  const boundaries: string[] = [];
  for (const r of received) {
    for (const [, value] of r.rawHeaders) {
      const match = /boundary=([^;]+)/.exec(value);
      if (match?.[1]) boundaries.push(match[1]);
    }
  }
  const normalised = received.map((r) => ({
    ...r,
    rawHeaders: r.rawHeaders.map(([n, v]) => [n, normaliseBoundaries(v, boundaries)] as const),
    body: normaliseBoundaries(r.body, boundaries),
  }));
  return {
    ...(response ? { response } : {}),
    ...(error ? { error } : {}),
    received: normalised,
    extra,
  };
}

// ---------------------------------------------------------------------------------------------------
// The cases

/** An undici Agent that counts the requests dispatched through it: the observable use of a dispatcher. */
class CountingAgent extends undici.Agent {
  dispatched = 0;
  override dispatch(options: undici.Dispatcher.DispatchOptions, handler: undici.Dispatcher.DispatchHandler) {
    this.dispatched += 1;
    return super.dispatch(options, handler);
  }
}

function countingAgent(ctx: CaseContext): CountingAgent {
  const agent = new CountingAgent();
  ctx.cleanup(async () => {
    ctx.extra('dispatched', agent.dispatched);
    await agent.close();
  });
  return agent;
}

/** A ReadableStream of the given chunks that records whether it was cancelled, and why. */
function trackedStream(ctx: CaseContext, chunks: readonly string[], stallAfter = Infinity) {
  let cancelled: string | false = false;
  let pulls = 0;
  let onStall: () => void = () => undefined;
  const stalled = new Promise<void>((resolve) => {
    onStall = resolve;
  });
  const encoder = new TextEncoder();
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulls += 1;
      if (pulls > stallAfter) {
        onStall();
        return new Promise<void>(() => undefined);
      }
      const chunk = chunks[pulls - 1];
      if (chunk === undefined) controller.close();
      else controller.enqueue(encoder.encode(chunk));
      return undefined;
    },
    cancel(reason: unknown) {
      cancelled = reason instanceof Error || reason instanceof DOMException ? reason.name : String(reason);
    },
  });
  ctx.cleanup(() => ctx.extra('streamCancelled', cancelled));
  return { stream, stalled };
}

const encode = (text: string) => new TextEncoder().encode(text);

function detachedBuffer(): ArrayBuffer {
  const buffer = new ArrayBuffer(8);
  structuredClone(buffer, { transfer: [buffer] });
  return buffer;
}

async function* asyncChunks(chunks: readonly (string | Uint8Array)[]): AsyncGenerator<string | Uint8Array> {
  for (const chunk of chunks) yield chunk;
}

const cases: Case[] = [
  // Plain calls and responses
  { name: 'GET a string URL', call: (f, c) => f(c.url('/echo')) },
  { name: 'GET a URL object', call: (f, c) => f(new URL('/echo?q=1', c.origin)) },
  { name: 'HEAD', call: (f, c) => f(c.url('/echo'), { method: 'HEAD' }) },
  {
    name: 'lower-case method is normalised',
    call: (f, c) => f(c.url('/echo'), { method: 'post', body: 'x' }),
  },
  { name: 'extension method is sent as given', call: (f, c) => f(c.url('/echo'), { method: 'Purge' }) },
  { name: 'binary response body', call: (f, c) => f(c.url('/bytes')) },
  { name: '404 resolves with its body', call: (f, c) => f(c.url('/status/404')) },
  { name: '503 GET resolves with the 503', retriedByDefault: true, call: (f, c) => f(c.url('/status/503')) },
  {
    name: '503 PUT with a body resolves with the 503',
    retriedByDefault: true,
    call: (f, c) => f(c.url('/status/503'), { method: 'PUT', body: 'same bytes every time' }),
  },
  {
    name: 'connection refused',
    retriedByDefault: true,
    call: (f) => f(`http://127.0.0.1:${closedPort}/nothing-listens`),
  },
  {
    name: '400 POST resolves with its body',
    call: (f, c) => f(c.url('/status/400'), { method: 'POST', body: '{}' }),
  },

  // Signals
  {
    name: 'signal on init, aborted before the call',
    call: (f, c) => f(c.url('/echo'), { signal: AbortSignal.abort() }),
  },
  {
    name: 'signal on init, aborted with a reason before the call',
    call: (f, c) => f(c.url('/echo'), { signal: AbortSignal.abort(new RangeError('mine')) }),
  },
  {
    name: 'signal on init, aborted while waiting for the response',
    call: async (f, c) => {
      const controller = new AbortController();
      const arrived = c.arrival('/hold');
      const call = f(c.url('/hold'), { signal: controller.signal });
      await arrived;
      controller.abort();
      return call;
    },
  },
  {
    name: 'signal on init, aborted while reading the response body',
    call: async (f, c) => {
      const controller = new AbortController();
      const res = await f(c.url('/hold-body'), { signal: controller.signal });
      controller.abort();
      return res;
    },
  },
  {
    name: 'signal on an undici Request, aborted before the call',
    call: (f, c) => f(new undici.Request(c.url('/echo'), { signal: AbortSignal.abort() })),
  },
  {
    name: 'signal on an undici Request, aborted while waiting for the response',
    call: async (f, c) => {
      const controller = new AbortController();
      const arrived = c.arrival('/hold');
      const call = f(new undici.Request(c.url('/hold'), { signal: controller.signal }));
      await arrived;
      controller.abort();
      return call;
    },
  },
  {
    name: 'already-aborted signal with a ReadableStream body cancels the stream',
    call: (f, c) => {
      const { stream } = trackedStream(c, ['a', 'b']);
      return f(c.url('/echo'), { method: 'POST', body: stream, duplex: 'half', signal: AbortSignal.abort() });
    },
  },
  {
    name: 'abort while a ReadableStream body is still being produced',
    wrapperDiffers: {
      fetchDoes: { streamCancelled: false },
      extra: { streamCancelled: 'AbortError' },
      why: 'undici leaves the source of an aborted upload open; breakwater cancels it (issue 9 item 5)',
    },
    call: async (f, c) => {
      const controller = new AbortController();
      const { stream, stalled } = trackedStream(c, ['first;'], 1);
      const call = f(c.url('/echo'), {
        method: 'POST',
        body: stream,
        duplex: 'half',
        signal: controller.signal,
      });
      await stalled;
      controller.abort();
      return call;
    },
  },

  // Dispatchers
  {
    name: 'dispatcher in init is used',
    call: (f, c) => f(c.url('/echo'), { dispatcher: countingAgent(c) }),
  },
  {
    name: 'dispatcher on an undici Request input is used',
    call: (f, c) => f(new undici.Request(c.url('/echo'), { dispatcher: countingAgent(c) })),
  },

  // Redirects
  { name: 'redirect followed: url and redirected', call: (f, c) => f(c.url('/redirect/302')) },
  {
    name: '303 after POST is followed with a GET',
    call: (f, c) => f(c.url('/redirect/303'), { method: 'POST', body: 'payload' }),
  },
  {
    name: '307 after POST resends the body',
    call: (f, c) => f(c.url('/redirect/307'), { method: 'POST', body: 'payload' }),
  },
  {
    name: "redirect: 'manual' hands back the 3xx",
    call: (f, c) => f(c.url('/redirect/302'), { redirect: 'manual' }),
  },
  { name: "redirect: 'error' rejects", call: (f, c) => f(c.url('/redirect/302'), { redirect: 'error' }) },
  {
    name: "redirect: 'manual' on an undici Request input",
    call: (f, c) => f(new undici.Request(c.url('/redirect/302'), { redirect: 'manual' })),
  },

  // Body types
  { name: 'string body', call: (f, c) => f(c.url('/echo'), { method: 'POST', body: 'héllo' }) },
  {
    name: 'ArrayBuffer body',
    call: (f, c) => f(c.url('/echo'), { method: 'POST', body: encode('array buffer').buffer }),
  },
  {
    name: 'typed array body (a view into a larger buffer)',
    call: (f, c) =>
      f(c.url('/echo'), { method: 'PUT', body: new Uint16Array(encode('xxtyped!yy').buffer, 2, 3) }),
  },
  {
    name: 'DataView body',
    call: (f, c) => f(c.url('/echo'), { method: 'PUT', body: new DataView(encode('--view--').buffer, 2, 4) }),
  },
  {
    name: 'Node Buffer body',
    call: (f, c) => f(c.url('/echo'), { method: 'POST', body: Buffer.from('node buffer') }),
  },
  {
    name: 'Blob body with a type',
    call: (f, c) =>
      f(c.url('/echo'), { method: 'POST', body: new Blob(['{"a":1}'], { type: 'application/json' }) }),
  },
  {
    name: 'undici FormData with a file',
    call: (f, c) => {
      const form = new undici.FormData();
      form.append('field', 'value');
      form.append('upload', new File(['file contents'], 'notes.txt', { type: 'text/plain' }));
      return f(c.url('/echo'), { method: 'POST', body: form });
    },
  },
  {
    name: 'global FormData with a file',
    call: (f, c) => {
      const form = new FormData();
      form.append('field', 'value');
      form.append('upload', new File(['file contents'], 'notes.txt', { type: 'text/plain' }));
      return f(c.url('/echo'), { method: 'POST', body: form });
    },
  },
  {
    name: 'URLSearchParams body',
    call: (f, c) =>
      f(c.url('/echo'), { method: 'POST', body: new URLSearchParams({ a: '1', b: 'two words' }) }),
  },
  {
    name: "ReadableStream body with duplex: 'half'",
    call: (f, c) => {
      const { stream } = trackedStream(c, ['one;', 'two;', 'three']);
      return f(c.url('/echo'), { method: 'POST', body: stream, duplex: 'half' });
    },
  },
  {
    name: 'ReadableStream body without duplex is refused',
    call: (f, c) => {
      const { stream } = trackedStream(c, ['one;', 'two']);
      return f(c.url('/echo'), { method: 'POST', body: stream });
    },
  },
  {
    name: 'Node Readable of Buffers',
    call: (f, c) =>
      f(c.url('/echo'), {
        method: 'POST',
        body: Readable.from([Buffer.from('node '), Buffer.from('readable')]),
        duplex: 'half',
      }),
  },
  {
    name: 'Node Readable that emits strings',
    call: (f, c) =>
      f(c.url('/echo'), { method: 'POST', body: Readable.from(['string ', 'chunks']), duplex: 'half' }),
  },
  {
    name: 'async iterable of Uint8Array',
    call: (f, c) =>
      f(c.url('/echo'), {
        method: 'POST',
        body: asyncChunks([encode('async '), encode('bytes')]),
        duplex: 'half',
      }),
  },
  {
    name: 'async iterable of strings',
    call: (f, c) =>
      f(c.url('/echo'), { method: 'POST', body: asyncChunks(['async ', 'strings']), duplex: 'half' }),
  },
  {
    name: 'undici Request input with a body',
    call: (f, c) => f(new undici.Request(c.url('/echo'), { method: 'POST', body: 'from a request' })),
  },
  {
    name: 'undici Request input, init overrides method and body',
    call: (f, c) =>
      f(new undici.Request(c.url('/echo'), { method: 'POST', body: 'old' }), { method: 'PUT', body: 'new' }),
  },

  // Header names on the wire
  {
    name: 'header name case from a plain object',
    call: (f, c) =>
      f(c.url('/echo'), {
        headers: { 'X-Custom-Case': 'One', 'x-lower': 'two', 'Content-TYPE': 'text/plain' },
      }),
  },
  {
    name: 'header name case from tuples, repeated names',
    call: (f, c) =>
      f(c.url('/echo'), {
        headers: [
          ['X-Multi', 'a'],
          ['x-multi', 'b'],
          ['Accept', 'text/plain'],
        ],
      }),
  },
  {
    name: 'headers from an undici Headers',
    call: (f, c) => f(c.url('/echo'), { headers: new undici.Headers({ 'X-From-Headers': 'yes' }) }),
  },
  {
    name: 'header name case on an undici Request input',
    call: (f, c) => f(new undici.Request(c.url('/echo'), { headers: { 'X-Request-Case': 'Kept' } })),
  },

  // Relative URLs
  { name: 'relative URL without a global origin', call: (f) => f('/echo') },
  {
    name: "relative URL with undici's setGlobalOrigin",
    call: (f, c) => {
      undici.setGlobalOrigin(c.origin);
      c.cleanup(() => undici.setGlobalOrigin(undefined));
      return f('/other?x=1');
    },
  },

  // Invalid inputs
  { name: 'not a URL', ownMessage: true, call: (f) => f('http://') },
  { name: 'unsupported scheme', call: (f) => f('ftp://127.0.0.1/file') },
  {
    name: 'credentials in the URL',
    ownMessage: true,
    call: (f, c) => f(c.url('/echo').replace('://', '://user:secret@')),
  },
  { name: 'invalid method', ownMessage: true, call: (f, c) => f(c.url('/echo'), { method: 'B@D' }) },
  { name: 'forbidden method', ownMessage: true, call: (f, c) => f(c.url('/echo'), { method: 'CONNECT' }) },
  { name: 'body on GET', ownMessage: true, call: (f, c) => f(c.url('/echo'), { body: 'x' }) },
  {
    name: 'body on HEAD',
    ownMessage: true,
    call: (f, c) => f(c.url('/echo'), { method: 'HEAD', body: 'x' }),
  },
  {
    name: 'undici Request input whose body was already used',
    ownMessage: true,
    call: async (f, c) => {
      const request = new undici.Request(c.url('/echo'), { method: 'POST', body: 'once' });
      await request.text();
      return f(request);
    },
  },
  {
    name: 'signal that is not an AbortSignal',
    call: (f, c) => f(c.url('/echo'), { signal: { aborted: false, addEventListener() {} } }),
  },
  {
    name: 'detached ArrayBuffer body',
    call: (f, c) => f(c.url('/echo'), { method: 'POST', body: detachedBuffer() }),
  },
  {
    name: 'blob: URL that does not exist',
    call: (f) => f('blob:nodedata:00000000-0000-0000-0000-000000000000'),
  },
  { name: 'data: URL', call: (f) => f('data:text/plain;base64,aGVsbG8=') },
];

// ---------------------------------------------------------------------------------------------------
// The runs

// Cast on purpose: the cases call each fetch with values its types refuse (a signal that is none, ...).
const plain = undici.fetch as unknown as AnyFetch;

const variants: readonly { name: string; retries: boolean; wrapped?: true; fetch: () => AnyFetch }[] = [
  // The control: a case whose observation differs between two plain calls would blame the wrapper for
  // the harness's own noise (a random boundary, a port, a timing).
  { name: 'undici.fetch itself (control)', retries: false, fetch: () => plain },
  {
    name: 'wrapFetch(undici.fetch), retries off',
    retries: false,
    wrapped: true,
    fetch: () => wrapFetch(undici.fetch, { policy: { retry: { maxAttempts: 1 } } }) as unknown as AnyFetch,
  },
  {
    name: 'wrapFetch(undici.fetch), default policy',
    retries: true,
    wrapped: true,
    fetch: () => wrapFetch(undici.fetch) as unknown as AnyFetch,
  },
];

/** With `ownMessage`, breakwater's own refusal stands in for fetch's when class and name agree. */
function comparable(kase: Case, wrapped: Observation, reference: Observation): Observation {
  if (!kase.ownMessage || !wrapped.error || !reference.error) return wrapped;
  if (!wrapped.error.message.startsWith('breakwater:')) return wrapped;
  const { cause: _ignored, ...rest } = wrapped.error;
  return { ...wrapped, error: { ...rest, message: reference.error.message, ...pick(reference.error) } };
}

function pick(error: ErrorShape): Partial<ErrorShape> {
  return error.cause ? { cause: error.cause } : {};
}

describe.each(variants)('$name behaves as undici.fetch', (variant) => {
  it.each(cases)('$name', { timeout: 15_000 }, async (kase) => {
    const reference = await observe(kase, plain);
    const retried = variant.retries && kase.retriedByDefault === true;
    // Backoff waits are real here (decorrelated jitter from 200 ms): give such calls time to finish.
    const wrapped = await observe(kase, variant.fetch(), retried ? 10_000 : 2500);
    // fetch's own message for a URL with credentials quotes them; breakwater's own never does.
    const message = wrapped.error?.message ?? '';
    if (message.startsWith('breakwater:')) expect(message).not.toContain('secret');
    if (retried) {
      expect(reference.received.length).toBeLessThanOrEqual(1);
      expect(wrapped.received).toHaveLength(reference.received.length * 4);
      for (const request of wrapped.received) expect(request).toEqual(reference.received[0]);
      expect({ ...wrapped, received: reference.received }).toEqual(reference);
      return;
    }
    expect(comparable(kase, wrapped, reference)).toEqual(
      variant.wrapped ? expectedOf(kase, reference) : reference,
    );
  });
});

/** The reference observation, with the extras where breakwater deliberately differs from fetch. */
function expectedOf(kase: Case, reference: Observation): Observation {
  const differs = kase.wrapperDiffers;
  if (!differs) return reference;
  expect(reference.extra, `fetch itself: ${differs.why}`).toMatchObject(differs.fetchDoes);
  return { ...reference, extra: { ...reference.extra, ...differs.extra } };
}

describe('the suite itself', () => {
  it('tells a wrapper that changes what is sent from plain undici.fetch', async () => {
    const kase = cases.find((c) => c.name === 'string body');
    if (!kase) throw new Error('case missing');
    const tampering: AnyFetch = (input, init) => plain(input, { ...init, headers: { 'x-extra': '1' } });
    const reference = await observe(kase, plain);
    expect(await observe(kase, tampering)).not.toEqual(reference);
  });

  it('observes the server side of each call: method, raw header names, body bytes', async () => {
    const kase = cases.find((c) => c.name === 'header name case from a plain object');
    if (!kase) throw new Error('case missing');
    const observed = await observe(kase, plain);
    expect(observed.received).toHaveLength(1);
    expect(observed.received[0]?.rawHeaders).toContainEqual(['X-Custom-Case', 'One']);
    expect(observed.response?.body).toBe('GET /echo 0');
  });
});
