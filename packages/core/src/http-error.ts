import type { HeadersLike } from '@breakwater/policies';
import { BreakwaterError, parseRetryAfter } from '@breakwater/policies';
import { type Scrub, secretScrubber } from './echoed-secrets.ts';
import { checkCount } from './errors.ts';
import { type ErrorPayload, readErrorText, scrubbedPayload, truncate } from './payload.ts';
import { redactUrl } from './redact.ts';
import type { ResponseLike } from './types.ts';
import { type AuthChallenge, parseWwwAuthenticate } from './www-authenticate.ts';

/** What the response alone does not tell about the call that produced it. Every field is optional. */
export interface HttpErrorContext {
  /** The request method; upper-cased. Default: unknown (left out of the message). */
  method?: string;
  /**
   * The request URL; stored redacted, and its query values, where the server echoes them, are taken
   * out of the body by `HttpError.from`. Default: `response.url` (empty for a constructed Response).
   */
  url?: string | URL;
  /** Attempts made, the last included. Default 1. */
  attempts?: number;
  /** The endpoint key (rule name plus origin). Default: undefined. */
  endpoint?: string;
  /**
   * The server-directed delay in ms, when the caller already computed it: a finite number >= 0, kept
   * as given (a server's 0 means "retry now"). Default: parsed from the response's `retry-after-ms`,
   * `x-ms-retry-after-ms`, `Retry-After` and `RateLimit` headers.
   */
  retryAfterMs?: number;
  /**
   * The request's headers: the fallback source of `MS-RequestId` and `MS-CorrelationId`, and the
   * credentials that `HttpError.from` takes out of the body where the server echoes them. Default: none.
   */
  requestHeaders?: HeadersLike;
  /** Now, in ms since the epoch, for an HTTP-date `Retry-After`. Default `Date.now()`. */
  now?: number;
  /** Bytes of the body read at most by `HttpError.from`. Default 65 536 (64 KiB). */
  bodyLimitBytes?: number;
  /**
   * Ends `HttpError.from`'s body read when it aborts: the error is then built from what arrived,
   * often an empty payload. `wrapFetch` passes one that aborts at the attempt's timeout or the call's
   * deadline, whichever is first, and on the caller's abort. Default: none (the read lasts as long
   * as the body does).
   */
  signal?: AbortSignal;
}

/** How to build an {@link HttpError}: the response, its parsed body, and what the response alone does not tell. */
export interface HttpErrorOptions extends HttpErrorContext {
  /**
   * The response the caller treats as an error: the global `Response`, or another fetch's (npm
   * undici's, node-fetch's). Required. Its body is not touched.
   */
  readonly response: Response | ResponseLike;
  /** The response's body, already parsed (see `readErrorPayload`). Default `{}` (no payload). */
  readonly payload?: ErrorPayload;
}

const BRAND = Symbol.for('breakwater.HttpError');
/** `httpErrorFrom`'s scrub, handed to the constructor: it knows the URL sent, the constructor does not. */
const SCRUB = Symbol('breakwater.scrub');

interface ScrubbingOptions extends HttpErrorOptions {
  readonly [SCRUB]?: Scrub;
}
/** Node's `util.inspect` hook; a registered symbol, so core needs no `node:` import. */
const INSPECT = Symbol.for('nodejs.util.inspect.custom');

/** Longest server text put into `message`; the full description stays on the error. */
const MESSAGE_DETAIL_LENGTH = 300;
/** Longest payload code put into `message` (real codes are words or numbers); `code` keeps it whole. */
const MESSAGE_CODE_LENGTH = 100;

/** Reason phrases for responses that carry none (HTTP/2 and HTTP/3 have no status text). */
const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * A response whose status the caller treats as an error, with everything needed to handle or report
 * it: the Partner Center payload normalised, the request and correlation ids, the server's delay and
 * its authentication challenge. Its message and `url` are redacted (no userinfo, query values or
 * fragment), it never holds request headers, and the Response it keeps is out of sight of every
 * printer and serialiser, so it is safe to log.
 */
