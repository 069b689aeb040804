/**
 * Redaction of URLs and headers before they reach an error message, an event or a log. Errors travel
 * far (log aggregators, bug reports), so anything that can carry a credential is removed here once.
 */

import { isSecretHeader, memoizableUrl } from '@breakwater/policies';

/** The value that replaces a secret. */
export const REDACTED = 'REDACTED';

/** What `redactUrl` returns for input it cannot parse: the input itself might hold a secret. */
export const INVALID_URL_PLACEHOLDER = '[invalid URL]';

/**
 * A URL safe to show: userinfo dropped, every query value replaced by `REDACTED` (names kept, since
 * they tell what was asked without saying who asked), a query part with no `=` replaced whole (a bare
 * `?token` is a value, and `%3D` hides an `=` only from us, not from the server), fragment dropped.
 * The path is kept as it is: put no secret in a path.
 *
 * Accepts an absolute URL, or a relative reference starting with `/` (as a browser's fetch accepts),
 * which keeps its relative form. A `data:` URL is reduced to `data:REDACTED` (its content is the
 * payload). Anything else is returned as `[invalid URL]`, never echoed.
 */
export function redactUrl(url: string | URL): string {
  // Fast path for the common case, taken on every attempt event: nothing to redact, nothing to parse.
  if (typeof url !== 'string' && !url.search && !url.hash && !url.username && !url.password) {
    if (url.protocol !== 'data:') return url.href;
  }
  // The answer depends on the text alone, so the last one holds for the same text (a request's href,
  // at each attempt of each call to it).
  const text = typeof url === 'string' ? url : url.href;
  if (lastRedacted !== undefined && text === lastRedacted.text) return lastRedacted.safe;
  const safe = redactOnce(url);
  if (memoizableUrl(text)) lastRedacted = { text, safe };
  return safe;
}

let lastRedacted: { readonly text: string; readonly safe: string } | undefined;

function redactOnce(url: string | URL): string {
  const relative = typeof url === 'string' && url.startsWith('/') && !url.startsWith('//');
  let parsed: URL;
  try {
    // The base only serves to parse a relative reference; it never appears in the result.
    parsed = relative ? new URL(url, 'http://relative.invalid') : new URL(url);
  } catch {
    return INVALID_URL_PLACEHOLDER;
  }
  if (parsed.protocol === 'data:') return `data:${REDACTED}`;
  // `parsed` is our own copy even when `url` was a URL object, so the caller's URL is untouched.
  const search = redactSearch(parsed.search);
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  parsed.search = '';
  return (relative ? parsed.pathname : parsed.href) + search;
}

/**
 * What a query name is made of (unreserved characters, percent-escapes, brackets): text before an `=`
 * that holds anything else (`S3CR3T;a=1`, a token with a `;`-separated part) is no name to keep.
 */
const QUERY_NAME = /^[\w.~\-%[\]]+$/;

/** `?a=1&b&c=` -> `?a=REDACTED&REDACTED&c=REDACTED`; names are kept exactly as sent (still percent-encoded). */
function redactSearch(search: string): string {
  const parts = search
    .slice(1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const name = part.slice(0, part.indexOf('='));
      return part.includes('=') && QUERY_NAME.test(name) ? `${name}=${REDACTED}` : REDACTED;
    });
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}

// The rule lives in policies, which also needs it (keyHeader, generateHeaders); re-exported as before.
export { isSecretHeader };

/**
 * Headers as a plain object, safe to log: names lower-cased, repeated headers joined with `, `, and
 * the value of every {@link isSecretHeader} header replaced by `REDACTED`. Accepts anything `HeadersInit`
 * does (a `Headers`, an array of pairs, a record) and never throws on values `Headers` would reject.
 */
export function redactHeaders(h: NonNullable<RequestInit['headers']>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [name, value] of entries(h)) {
    const lower = name.toLowerCase();
    const previous = out[lower];
    if (isSecretHeader(lower)) out[lower] = REDACTED;
    else out[lower] = previous === undefined ? value : `${previous}, ${value}`;
  }
  return { ...out };
}

function entries(h: HeadersInit): Iterable<readonly [string, string]> {
  if (h instanceof Headers) return h.entries();
  if (Array.isArray(h)) {
    return h.filter((pair) => pair.length >= 2).map((pair) => [String(pair[0]), String(pair[1])] as const);
  }
  if (typeof h === 'object' && h !== null && Symbol.iterator in h) {
    // Another runtime's Headers (undici's, a polyfill) or any iterable of pairs.
    return Array.from(
      h as Iterable<readonly string[]>,
      (pair) => [String(pair[0]), String(pair[1])] as const,
    );
  }
  return Object.entries(h as Record<string, string>).map(([k, v]) => [k, String(v)] as const);
}
