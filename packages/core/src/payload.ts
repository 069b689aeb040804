import { webStream } from './body-reads.ts';
import { wholeMembers } from './json-prefix.ts';
import type { ResponseLike } from './types.ts';

/**
 * Reading and normalising error response bodies. A failed request must always surface as its HTTP
 * error, so nothing here throws on what the server sent: a body that is huge, broken, cut short, or not
 * JSON still yields an `ErrorPayload` (possibly empty).
 */

/**
 * An error body normalised across the shapes Partner Center (and similar APIs) send. Absent fields are
 * omitted, never set to `undefined`.
 */
export interface ErrorPayload {
  /** The service's error code (OAuth's string `error`), always a string (`3000` becomes `'3000'`). */
  code?: string;
  /** Human-readable description (problem details' `detail`), at most 1024 characters. For a non-JSON body: its text. */
  description?: string;
  /** Extra detail as sent (often an array of strings). */
  data?: unknown;
  /** The component that reported the error, e.g. `PartnerFD`. */
  source?: string;
  /** The extended schema's / gateway's `message` (problem details' `title`), at most 1024 characters. */
  message?: string;
  /** The extended schema's symbolic name, e.g. `PartnerConfirmedAgreementAlreadyExists`. */
  errorName?: string;
  /** The extended schema's verdict; `false` means the server says a retry cannot succeed. */
  isRetryable?: boolean;
  /** The extended schema's `parameters`, as sent. */
  parameters?: unknown;
  /** The parsed JSON body as sent, for fields this shape does not name (e.g. `other_errors`). */
  raw?: unknown;
}

/**
 * Deepest nesting of a JSON body parsed as JSON. `JSON.stringify`, `util.inspect` and loggers recurse:
 * a body of 30 000 brackets, well inside the byte bound, kept in `raw` would make printing the error
 * throw a RangeError in the caller's catch block.
 */
export const MAX_JSON_DEPTH = 64;

/** Longest description or message kept, in characters, as Partner Center documents for `description`. */
export const MAX_TEXT_LENGTH = 1024;

/** Default bound of an error body read, in bytes (64 KiB). */
export const DEFAULT_PAYLOAD_LIMIT_BYTES = 65_536;

/**
 * Reads at most `limitBytes` of `response`'s body and normalises it with {@link parseErrorPayload}.
 *
 * The body is consumed (not cloned: a clone tees the stream and buffers whatever the other branch does
 * not read, which would make the bound meaningless). Once the bound is reached the rest of the stream is
 * cancelled, so a 10 MiB error page costs at most `limitBytes`.
 *
 * Never rejects because of the body: a missing (`null`) body, an already used or locked body, or a
 * stream that errors part-way yields what could be read (an empty payload if nothing).
 *
 * The bound in bytes is no bound in time: a server that sends a few bytes and stalls keeps the read
 * going until the connection's own body timeout (undici: 300 s). Pass `signal` to end it earlier: on
 * abort the stream is cancelled and what arrived until then is parsed (a JSON body cut short gives a
 * text-only or empty payload). The read never rejects with the signal's reason.
 *
 * @param limitBytes Bytes read at most. Default 65 536 (64 KiB).
 * @param signal Ends the read when it aborts (at once if it already has). Default: none.
 * @throws RangeError (as a rejection) when `limitBytes` is not a non-negative integer.
 */
export async function readErrorPayload(
  response: Response | ResponseLike,
  limitBytes: number = DEFAULT_PAYLOAD_LIMIT_BYTES,
  signal?: AbortSignal,
): Promise<ErrorPayload> {
  const { text } = await readErrorText(response, limitBytes, signal, 'readErrorPayload: limitBytes');
  return parseErrorPayload(text, response.headers.get('content-type'));
}

/** What a bounded read of an error body gave. */
export interface ErrorText {
  readonly text: string;
  /**
   * False when the read stopped before the body's end (at the bound, on abort, on a stream error):
   * the text may then end inside an echoed secret, whose start `HttpError.from` takes out too.
   */
  readonly complete: boolean;
}

/**
 * Reads up to `limitBytes` of the body as text (see {@link decoderFor}); gives '' when the body
 * cannot be read at all. `where` names the function and option a refusal of `limitBytes` points at.
 * `HttpError.from` reads this way, then parses with {@link scrubbedPayload}, which takes the request's
 * secrets out of the parsed body.
 */
export async function readErrorText(
  response: Response | ResponseLike,
  limitBytes: number = DEFAULT_PAYLOAD_LIMIT_BYTES,
  signal: AbortSignal | undefined,
  where: string,
): Promise<ErrorText> {
  if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) {
    throw new RangeError(`breakwater: ${where} must be a non-negative integer, got ${String(limitBytes)}`);
  }
  return readBoundedText(response, limitBytes, signal);
}

