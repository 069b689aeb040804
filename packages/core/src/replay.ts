/**
 * Request replay: turns one `fetch(input, init)` call into a recipe that can be sent several times
 * (one per retry attempt) and reaches the server identically every time.
 *
 * What the wrapped fetch receives is what the caller gave it, with as little changed as possible: the
 * caller's input itself (a `Request` keeps what only its own implementation can read, such as undici's
 * `dispatcher`), the caller's init members and headers as they were at the call (init-snapshot.ts:
 * read as fetch reads them, names in the case they were written), and only the signal, the body where
 * it has to be replayed, and a Request input's headers (taken at the call) replaced.
 *
 * Buffer bodies are copied when the call is prepared, as fetch itself does when it is called: a caller
 * that reuses or mutates its buffer after calling (a pooled Node Buffer, say) must not change what a
 * later attempt sends. Strings and Blobs are immutable and are not copied; URLSearchParams and
 * FormData are shallow-copied (entries only, never file contents).
 *
 * A stream body is not read before the first attempt: each chunk the first attempt reads goes to the
 * wire and into a replay copy, which a retry sends before it continues pulling the source. Past
 * `maxBufferBytes` the copy is dropped and the request is no longer replayable.
 */

import { isToken, memoizableUrl } from '@breakwater/policies';
import { snapshotHeaders, snapshotInit } from './init-snapshot.ts';

/** The default for {@link ReplayOptions.maxBufferBytes}: 1 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 1024 * 1024;

export interface ReplayOptions {
  /**
   * Largest stream body (a `ReadableStream`, an async iterable such as a Node `Readable`, or a
   * `Request` input's body) kept in memory while it is sent, so that the call can be retried. A larger
   * body is still sent, once and complete, but the call is then not retried. Default
   * {@link DEFAULT_MAX_BUFFER_BYTES} (1 MiB): the request bodies of REST APIs such as Partner Center are
   * small JSON documents far below it, and 1 MiB is Envoy's default retry buffer limit
   * (`per_connection_buffer_limit_bytes`), so a proxy in front of the same API makes the same
   * trade-off; uploads big enough to exceed it should not be held in memory per call.
   */
  readonly maxBufferBytes?: number;
  /**
   * The caller's signal. Aborted before or while a `Request` input's body is read, it cancels the body
   * with its reason and the call rejects with that reason, as fetch does. Default: none.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Base against which a relative URL is resolved to choose its endpoint. Default: undici's global
   * origin (`setGlobalOrigin`), else `globalThis.location`.
   */
  readonly baseUrl?: string | URL | undefined;
}

/** Why a prepared request can be sent only once. */
export type NotReplayableReason = 'body-too-large-to-buffer' | 'body-stream-errored';

/** An attempt's signal, made when first read; `ready` is it when made already (then read at once). */
export interface AttemptSignalHolder {
  readonly signal: AbortSignal;
  readonly ready?: AbortSignal | undefined;
}