export class HttpError extends BreakwaterError {
  override readonly name = 'HttpError';
  readonly status: number;
  /** The response's status text as sent (often empty over HTTP/2). */
  readonly statusText: string;
  /**
   * The request URL, redacted; undefined when unknown. From `wrapFetch`, after redirects: the URL that
   * answered with the error (`response.url`).
   */
  readonly url: string | undefined;
  /** The upper-case request method; undefined when unknown. */
  readonly method: string | undefined;
  /** The whole normalised body. */
  readonly payload: ErrorPayload;
  /** Payload `code`, always a string (`3000` becomes `'3000'`). */
  readonly code: string | undefined;
  /** Payload `description` (at most 1024 characters), or a non-JSON body's text. */
  readonly description: string | undefined;
  readonly data: unknown;
  readonly source: string | undefined;
  /** Payload `message` (extended schema, gateway throttling). */
  readonly serverMessage: string | undefined;
  readonly errorName: string | undefined;
  /** The server's verdict; `false` means a retry cannot succeed. Undefined when the server said nothing. */
  readonly isRetryable: boolean | undefined;
  readonly parameters: unknown;
  /** The server-directed delay in ms; undefined when the response carried no usable delay header. */
  readonly retryAfterMs: number | undefined;
  /** Attempts made, the last included. */
  readonly attempts: number;
  /** `MS-RequestId` of the response, else of the request. */
  readonly requestId: string | undefined;
  /** `MS-CorrelationId` of the response, else of the request. */
  readonly correlationId: string | undefined;
  /**
   * Every `WWW-Authenticate` challenge, parsed (Partner Center: `OAuth realm=urn:cpsvc:cpid:<id>`), with
   * the request's secrets a server echoes there (`error_description="token eyJ… expired"`) replaced
   * by `REDACTED`.
   */
  readonly challenges: AuthChallenge[];
  /** The first challenge, or undefined. */
  readonly challenge: AuthChallenge | undefined;
  readonly #response: Response | ResponseLike;

  /**
   * Builds the error from a response whose body was already read (or is not wanted); does not touch
   * the body. Most callers want {@link HttpError.from}.
   *
   * @throws RangeError when `attempts` is not an integer >= 1 or `retryAfterMs` is negative, NaN or
   *   `Infinity`.
   */
  constructor(options: HttpErrorOptions);
  /** @deprecated Pass an options object: `new HttpError({ response, payload, ...context })`. */
  constructor(response: Response | ResponseLike, payload?: ErrorPayload, context?: HttpErrorContext);
  constructor(
    responseOrOptions: Response | ResponseLike | HttpErrorOptions,
    positionalPayload?: ErrorPayload,
    positionalContext?: HttpErrorContext,
  ) {
    const {
      response,
      payload = {},
      ...context
    } = 'response' in responseOrOptions
      ? responseOrOptions
      : { ...positionalContext, response: responseOrOptions, payload: positionalPayload };
    const attempts = checkCount(context.attempts ?? 1, 'HttpError', 'attempts', 1);
    const givenDelay = context.retryAfterMs;
    // The server's delay as it said it: 0 (retry now) stays 0, unlike a refusal's wait (errors.ts).
    if (givenDelay !== undefined && !(givenDelay >= 0 && givenDelay < Number.POSITIVE_INFINITY)) {
      throw new RangeError(
        `breakwater: HttpError: retryAfterMs must be a finite number >= 0, got ${String(givenDelay)}`,
      );
    }
    const rawUrl = context.url ?? response.url;
    const url = rawUrl === '' ? undefined : redactUrl(rawUrl);
    const method = context.method?.toUpperCase();
    // A server may echo the credential in its reason phrase (`401 Bad token <token>`) and its
    // challenge (`error_description="token eyJ… expired"`) too. HTTP/2 has no reason phrase and most
    // errors no challenge: the secrets are gathered at the first text to scrub.
    let scrub = (responseOrOptions as ScrubbingOptions)[SCRUB];
    const clean = (text: string): string => {
      if (text === '') return text;
      scrub ??= secretScrubber(context.requestHeaders, [String(rawUrl), response.url]) ?? String;
      return String(scrub(text));
    };
    const statusText = clean(response.statusText);
    super(formatMessage(response, statusText, payload, method, url), { endpoint: context.endpoint });

    this.status = response.status;
    this.statusText = statusText;
    this.url = url;
    this.method = method;
    this.payload = payload;
    this.code = payload.code;
    this.description = payload.description;
    this.data = payload.data;
    this.source = payload.source;
    this.serverMessage = payload.message;
    this.errorName = payload.errorName;
    this.isRetryable = payload.isRetryable;
    this.parameters = payload.parameters;
    this.retryAfterMs = givenDelay ?? parseRetryAfter(response.headers, context.now ?? Date.now())?.delayMs;
    this.attempts = attempts;
    this.requestId = header(response.headers, context.requestHeaders, 'ms-requestid');
    this.correlationId = header(response.headers, context.requestHeaders, 'ms-correlationid');
    this.challenges = parseWwwAuthenticate(response.headers.get('www-authenticate')).map(
      ({ scheme, params, token68 }) => {
        const challenge: AuthChallenge = { scheme: clean(scheme), params: Object.create(null) };
        for (const [name, value] of Object.entries(params)) challenge.params[clean(name)] = clean(value);
        if (token68 !== undefined) challenge.token68 = clean(token68);
        return challenge;
      },
    );
    this.challenge = this.challenges[0];
    this.#response = response;
  }