async function readBoundedText(
  response: Response | ResponseLike,
  limitBytes: number,
  signal: AbortSignal | undefined,
): Promise<ErrorText> {
  const body: unknown = response.body;
  if (body == null || response.bodyUsed) return { text: '', complete: true };
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = webStream(body).getReader();
  } catch {
    // Locked by another reader: the body belongs to someone else.
    return { text: '', complete: true };
  }
  // Cancelling settles a pending read with `done`, so the loop below ends with what it has.
  const stop = (): void => {
    reader.cancel().catch(() => {});
  };
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  const decode = bodyDecoder(response.headers.get('content-type'));
  let text = '';
  let received = 0;
  let complete = false;
  try {
    while (received < limitBytes) {
      const { done, value } = await reader.read();
      // Cancelled on abort, a read ends `done` too, short of the body's end.
      complete = done && !signal?.aborted;
      if (done) break;
      const room = limitBytes - received;
      const chunk = value.byteLength > room ? value.subarray(0, room) : value;
      received += chunk.byteLength;
      text += decode(chunk, false);
    }
  } catch {
    // The stream failed part-way (connection reset, abort): keep what arrived.
  } finally {
    signal?.removeEventListener('abort', stop);
    // Stop the server sending the rest, and free the connection. Errors here change nothing.
    reader.cancel().catch(() => {});
    try {
      reader.releaseLock();
    } catch {
      // Nothing to release.
    }
  }
  // A multi-byte character cut by the bound decodes as U+FFFD rather than being dropped silently.
  return { text: text + decode(new Uint8Array(0), true), complete };
}

/**
 * Decodes a body chunk by chunk (see {@link decoderFor}); `end` flushes. The first bytes are held
 * until there are 3 or the body ends: a byte order mark is up to 3 bytes, and a server may flush it a
 * byte at a time, which read as UTF-8 turned a UTF-16 body into noise.
 */
function bodyDecoder(contentType: string | null): (chunk: Uint8Array, end: boolean) => string {
  let decoder: TextDecoder | undefined;
  let head = new Uint8Array(0);
  return (chunk, end) => {
    if (!decoder) {
      const joined = new Uint8Array(head.length + chunk.length);
      joined.set(head);
      joined.set(chunk, head.length);
      if (joined.length < 3 && !end) {
        head = joined;
        return '';
      }
      decoder = decoderFor(joined, contentType);
      chunk = joined;
    }
    return decoder.decode(chunk, { stream: !end });
  };
}

/**
 * The body's encoding, for a readable description: its byte order mark (UTF-16 sent by some Windows
 * servers), else the content type's `charset` when the runtime knows it (`iso-8859-1`), else UTF-8.
 * More lenient than `response.text()`, which decodes UTF-8 whatever the body says.
 */
function decoderFor(first: Uint8Array, contentType: string | null): TextDecoder {
  const [a, b, c] = first;
  const bom =
    a === 0xef && b === 0xbb && c === 0xbf
      ? 'utf-8'
      : a === 0xff && b === 0xfe
        ? 'utf-16le'
        : a === 0xfe && b === 0xff
          ? 'utf-16be'
          : '';
  const charset = /;\s*charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(bom || charset || 'utf-8');
  } catch {
    // An encoding the runtime does not know.
    return new TextDecoder('utf-8');
  }
}

/**
 * Normalises an error body. JSON is recognised by a JSON content type or, leniently, by a body that
 * looks like a JSON object or array whatever the content type says. Shapes understood:
 *
 * - documented: `{ code, description, data, source }` (`code` number or string);
 * - extended: also `message`, `errorName`, `isRetryable`, `parameters`;
 * - gateway throttling: `{ statusCode, message }`;
 * - older or foreign schemas: `error_code`/`errorCode`, `error_description`, and an OData-style nested
 *   `{ error: { code, message } }` fill what the fields above leave empty; everything is kept in `raw`;
 * - RFC 9457 problem details: `detail` as the description, `title` as the message;
 * - OAuth 2: a string `error` (`invalid_grant`) as the code, with `error_description`.
 *
 * Anything else (text, HTML, broken JSON, JSON nested deeper than 64 levels) becomes
 * the description, truncated to 1024 characters; an empty or blank body gives an empty payload. Never
 * throws.
 */
export function parseErrorPayload(text: string, contentType: string | null): ErrorPayload {
  return scrubbedPayload(text, contentType);
}

/**
 * {@link parseErrorPayload}, with `scrub` applied before any field is picked or cut: to the parsed
 * JSON (within the depth bound), else to the text. A JSON body neither object nor string is described
 * by its JSON re-serialised (compact), scrubbed or not: its text as sent would carry an escape
 * (`\u002B`) through a scrub, and a shape that changed only with a scrub would tell that a secret was
 * there. `HttpError.from` takes the request's secrets out this way.
 */