/** One logical fetch call, ready to be sent once per attempt. */
export interface PreparedRequest {
  /** The HTTP method; upper case for DELETE GET HEAD OPTIONS POST PUT, as given otherwise (as fetch does). */
  readonly method: string;
  /**
   * The absolute request URL (resolved against the base; the wrapped fetch gets the URL as given). Each
   * request has a URL object of its own, made when first read.
   */
  readonly url: URL;
  /** `url.href`, without making the URL object. Default: `url.href`. */
  readonly href?: string;
  /**
   * The URL object when one was made already, else its href: for a reader that takes either (the
   * endpoint resolver, URL redaction) and would otherwise make one. Default: `url`.
   */
  readonly target?: URL | string;
  /**
   * The request headers, for reading. Add a header generated once per call (an idempotency key, a
   * correlation id) with {@link PreparedRequest.setHeader}, before the first attempt.
   */
  readonly headers: Headers;
  /**
   * False when the body cannot be sent again: a stream that went past `maxBufferBytes` or failed. Only
   * an attempt reads a stream, so ask after an attempt.
   */
  readonly replayable: boolean;
  /** Set when `replayable` is false, for the event that reports why the call was not retried. */
  readonly notReplayableReason?: NotReplayableReason | undefined;
  /** False when the body is a stream, which one attempt at a time reads: attempts cannot run side by side (hedging). */
  readonly concurrent?: boolean;
  /**
   * The caller's signal: `options.signal`, or for a call taken in by {@link intake} init's signal (`null`
   * detaches from a Request's), else the Request input's. Default: none.
   */
  readonly callerSignal?: AbortSignal | undefined;
  /** Adds a header to every attempt, sent with the name in the case given here. */
  setHeader(name: string, value: string): void;
  /**
   * The `(input, init)` pair for one attempt, carrying `signal` instead of the caller's signal; given a
   * holder of a signal not made yet, init's `signal` reads it only when the wrapped fetch does (so that
   * a signal is made only for a fetch that uses it). Every call returns a fresh body where one is needed.
   * Throws an `Error` when called again on a request that is not replayable.
   */
  attempt(signal: AbortSignal | AttemptSignalHolder): [RequestInfo | URL, RequestInit];
  /**
   * Ends a call that handed no Response back: a stream body that nothing will read any more is
   * cancelled with `reason`, so its source (a file, a socket) is released.
   */
  release(reason: unknown): void;
}

/** Methods fetch normalises to upper case; any other method is sent exactly as given. */
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);
/** Methods fetch refuses to send. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
/** Where undici (and Node's bundled undici) keep the origin set by `setGlobalOrigin()`. */
const UNDICI_GLOBAL_ORIGIN = Symbol.for('undici.globalOrigin.1');

/** Why a call goes to the wrapped fetch as it is, once, without retries or breaker. */
export type PassThroughReason = 'not-http' | 'no-base-url' | 'invalid-signal' | 'stream-without-duplex';

/**
 * What wrapFetch makes of one call, reading `(input, init)` once: the call prepared for replay (as
 * {@link prepare}, its URL resolved against `baseUrl` and its {@link PreparedRequest.callerSignal} set),
 * or why it goes to the wrapped fetch as it is, once, without retries or breaker. Breakwater only judges
 * what it understands: an `http:`/`https:` URL it can resolve, a real `AbortSignal` and a stream body
 * sent with `duplex: 'half'`. Anything else (a `blob:`, `data:` or `file:` URL, a relative URL with no
 * base, a signal or a stream body fetch would refuse) means what the wrapped fetch makes of it, its
 * error included; retrying it would only repeat that answer.
 *
 * @throws where {@link prepare} throws.
 */
export function intake(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  maxBufferBytes: number,
  baseUrl: string | undefined,
): PreparedRequest | Promise<PreparedRequest> | PassThroughReason {
  // Read once, as fetch reads it, before anything else reads it.
  const given = init && snapshotInit(init);
  const signal: unknown = given?.signal;
  if (signal !== undefined && signal !== null && !(signal instanceof AbortSignal)) return 'invalid-signal';
  // The fetch standard refuses a stream body without `duplex` before reading it (undici, browsers),
  // leaving the caller's stream untouched; a fetch that accepts it (node-fetch) sends it once.
  if (isStreamBody(given?.body) && (given as { duplex?: unknown }).duplex == null)
    return 'stream-without-duplex';
  const request = isRequestLike(input) ? input : undefined;
  const text = request ? request.url : urlTextOf(input);
  let target: URL | string;
  if (lastTarget !== undefined && text === lastTarget.text) {
    target = lastTarget.href;
  } else {
    let url = absoluteUrl(text);
    const absolute = url !== undefined;
    try {
      url ??= againstBase(text, baseUrl);
    } catch {
      return 'no-base-url';
    }
    if (!url) return 'no-base-url';
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'not-http';
    checkCredentials(url);
    // Only an absolute text: a relative one depends on the base too.
    if (absolute && memoizableUrl(text)) lastTarget = { text, href: url.href };
    target = url;
  }
  const callerSignal = signal !== undefined ? signal : request?.signal;
  return build(input, given, request, text, target, {
    maxBufferBytes,
    signal: callerSignal instanceof AbortSignal ? callerSignal : undefined,
  });
}

