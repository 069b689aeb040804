import type { HeadersLike, Outcome } from '@breakwater/policies';

/**
 * Reads what a call that is not a fetch (an SDK function, a ky or cockatiel call) produced as an
 * {@link Outcome} the outcome table can classify, so that p-retry and cockatiel callers get the same
 * verdicts as `wrapFetch`.
 *
 * A thrown error that carries an HTTP status is read as that response: breakwater's `HttpError` and
 * ky's `HTTPError` (both hold `response`), and the shapes SDKs use (`status` or `statusCode`, with
 * `headers` as a `Headers` or a plain record, on the error or on its `response`). So a thrown 404 is a
 * client error (not retried, the server is healthy) and a thrown 503 with `Retry-After` is retried after
 * the server's delay. Anything else is a thrown error, recognised by `recognizeError`.
 */
export function outcomeOfError(error: unknown): Outcome {
  if (typeof error === 'object' && error !== null) {
    const e = error as { status?: unknown; statusCode?: unknown; headers?: unknown; response?: unknown };
    const response =
      typeof e.response === 'object' && e.response !== null
        ? (e.response as { status?: unknown; statusCode?: unknown; headers?: unknown })
        : undefined;
    const status =
      httpStatus(response?.status) ??
      httpStatus(response?.statusCode) ??
      httpStatus(e.status) ??
      httpStatus(e.statusCode);
    if (status !== undefined) {
      return { kind: 'response', status, headers: headersOf(response?.headers ?? e.headers) };
    }
  }
  return { kind: 'error', error };
}

/** What a resolved call produced: a `Response` is judged by its status, any other value is a success. */
export function outcomeOfResult(value: unknown): Outcome {
  if (isResponse(value)) return { kind: 'response', status: value.status, headers: value.headers };
  return { kind: 'response', status: 200, headers: new Headers() };
}

/**
 * A Response of any fetch: the global one's, and those `instanceof Response` misses, npm undici's
 * (another class than Node's bundled one, the usual fetch to pass a `dispatcher` to) or another
 * realm's, which all carry the `Response` brand (`Symbol.toStringTag`).
 */
export function isResponse(value: unknown): value is Response {
  return value instanceof Response || Object.prototype.toString.call(value) === '[object Response]';
}

function httpStatus(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 999
    ? value
    : undefined;
}

/** Headers as `Headers` (or anything with get/has), a plain record, or nothing. Never throws. */
function headersOf(value: unknown): HeadersLike {
  if (typeof value === 'object' && value !== null) {
    const h = value as { get?: unknown; has?: unknown };
    if (typeof h.get === 'function' && typeof h.has === 'function') return value as HeadersLike;
    const headers = new Headers();
    for (const [name, raw] of Object.entries(value)) {
      const text = Array.isArray(raw) ? raw.join(', ') : raw;
      if (typeof text !== 'string' && typeof text !== 'number') continue;
      try {
        headers.set(name, String(text));
      } catch {
        // A header name or value fetch would refuse says nothing about retrying: leave it out.
      }
    }
    return headers;
  }
  return new Headers();
}
