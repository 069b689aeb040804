/**
 * Request replay: turns one `fetch(input, init)` call into a recipe that can be sent several times
 * (one per retry attempt) and reaches the server identically every time, with the same meaning as
 * `new Request(input, init)`.
 *
 * Every body is frozen when the call is prepared, as fetch itself does when it is called: fetch copies
 * an ArrayBuffer or typed array at call time, so a caller that reuses or mutates its buffer after
 * calling (a pooled Node Buffer, say) must not change what a later attempt sends. That costs one copy
 * of a buffer body per logical call (never one per attempt); strings and Blobs are immutable and are
 * not copied; URLSearchParams and FormData are shallow-copied (entries only, never file contents).
 */

/** The default for {@link ReplayOptions.maxBufferBytes}: 1 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

export interface ReplayOptions {
  /**
   * Largest stream body (a `ReadableStream`, an async iterable, or a `Request` input's body) held in
   * memory so the call can be retried. A larger body is still sent, once and complete, but the call
   * is then not retried. Default {@link DEFAULT_MAX_BUFFER_BYTES} (1 MiB): the request bodies of REST
   * APIs such as Partner Center are small JSON documents far below it, and 1 MiB is Envoy's default
   * retry buffer limit (`per_connection_buffer_limit_bytes`), so a proxy in front of the same API
   * makes the same trade-off; uploads big enough to exceed it should not be held in memory per call.
   */
  readonly maxBufferBytes?: number;
}

/** Why a prepared request can be sent only once. */
export type NotReplayableReason = 'body-too-large-to-buffer' | 'body-already-used';

/** One logical fetch call, ready to be sent once per attempt. */
export interface PreparedRequest {
  /** The HTTP method; upper case for DELETE GET HEAD OPTIONS POST PUT, as given otherwise (as fetch does). */
  readonly method: string;
  /** The absolute request URL. */
  readonly url: URL;
  /**
   * A mutable copy of the request headers. Headers generated once per logical call (an idempotency key,
   * a correlation id) belong here, added before the first attempt: each attempt sends a copy of it.
   */
  readonly headers: Headers;
  /** False when the body can be sent only once (a stream beyond `maxBufferBytes`): do not retry. */
  readonly replayable: boolean;
  /** Set when `replayable` is false, for the event that reports why the call was not retried. */
  readonly notReplayableReason?: NotReplayableReason;
  /**
   * The `(input, init)` pair for one attempt, carrying `signal` instead of the caller's signal. Every
   * call returns a fresh body where one is needed. Throws an `Error` when called a second time on a
   * request that is not replayable.
   */
  attempt(signal: AbortSignal): [string, RequestInit];
}

/** Methods fetch normalises to upper case; any other method is sent exactly as given. */
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** Methods fetch refuses to send. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
/** RFC 9110 `token`. */
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Members of a Request input that a new Request built from it inherits (besides method, headers, body). */
const REQUEST_MEMBERS = [
  'cache',
  'credentials',
  'integrity',
  'keepalive',
  'mode',
  'redirect',
  'referrer',
  'referrerPolicy',
] as const;
/** Init members handled here rather than passed through to the user's fetch. */
const OWN_INIT_MEMBERS = new Set(['method', 'headers', 'body', 'signal']);

/**
 * Reads `(input, init)` the way `new Request(input, init)` would and prepares it for replay.
 *
 * Init's method, headers and body override those of a `Request` input; every other init member
 * (`redirect`, `credentials`, `keepalive`, undici's `dispatcher`, unknown members, ...) and a `Request`
 * input's own members are passed through on every attempt. The caller's `signal` is not: each attempt
 * gets the signal passed to {@link PreparedRequest.attempt}.
 *
 * A stream body (or a `Request` input's body) is read now, up to `maxBufferBytes`, and replayed from
 * memory; beyond that limit it is sent once, complete, and the result is not replayable.
 *
 * @throws TypeError where fetch would: a relative URL outside a browser, a URL with credentials, an
 *   invalid or forbidden method, a body on GET or HEAD, a `Request` input whose body was already used.
 * @throws RangeError for a `maxBufferBytes` that is not a non-negative integer.
 */