/**
 * Reads `(input, init)` the way `new Request(input, init)` would and prepares it for replay.
 *
 * Init's method, headers and body override those of a `Request` input. Each attempt hands the wrapped
 * fetch the caller's input and init as given, with the signal passed to
 * {@link PreparedRequest.attempt}, a replayable body, and the caller's headers plus any added with
 * {@link PreparedRequest.setHeader}.
 *
 * A stream in init is not read here: attempts read it through a replay copy (see the module comment).
 * A `Request` input's body is read now, up to `maxBufferBytes`, so that it is sent with its length as
 * fetch would send it; beyond that limit it is sent once, complete, and the call is not replayable.
 *
 * @throws TypeError where fetch would: a relative URL with no base, a URL with credentials, an invalid
 *   or forbidden method, a body on GET or HEAD, a used `Request` body, a locked stream.
 * @throws the signal's reason when `options.signal` is aborted, after cancelling a stream body.
 */
export async function prepareRequest(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  options: ReplayOptions = {},
): Promise<PreparedRequest> {
  return prepare(input, init, options);
}

/**
 * {@link prepareRequest}, in the same turn unless a body must be read or cancelled first (a `Request`
 * input's body, an aborted call's stream): most calls need not wait for anything. May throw where
 * `prepareRequest` rejects.
 */
export function prepare(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  options: ReplayOptions = {},
): PreparedRequest | Promise<PreparedRequest> {
  const request = isRequestLike(input) ? input : undefined;
  const text = urlTextOf(input);
  const url = resolveUrl(text, options.baseUrl);
  if (!url) throw relativeUrlError(text);
  checkCredentials(url);
  return build(input, init && snapshotInit(init), request, text, url, {
    maxBufferBytes: options.maxBufferBytes ?? DEFAULT_MAX_BUFFER_BYTES,
    signal: options.signal,
  });
}

/**
 * The last absolute URL text {@link intake} took in, and its href: most calls repeat the URL of the
 * call before, and parsing it is the dearest step of taking a call in. Strings only, since a string
 * cannot change; the URL object, which can, is made per request (when read).
 */
let lastTarget: { readonly text: string; readonly href: string } | undefined;

/**
 * {@link prepare} once the URL is known and checked (as a URL, or as the href of one checked before):
 * `maxBufferBytes` was checked once, by wrapFetch's options. `init`: the caller's, as taken by
 * {@link snapshotInit}.
 */
function build(
  input: RequestInfo | URL,
  init: RequestInit | undefined,
  request: Request | undefined,
  text: string,
  url: URL | string,
  { maxBufferBytes, signal }: { readonly maxBufferBytes: number; readonly signal: AbortSignal | undefined },
): PreparedRequest | Promise<PreparedRequest> {
  const method = normaliseMethod(init?.method ?? request?.method ?? 'GET');
  // Taken now, as fetch takes them when called (a Request's too, which can be changed after the call).
  const givenHeaders = snapshotHeaders(init?.headers !== undefined ? init.headers : request?.headers);
  // Copied into a Headers only when something reads them (undici's Headers is slow to build); given
  // in a form that may be invalid, they are copied now, so that fetch's TypeError comes before any attempt.
  const headers = plainHeaders(givenHeaders) ? undefined : new Headers(givenHeaders as HeadersInit);

  const initBody: unknown = init?.body ?? null;
  const requestBody = initBody === null && request ? request.body : null;
  if ((initBody !== null || requestBody !== null) && (method === 'GET' || method === 'HEAD')) {
    throw new TypeError(`breakwater: a ${method} request cannot have a body (fetch refuses it)`);
  }
  if (initBody === null && request?.bodyUsed) {
    throw new TypeError(
      'breakwater: the Request body was already used (body-already-used); pass a new Request, or the body in init',
    );
  }

  if (signal?.aborted) return cancelled(initBody ?? requestBody, signal);
  const sentInput: RequestInfo | URL = request ?? (typeof input === 'string' ? input : text);
  const parts: PreparedParts = { method, url, headers, givenHeaders, input: sentInput, init, signal };
  if (initBody !== null) return new Prepared(parts, freezeInitBody(initBody, maxBufferBytes));
  if (requestBody === null) return new Prepared(parts, NO_BODY);
  return readRequestBody(requestBody, maxBufferBytes, signal).then((body) => new Prepared(parts, body));
}