  /**
   * The response. When the error came from {@link HttpError.from}, its body has been consumed.
   *
   * An accessor over a private field rather than an own property, because the Response holds what the
   * rest of the error redacts (its `url` with query values, its `Set-Cookie` and other headers): it is
   * there for code that asks for it, and invisible to `util.inspect` (any depth), `JSON.stringify`,
   * `Object.keys` and spreading, so logging the error never prints it. Another fetch's response (npm
   * undici's, node-fetch's) is the object given, typed as the global `Response` whose members it has.
   */
  get response(): Response {
    return this.#response as Response;
  }

  /**
   * Reads the response's body (at most 64 KiB, as `readErrorPayload` does) and builds the error.
   *
   * The body is read from `response` itself, not from a clone: a clone would buffer the unread branch
   * without bound, and the error carries everything parsed from the body. `error.response.bodyUsed` is
   * therefore true afterwards; clone the response first if you need its raw body. A server's echo of the
   * request's credentials (the values of `context.requestHeaders`' credential headers, the token after
   * an auth scheme and its parts, cookie values, the query values of `context.url` and `response.url`
   * whose name looks secret or that are 16 characters or more; 8 characters at least), as sent or in
   * JSON or percent escapes, is replaced by `REDACTED` in every string and key of the parsed JSON body
   * (a number equal to a digits-only secret becomes the string `REDACTED`), or in a text body's text,
   * so no field nor the message carries it; so is the start of one a read cut short ends with. The
   * reason phrase and the `WWW-Authenticate` challenges are scrubbed the same way.
   * A body already used, empty, broken or not JSON gives a partial or empty payload: the HTTP error is
   * never replaced by a parse failure. A body that stalls is read until `context.signal` aborts (see
   * `readErrorPayload`).
   */
  static from(response: Response | ResponseLike, context: HttpErrorContext = {}): Promise<HttpError> {
    return httpErrorFrom(response, context);
  }

  /**
   * True for an `HttpError`, including one created by another copy of this package (two versions in
   * one dependency tree), where `instanceof` fails.
   */
  static isHttpError(e: unknown): e is HttpError {
    return isHttpError(e);
  }

  static {
    Object.defineProperty(HttpError.prototype, BRAND, { value: true });
    Object.defineProperty(HttpError.prototype, INSPECT, { value: inspectWithoutResponse });
  }
}

/**
 * {@link HttpError.from}, whose body is also rid of the query secrets of `sentUrl`: for `wrapFetch`,
 * the URL requested, which after a redirect is neither `context.url` nor `response.url`.
 */