export async function prepareRequest(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  options: ReplayOptions = {},
): Promise<PreparedRequest> {
  const maxBufferBytes = options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES;
  if (!Number.isSafeInteger(maxBufferBytes) || maxBufferBytes < 0) {
    throw new RangeError(
      `breakwater: maxBufferBytes must be a non-negative integer (bytes), got ${String(maxBufferBytes)}`,
    );
  }

  const request = isRequestLike(input) ? input : undefined;
  const url = parseAbsoluteUrl(request ? request.url : isUrlLike(input) ? input.href : String(input));
  const method = normaliseMethod(init?.method ?? request?.method ?? 'GET');
  const headers = new Headers(init?.headers ?? request?.headers);

  const passthrough: Record<string, unknown> = {};
  if (request) {
    for (const member of REQUEST_MEMBERS) {
      const value: unknown = request[member];
      if (value !== undefined) passthrough[member] = value;
    }
  }
  if (init) {
    for (const [member, value] of Object.entries(init)) {
      if (!OWN_INIT_MEMBERS.has(member) && value !== undefined) passthrough[member] = value;
    }
  }

  const initBody = init?.body ?? null;
  const requestBody = initBody === null && request ? request.body : null;
  if ((initBody !== null || requestBody !== null) && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError(`breakwater: a ${method} request cannot have a body (fetch refuses it)`);
  }
  if (initBody === null && request?.bodyUsed) {
    throw new TypeError(
      'breakwater: the Request body was already used (body-already-used); pass a new Request, or the body in init',
    );
  }

  const body = await freezeBody(initBody ?? requestBody, maxBufferBytes);
  return new Prepared(method, url, headers, passthrough, body);
}

/** A body in the form it is replayed: the same value every attempt, or a one-shot stream. */
type FrozenBody =
  | { readonly kind: 'reusable'; readonly value: BodyInit | null }
  | { readonly kind: 'once'; readonly value: ReadableStream<Uint8Array> };

class Prepared implements PreparedRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: Headers;
  readonly replayable: boolean;
  readonly notReplayableReason?: NotReplayableReason;
  readonly #passthrough: Readonly<Record<string, unknown>>;
  readonly #body: FrozenBody;
  #attempts = 0;

  constructor(
    method: string,
    url: URL,
    headers: Headers,
    passthrough: Record<string, unknown>,
    body: FrozenBody,
  ) {
    this.method = method;
    this.url = url;
    this.headers = headers;
    this.#passthrough = passthrough;
    this.#body = body;
    this.replayable = body.kind === 'reusable';
    if (!this.replayable) this.notReplayableReason = 'body-too-large-to-buffer';
  }

  attempt(signal: AbortSignal): [string, RequestInit] {
    this.#attempts += 1;
    if (this.#body.kind === 'once' && this.#attempts > 1) {
      throw new Error(
        'breakwater: this request cannot be sent again: its body was a stream larger than maxBufferBytes ' +
          'and was consumed by the first attempt (body-too-large-to-buffer). Raise maxBufferBytes or pass ' +
          'the body as a Blob, ArrayBuffer or string to allow retries.',
      );
    }
    const init: Record<string, unknown> = {
      ...this.#passthrough,
      method: this.method,
      // A copy per attempt: a fetch implementation that edits the headers it is given must not leak
      // those edits into the next attempt.
      headers: new Headers(this.headers),
      signal,
    };
    const body = this.#body.value;
    if (body !== null) init.body = body;
    if (this.#body.kind === 'once') init.duplex = 'half';
    return [this.url.href, init as RequestInit];
  }
}

async function freezeBody(body: unknown, maxBufferBytes: number): Promise<FrozenBody> {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Blob) {
    return { kind: 'reusable', value: (body ?? null) as BodyInit | null };
  }
  if (ArrayBuffer.isView(body)) {
    return { kind: 'reusable', value: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice() };
  }
  if (isArrayBuffer(body)) return { kind: 'reusable', value: new Uint8Array(body.slice(0)) };
  if (body instanceof URLSearchParams) return { kind: 'reusable', value: new URLSearchParams(body) };
  if (body instanceof FormData) {
    const copy = new FormData();
    for (const [name, value] of body) copy.append(name, value);
    return { kind: 'reusable', value: copy };
  }
  const source = chunkSource(body);
  if (source) return bufferStream(source, maxBufferBytes);
  // Not a body type known here: hand it to fetch unchanged, which serialises it (or rejects it) as usual.
  return { kind: 'reusable', value: body as BodyInit };
}

/** Pull-based access to a stream body's chunks, whether it is a ReadableStream or an async iterable. */
interface ChunkSource {
  next(): Promise<IteratorResult<unknown>>;
  cancel(reason: unknown): Promise<void>;
}