/** As fetch: an aborted call cancels its body and rejects with the signal's reason. */
async function cancelled(body: unknown, signal: AbortSignal): Promise<never> {
  await chunkSource(body)
    ?.cancel(signal.reason)
    .catch(() => {});
  throw signal.reason;
}

/** A body in the form it is replayed. */
type PreparedBody =
  | { readonly kind: 'none' }
  | { readonly kind: 'value'; readonly value: BodyInit }
  /** `duplex`: add `duplex: 'half'`, which the caller did not need to give (a Request input's body). */
  | { readonly kind: 'stream'; readonly tee: BodyTee; readonly duplex: boolean };

const NO_BODY: PreparedBody = { kind: 'none' };

interface PreparedParts {
  readonly method: string;
  /** The URL, or its href to make it from when read. */
  readonly url: URL | string;
  /** The given headers already copied, or undefined to copy them when first read. */
  readonly headers: Headers | undefined;
  readonly givenHeaders: unknown;
  readonly input: RequestInfo | URL;
  readonly init: RequestInit | undefined;
  readonly signal: AbortSignal | undefined;
}

class Prepared implements PreparedRequest {
  readonly method: string;
  readonly href: string;
  #url: URL | undefined;
  readonly callerSignal: AbortSignal | undefined;
  #headers: Headers | undefined;
  readonly #input: RequestInfo | URL;
  /** The caller's init as taken at the call: each attempt copies it with its own signal over the caller's. */
  readonly #init: RequestInit | undefined;
  readonly #givenHeaders: unknown;
  /**
   * Lower-case names present before any was added; the rest were added for the call. Taken at the
   * first `setHeader`: a call that adds none (most) never lists its headers.
   */
  #givenNames: ReadonlySet<string> | undefined;
  /** The case an added header was given in (a Headers object forgets it); made at the first `setHeader`. */
  #addedCase: Map<string, string> | undefined;
  readonly #body: PreparedBody;
  #attempts = 0;

  constructor(parts: PreparedParts, body: PreparedBody) {
    this.method = parts.method;
    if (typeof parts.url === 'string') {
      this.href = parts.url;
    } else {
      this.#url = parts.url;
      this.href = parts.url.href;
    }
    this.callerSignal = parts.signal;
    this.#headers = parts.headers;
    this.#input = parts.input;
    // A copy taken at the call (snapshotInit): the attempt's signal is written over the caller's at
    // each attempt.
    this.#init = parts.init;
    this.#givenHeaders = parts.givenHeaders;
    this.#body = body;
  }

  get url(): URL {
    this.#url ??= new URL(this.href);
    return this.#url;
  }

  get target(): URL | string {
    return this.#url ?? this.href;
  }

  /**
   * Copied from the caller's headers at the first read (a rule reading a header, a generated header, an
   * HttpError): most calls never read them. The caller's headers are read then, as each attempt reads them.
   */
  get headers(): Headers {
    this.#headers ??= new Headers(this.#givenHeaders as HeadersInit | undefined);
    return this.#headers;
  }

  /** The attempts sent so far: telemetry records them for a call that rejects without saying them. */
  get attempts(): number {
    return this.#attempts;
  }