export async function httpErrorFrom(
  response: Response | ResponseLike,
  context: HttpErrorContext,
  sentUrl = '',
): Promise<HttpError> {
  const { bodyLimitBytes, signal, requestHeaders, url = '' } = context;
  const read = await readErrorText(response, bodyLimitBytes, signal, 'HttpError.from: bodyLimitBytes');
  const scrub = secretScrubber(requestHeaders, [String(url), response.url, sentUrl]);
  const text = read.complete || !scrub ? read.text : String(scrub(read.text, true));
  const payload = scrubbedPayload(text, response.headers.get('content-type'), scrub);
  const options: ScrubbingOptions = { ...context, response, payload, [SCRUB]: scrub ?? String };
  return new HttpError(options);
}

/**
 * True for an `HttpError`, including one created by another copy of this package (two versions in one
 * dependency tree), where `instanceof` fails.
 */
export function isHttpError(value: unknown): value is HttpError {
  return value instanceof HttpError || (typeof value === 'object' && value !== null && BRAND in value);
}

/** Stands in for an HttpError under `util.inspect`: a class named `HttpError`, so it prints as one. */
const HttpErrorView = { HttpError: class extends Error {} }.HttpError;

/** Each HttpError's view, one per error: met again while printing, it is a cycle to the printer. */
const views = new WeakMap<HttpError, Error>();

/**
 * What `util.inspect` (so `console.log`) prints for an HttpError: the error with its fields, never
 * the Response. The accessor alone hides it from the default view, but `showHidden` lists accessors
 * of the prototype and `getters: true` calls them. The view is handed back, not printed here, so that
 * the printer goes on with its own depth and its record of what it printed: a print of its own per
 * error started at the caller's whole depth at every level, and followed a cycle through the error
 * (`error.context.error`) for minutes before throwing.
 */
function inspectWithoutResponse(this: HttpError): Error {
  // An Error's own `stack` is not enumerable, and stays so.
  const view =
    views.get(this) ?? Object.defineProperty(new HttpErrorView(this.message), 'stack', { value: this.stack });
  views.set(this, view);
  return Object.assign(view, this);
}

/**
 * The server's text as the message shows it: an HTML page by its title (else its text without tags),
 * on one line, with no control character (an ANSI escape, a NUL) for a terminal or a log to act on.
 */
function messageDetail(text: string, response: ResponseLike): string {
  const html = response.headers.get('content-type')?.includes('html');
  const shown = html ? (/<title[^>]*>([^<]*)/i.exec(text)?.[1] ?? text.replace(/<[^>]*>/g, ' ')) : text;
  return oneLine(shown);
}

/**
 * `text` on one line with no control character: the reason phrase and the payload code are the
 * server's too (undici takes an ESC or a DEL in a reason phrase; JSON carries a newline in a code).
 */
function oneLine(text: string): string {
  return text.replace(/[\s\p{Cc}]+/gu, ' ').trim();
}

function header(
  response: ResponseLike['headers'],
  request: HeadersLike | undefined,
  name: string,
): string | undefined {
  return response.get(name) ?? request?.get(name) ?? undefined;
}

/** `HTTP 404 Not Found: <description> (code 3000) [GET https://host/path?x=REDACTED]`, after `breakwater: `. */
function formatMessage(
  response: ResponseLike,
  statusText: string,
  payload: ErrorPayload,
  method: string | undefined,
  url: string | undefined,
): string {
  const reason = oneLine(statusText) || REASONS[response.status] || '';
  let message = `HTTP ${response.status}${reason === '' ? '' : ` ${reason}`}`;
  const detail = messageDetail(payload.description ?? payload.message ?? '', response);
  // Nothing that only repeats the status (`Service Unavailable`, nginx's `502 Bad Gateway` page).
  const repeats = ['', reason, `${response.status} ${reason}`].map((same) => same.toLowerCase());
  if (!repeats.includes(detail.toLowerCase())) message += `: ${truncate(detail, MESSAGE_DETAIL_LENGTH)}`;
  const code = oneLine(payload.code ?? '');
  if (code !== '') message += ` (code ${truncate(code, MESSAGE_CODE_LENGTH)})`;
  const target = [method, url].filter((part) => part !== undefined).join(' ');
  if (target !== '') message += ` [${target}]`;
  return message;
}