function chunkSource(body: unknown): ChunkSource | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  if ('getReader' in body && typeof body.getReader === 'function') {
    const stream = body as ReadableStream<unknown>;
    if (stream.locked) {
      throw new TypeError('breakwater: the body stream is locked (already being read); it cannot be sent');
    }
    const reader = stream.getReader();
    return {
      next: () => reader.read() as Promise<IteratorResult<unknown>>,
      cancel: (reason) => reader.cancel(reason),
    };
  }
  if (Symbol.asyncIterator in body) {
    const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    return {
      next: () => iterator.next(),
      cancel: async (reason) => {
        await iterator.return?.(reason);
      },
    };
  }
  return undefined;
}

async function bufferStream(source: ChunkSource, maxBufferBytes: number): Promise<FrozenBody> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await source.next();
    if (done) return { kind: 'reusable', value: concat(chunks, total) };
    let chunk: Uint8Array;
    try {
      chunk = toBytes(value);
    } catch (error) {
      // Release the caller's stream (and whatever feeds it) rather than leave it locked mid-read.
      await source.cancel(error).catch(() => undefined);
      throw error;
    }
    chunks.push(chunk);
    total += chunk.byteLength;
    if (total > maxBufferBytes) break;
  }
  // Beyond the limit: send what was read, then the rest, once. Nothing is dropped or duplicated.
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffered = chunks.shift();
      if (buffered) {
        controller.enqueue(buffered);
        return;
      }
      const { done, value } = await source.next();
      if (done) controller.close();
      else controller.enqueue(toBytes(value));
    },
    cancel: (reason) => source.cancel(reason),
  });
  return { kind: 'once', value: stream };
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (isArrayBuffer(chunk)) return new Uint8Array(chunk);
  throw new TypeError(
    `breakwater: a body stream chunk must be a Uint8Array (fetch refuses anything else), got ${describe(chunk)}`,
  );
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array<ArrayBuffer> {
  const only = chunks.length === 1 ? chunks[0] : undefined;
  if (only && isArrayBuffer(only.buffer)) return only as Uint8Array<ArrayBuffer>;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

function parseAbsoluteUrl(text: string): URL {
  let url: URL | undefined;
  if (URL.canParse(text)) {
    url = new URL(text);
  } else {
    // Browsers resolve a relative URL against the document; Node and other servers have no such base.
    const base = (globalThis as { location?: { href?: unknown } }).location?.href;
    if (typeof base === 'string' && URL.canParse(text, base)) url = new URL(text, base);
  }
  if (!url) {
    throw new TypeError(
      `breakwater: cannot send a request to "${redact(text)}": not an absolute URL, and this runtime has ` +
        'no base URL (globalThis.location) to resolve it against; pass an absolute URL such as ' +
        '"https://api.example.com/v1/items"',
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      'breakwater: the request URL includes credentials (user:password@), which fetch refuses; ' +
        'send them in an Authorization header instead',
    );
  }
  return url;
}

function normaliseMethod(method: string): string {
  if (!METHOD_TOKEN.test(method)) {
    throw new TypeError(`breakwater: "${method.slice(0, 40)}" is not a valid HTTP method`);
  }
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`breakwater: fetch refuses the ${upper} method`);
  return NORMALISED_METHODS.has(upper) ? upper : method;
}

/** Drops what must never appear in an error: the query, the fragment, and any user:password@. */
function redact(text: string): string {
  const cut = text.search(/[?#]/);
  const withoutQuery = cut === -1 ? text : `${text.slice(0, cut)}${text[cut] === '?' ? '?…' : ''}`;
  return withoutQuery.replace(/^([^/?#]*\/\/)[^/?#]*@/, '$1…@').slice(0, 200);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

function isRequestLike(input: unknown): input is Request {
  return (
    typeof input === 'object' &&
    input !== null &&
    typeof (input as { url?: unknown }).url === 'string' &&
    typeof (input as { method?: unknown }).method === 'string' &&
    typeof (input as { headers?: unknown }).headers === 'object'
  );
}

function isUrlLike(input: unknown): input is URL {
  return (
    input instanceof URL ||
    (typeof input === 'object' && input !== null && typeof (input as { href?: unknown }).href === 'string')
  );
}

function isArrayBuffer(value: unknown): value is ArrayBuffer {
  // A tag test, not instanceof: buffers from another realm (vm, iframes, jsdom) must be recognised too.
  return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
}