  get replayable(): boolean {
    return this.#body.kind !== 'stream' || this.#body.tee.replayable;
  }

  get notReplayableReason(): NotReplayableReason | undefined {
    return this.#body.kind === 'stream' ? this.#body.tee.notReplayableReason : undefined;
  }

  get concurrent(): boolean {
    return this.#body.kind !== 'stream';
  }

  setHeader(name: string, value: string): void {
    this.#givenNames ??= new Set(this.headers.keys());
    this.headers.set(name, value);
    this.#addedCase ??= new Map();
    this.#addedCase.set(name.toLowerCase(), name);
  }

  attempt(signal: AbortSignal | AttemptSignalHolder): [RequestInfo | URL, RequestInit] {
    if (this.#attempts > 0 && !this.replayable) {
      throw new Error(
        `breakwater: this request cannot be sent again (${this.notReplayableReason}): its body was a ` +
          'stream larger than maxBufferBytes, or one that failed, and the first attempt consumed it. ' +
          'Raise maxBufferBytes or pass the body as a Blob, ArrayBuffer or string to allow retries.',
      );
    }
    this.#attempts += 1;
    // The attempt's signal is written after the caller's members, over the caller's signal.
    const made = signal instanceof AbortSignal ? signal : signal.ready;
    const init: Record<string, unknown> = made
      ? { ...this.#init, signal: made }
      : {
          ...this.#init,
          get signal() {
            return (signal as AttemptSignalHolder).signal;
          },
        };
    const headers = this.#attemptHeaders();
    if (headers) init.headers = headers;
    const body = this.#body;
    if (body.kind === 'value') init.body = body.value;
    if (body.kind === 'stream') {
      init.body = body.tee.branch();
      if (body.duplex) init.duplex = 'half';
    }
    return [this.#input, init as RequestInit];
  }

  release(reason: unknown): void {
    if (this.#body.kind === 'stream') void this.#body.tee.cancel(reason);
  }

  /**
   * The caller's headers as they were at the call, unless headers were added: then a fresh list of
   * pairs (so that no attempt sees another's edits) in which every name keeps the case it was written in.
   */
  #attemptHeaders(): unknown {
    const given = this.#givenNames;
    if (given !== undefined) {
      const added: Array<[string, string]> = [];
      for (const [name, value] of this.headers) {
        if (!given.has(name)) added.push([this.#addedCase?.get(name) ?? name, value]);
      }
      if (added.length > 0) return [...headerPairs(this.#givenHeaders), ...added];
    }
    // The headers as taken at the call, init's or a Request input's (whose own can change after it).
    return this.#givenHeaders;
  }
}

/** The pairs of a HeadersInit, names in the case they were written (a Headers object lowercases them). */
function headerPairs(given: unknown): Array<[string, string]> {
  if (given === undefined || given === null) return [];
  if (typeof (given as Iterable<unknown>)[Symbol.iterator] === 'function') {
    return Array.from(given as Iterable<Iterable<unknown>>, (pair) => {
      const [name, value] = Array.from(pair);
      return [String(name), String(value)];
    });
  }
  return Object.entries(given as Record<string, unknown>).map(([name, value]) => [name, String(value)]);
}

/** A header value `Headers` keeps as it is: printable ASCII (tabs within), no whitespace at either end. */
const PLAIN_VALUE = /^(?:[!-~](?:[\t -~]*[!-~])?)?$/;

/**
 * True when `new Headers(given)` certainly accepts `given`, so that copying it can wait: none, a
 * global `Headers` (already checked), or a plain record or array of pairs of token names and plain
 * values. Anything else (another implementation's Headers, odd values) is copied at once, as before.
 */
function plainHeaders(given: unknown): boolean {
  if (given === undefined || given instanceof Headers) return true;
  if (Array.isArray(given)) {
    return given.every(
      (pair: unknown) =>
        Array.isArray(pair) && pair.length === 2 && plainHeader(pair[0] as unknown, pair[1] as unknown),
    );
  }
  if (typeof given !== 'object' || given === null) return false;
  const proto: unknown = Object.getPrototypeOf(given);
  if (proto !== Object.prototype && proto !== null) return false;
  const names = Object.keys(given);
  // A symbol or a hidden key is something `Headers` reads or refuses in its own way.
  if (Reflect.ownKeys(given).length !== names.length) return false;
  return names.every((name) => plainHeader(name, (given as Record<string, unknown>)[name]));
}

function plainHeader(name: unknown, value: unknown): boolean {
  return typeof name === 'string' && typeof value === 'string' && isToken(name) && PLAIN_VALUE.test(value);
}

function freezeInitBody(body: unknown, maxBufferBytes: number): PreparedBody {
  if (typeof body === 'string' || body instanceof Blob) return { kind: 'value', value: body };
  if (ArrayBuffer.isView(body)) {
    // A view of a detached buffer has no bytes: fetch sends an empty body, and so does this.
    if (body.byteLength === 0) return { kind: 'value', value: new Uint8Array(0) };
    return { kind: 'value', value: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice() };
  }
  if (isArrayBuffer(body)) {
    return {
      kind: 'value',
      value: body.byteLength === 0 ? new Uint8Array(0) : new Uint8Array(body.slice(0)),
    };
  }
  if (body instanceof URLSearchParams) return { kind: 'value', value: new URLSearchParams(body) };
  if (body instanceof FormData) {
    const copy = new FormData();
    for (const [name, value] of body) copy.append(name, value);
    return { kind: 'value', value: copy };
  }
  const source = chunkSource(body);
  // duplex stays as the caller gave it: a fetch that requires it (undici, browsers) refuses a stream
  // without it with its own TypeError, and one that does not (node-fetch) sends it.
  if (source) return { kind: 'stream', tee: new BodyTee(source, maxBufferBytes), duplex: false };
  // Not a body type known here: hand it to fetch unchanged, which serialises it (or rejects it) as usual.
  return { kind: 'value', value: body as BodyInit };
}

/**
 * Reads a Request input's body up to `maxBufferBytes`, tied to the caller's signal. Read now rather
 * than streamed so that a body fetch knows the length of (a string or bytes in a Request, the usual
 * case, and what ky sends) goes out with its Content-Length as it would through fetch.
 */
async function readRequestBody(
  body: ReadableStream<Uint8Array>,
  maxBufferBytes: number,
  signal: AbortSignal | undefined,
): Promise<PreparedBody> {
  const tee = new BodyTee(chunkSource(body) as ChunkSource, maxBufferBytes);
  await tee.fill(signal);
  const bytes = tee.bytes();
  return bytes ? { kind: 'value', value: bytes } : { kind: 'stream', tee, duplex: true };
}

/** A ReadableStream or an async iterable (a Node Readable): the bodies fetch sends as a stream. */
function isStreamBody(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  return typeof (body as { getReader?: unknown }).getReader === 'function' || Symbol.asyncIterator in body;
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
      cancel: async (reason) => {
        await reader.cancel(reason);
        reader.releaseLock();
      },
    };
  }
  if (Symbol.asyncIterator in body) {
    const iterator = (body as AsyncIterable<unknown>)[Symbol.asyncIterator]();
    return {
      next: () => iterator.next(),
      cancel: async () => {
        // A Node Readable is destroyed first, so that a file-backed stream closes its descriptor now:
        // return() waits for a pending read, which a stalled source may never end, and does not
        // destroy a Readable whose iteration never started. Without an error, which would be unhandled.
        const destroy = (body as { destroy?: unknown }).destroy;
        if (typeof destroy === 'function') destroy.call(body);
        // Not awaited, for the same reason: a generator's return() queues behind its pending next().
        Promise.resolve(iterator.return?.()).catch(() => undefined);
      },
    };
  }
  return undefined;
}

/**
 * A tee of a stream body: every branch (one per attempt) replays the chunks read so far and then pulls
 * the source, so the first attempt streams as it reads and a retry continues where the source stands.
 * Chunks are kept while their total stays within `maxBufferBytes`; past it the copy is dropped as the
 * current branch consumes it, and no new branch may start. Only the newest branch may read: an older
 * attempt's body errors if its fetch still pulls it.
 */
class BodyTee {
  readonly #source: ChunkSource;
  readonly #maxBytes: number;
  /** Chunks read from the source and not yet dropped; `#chunks[0]` is chunk number `#dropped`. */
  #chunks: unknown[] = [];
  #dropped = 0;
  #bytes = 0;
  #keeping = true;
  #done = false;
  #failed: { readonly error: unknown } | undefined;
  #reading: Promise<void> | undefined;
  #branch = 0;
  #cancelled: { readonly reason: unknown } | undefined;

  constructor(source: ChunkSource, maxBytes: number) {
    this.#source = source;
    this.#maxBytes = maxBytes;
  }

  get replayable(): boolean {
    return this.#keeping && !this.#failed && !this.#cancelled;
  }

  get notReplayableReason(): NotReplayableReason | undefined {
    if (this.#failed) return 'body-stream-errored';
    // A cancelled tee needs no reason: it is cancelled only when its call ends, and nothing asks then.
    return this.#keeping ? undefined : 'body-too-large-to-buffer';
  }

  /** A new branch for an attempt, which supersedes every earlier one. */
  branch(): ReadableStream<unknown> {
    const id = ++this.#branch;
    let index = this.#dropped;
    return new ReadableStream<unknown>(
      {
        pull: async (controller) => {
          for (;;) {
            if (id !== this.#branch) throw new Error('breakwater: a later attempt took over this body');
            // Errored, never closed: a cut body must not reach the server as a complete one.
            if (this.#cancelled) throw this.#cancelled.reason;
            const offset = index - this.#dropped;
            if (offset < this.#chunks.length) {
              controller.enqueue(this.#chunks[offset]);
              index += 1;
              if (!this.#keeping) this.#drop(index);
              return;
            }
            if (this.#failed) throw this.#failed.error;
            if (this.#done) {
              controller.close();
              return;
            }
            await this.#readOne();
          }
        },
        // An attempt's fetch cancels its body when it stops (timeout, error); the source is kept for a
        // retry while the body is replayable, and released at the end of the call otherwise.
        cancel: async (reason) => {
          if (id === this.#branch && !this.replayable) await this.cancel(reason);
        },
      },
      // Pull only when the fetch reads: nothing is read before an attempt sends.
      { highWaterMark: 0 },
    );
  }

  /** Reads until the source ends or the copy is full; the caller's abort cancels the source. */
  async fill(signal: AbortSignal | undefined): Promise<void> {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      while (!this.#done && this.#keeping && !this.#failed) await Promise.race([this.#readOne(), aborted]);
    } catch (reason) {
      await this.cancel(reason);
      throw reason;
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
    if (this.#failed) throw this.#failed.error;
  }

  /** The whole body as one byte array, when it was read completely within the limit. */
  bytes(): Uint8Array<ArrayBuffer> | undefined {
    if (!this.#done || !this.#keeping || this.#failed) return undefined;
    if (!this.#chunks.every((chunk) => chunk instanceof Uint8Array)) return undefined;
    const chunks = this.#chunks as Uint8Array[];
    const bytes = new Uint8Array(this.#bytes);
    let offset = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, offset);
      offset += chunk.byteLength;
    }
    return bytes;
  }

  /** Cancels the source unless it was read to its end; no branch may read afterwards. */
  async cancel(reason: unknown): Promise<void> {
    if (this.#cancelled || this.#done) return;
    this.#cancelled = { reason };
    this.#chunks = [];
    await this.#source.cancel(reason).catch(() => {});
  }

  #readOne(): Promise<void> {
    this.#reading ??= this.#source
      .next()
      .then(
        ({ done, value }) => {
          if (this.#cancelled) return;
          if (done) {
            this.#done = true;
            return;
          }
          this.#bytes += byteLength(value);
          if (this.#bytes > this.#maxBytes) this.#keeping = false;
          this.#chunks.push(value);
        },
        (error: unknown) => {
          this.#failed = { error };
        },
      )
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }

  /** Past the limit, forgets the chunks the current branch has sent. */
  #drop(upTo: number): void {
    this.#chunks.splice(0, upTo - this.#dropped);
    this.#dropped = upTo;
  }
}

const encoder = new TextEncoder();

/** Bytes a chunk puts on the wire; strings are sent as UTF-8 by fetch implementations that take them. */
function byteLength(chunk: unknown): number {
  if (typeof chunk === 'string') return encoder.encode(chunk).byteLength;
  if (ArrayBuffer.isView(chunk) || isArrayBuffer(chunk)) return chunk.byteLength;
  // Anything else is the wrapped fetch's to accept or refuse; it costs no replay memory of note.
  return 0;
}

function urlTextOf(input: unknown): string {
  if (isRequestLike(input)) return input.url;
  if (isUrlLike(input)) return input.href;
  return String(input);
}

/** The absolute URL of `text`: as it is, or against the base fetch would use. Undefined when none. */
function resolveUrl(text: string, baseUrl: string | URL | undefined): URL | undefined {
  return absoluteUrl(text) ?? againstBase(text, baseUrl);
}

/** `text` resolved against the base fetch would use, for a text that is not an absolute URL. */
function againstBase(text: string, baseUrl: string | URL | undefined): URL | undefined {
  // undici's setGlobalOrigin() (Node's fetch too) is fetch's base outside a browser; location inside.
  const globalOrigin: unknown = (globalThis as Record<symbol, unknown>)[UNDICI_GLOBAL_ORIGIN];
  const location: unknown = (globalThis as { location?: { href?: unknown } }).location?.href;
  for (const base of [baseUrl, globalOrigin, location]) {
    const href = base instanceof URL ? base.href : base;
    if (typeof href === 'string' && URL.canParse(text, href)) return new URL(text, href);
  }
  return undefined;
}

/** One parse for an absolute URL (most calls): `canParse` then `new URL` would parse it twice. */
function absoluteUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

function relativeUrlError(text: string): TypeError {
  return new TypeError(
    `breakwater: cannot send a request to "${redact(text)}": not an absolute URL, and this runtime has ` +
      'no base URL (baseUrl, setGlobalOrigin() or globalThis.location) to resolve it against; pass an ' +
      'absolute URL such as "https://api.example.com/v1/items"',
  );
}

function checkCredentials(url: URL): void {
  if (url.username !== '' || url.password !== '') {
    throw new TypeError(
      'breakwater: the request URL includes credentials (user:password@), which fetch refuses; ' +
        'send them in an Authorization header instead',
    );
  }
}

function normaliseMethod(method: string): string {
  // Most calls give one of these, as fetch would send it: nothing to check or change.
  if (NORMALISED_METHODS.has(method)) return method;
  if (!isToken(method)) {
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

/**
 * A Request of any implementation (the global one, the `undici` package's, node-fetch's), recognised by
 * shape past the global one's `instanceof`. A plain object with a `url` is none: fetch reads it as a
 * string, as `[object Object]`, and fails on that.
 */
function isRequestLike(input: unknown): input is Request {
  // Most calls pass a string: asked first, it spares them the global lookup and the instanceof
  // (~0.09 µs a call in a profile of the in-memory path).
  if (typeof input === 'string') return false;
  if (input instanceof Request) return true;
  const candidate = input as { url?: unknown; method?: unknown; clone?: unknown; bodyUsed?: unknown };
  return (
    typeof input === 'object' &&
    input !== null &&
    typeof candidate.url === 'string' &&
    typeof candidate.method === 'string' &&
    typeof candidate.clone === 'function' &&
    typeof candidate.bodyUsed === 'boolean'
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