export function scrubbedPayload(
  text: string,
  contentType: string | null,
  scrub?: (value: unknown) => unknown,
): ErrorPayload {
  const trimmed = text.trim();
  if (trimmed === '') return {};
  const asText = (): ErrorPayload => ({ description: truncate(String(scrub ? scrub(trimmed) : trimmed)) });
  if (isJsonContentType(contentType) || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    let parsed: unknown;
    let cut = false;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parsed = wholeMembers(trimmed);
      if (parsed === undefined) return asText();
      cut = true;
    }
    if (!shallow(parsed)) return asText();
    if (scrub) parsed = scrub(parsed);
    if (isRecord(parsed)) return cut ? describedByText(fromObject(parsed), asText) : fromObject(parsed);
    if (typeof parsed === 'string' && parsed.trim() !== '')
      return { description: truncate(parsed), raw: parsed };
    return { description: truncate(JSON.stringify(parsed)), raw: parsed };
  }
  return asText();
}

/** A payload from a cut body that says nothing readable keeps the text's start as its description. */
function describedByText(payload: ErrorPayload, asText: () => ErrorPayload): ErrorPayload {
  if (payload.description === undefined && payload.message === undefined) {
    const { description } = asText();
    if (description !== undefined) payload.description = description;
  }
  return payload;
}

function fromObject(body: Record<string, unknown>): ErrorPayload {
  // OData / Azure style wraps the fields in `error`; the top level wins where both have a value.
  const inner = isRecord(body.error) ? body.error : {};
  const pick = (...names: string[]): unknown => {
    for (const source of [body, inner]) {
      for (const name of names) {
        const value = source[name];
        if (value !== undefined && value !== null) return value;
      }
    }
    return undefined;
  };

  const payload: ErrorPayload = {};
  // OAuth 2 (RFC 6749) sends its code as a string `error`; OData's `error` object is read by pick.
  const code = asCode(pick('code', 'error_code', 'errorCode')) ?? asCode(body.error);
  if (code !== undefined) payload.code = code;
  const description = asText(pick('description', 'error_description', 'errorDescription', 'detail'));
  if (description !== undefined) payload.description = description;
  const data = pick('data');
  if (data !== undefined) payload.data = data;
  const source = asText(pick('source'));
  if (source !== undefined) payload.source = source;
  const message = asText(pick('message', 'errorMessage', 'title'));
  if (message !== undefined) payload.message = message;
  const errorName = asText(pick('errorName'));
  if (errorName !== undefined) payload.errorName = errorName;
  const isRetryable = asBoolean(pick('isRetryable'));
  if (isRetryable !== undefined) payload.isRetryable = isRetryable;
  const parameters = pick('parameters');
  if (parameters !== undefined) payload.parameters = parameters;
  payload.raw = body;
  return payload;
}

/** True when `value` nests at most {@link MAX_JSON_DEPTH} levels; the recursion stops there. */
function shallow(value: unknown, depth = 0): boolean {
  return (
    typeof value !== 'object' ||
    value === null ||
    (depth < MAX_JSON_DEPTH && Object.values(value).every((child) => shallow(child, depth + 1)))
  );
}

function isJsonContentType(contentType: string | null): boolean {
  if (contentType === null) return false;
  const essence = essenceOf(contentType);
  return essence === 'application/json' || essence.endsWith('+json') || essence === 'text/json';
}

/**
 * Whether a body of this content type may hold a JSON payload worth reading before a retry (the
 * `isRetryable` veto): any JSON type, `text/plain`, or none, as the payload is parsed from a
 * JSON-looking body whatever its type (a JSON 503 sent as `text/plain` was retried against its word).
 * Not an HTML page or any other type: a proxy's stalled page would hold the retry for its read.
 */
export function mayHoldJsonPayload(contentType: string | null): boolean {
  if (contentType === null) return true;
  const essence = essenceOf(contentType);
  return essence.includes('json') || essence === 'text/plain';
}

/** The media type of a `Content-Type` value, without its parameters, lower-cased. */
function essenceOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asCode(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return truncate(value.trim());
  return undefined;
}

function asText(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? truncate(value) : undefined;
}

function asBoolean(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  // Some gateways stringify every field, .NET's as `True` / `False`.
  const text = typeof value === 'string' ? value.trim().toLowerCase() : undefined;
  return text === 'true' ? true : text === 'false' ? false : undefined;
}

/** Cuts `text` to at most 1024 characters, marking the cut with an ellipsis and never splitting a surrogate pair. */
export function truncate(text: string, max: number = MAX_TEXT_LENGTH): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}
