import { type HeadersLike, isSecretHeader } from '@breakwater/policies';
import { REDACTED } from './redact.ts';

/**
 * Servers echo what they refuse ("Invalid token Bearer eyJ…", "no access to /x?api_key=…") into their
 * error body, which becomes an HttpError's description and message. The request's credentials are
 * therefore taken out of the body's text before it is parsed, as out of every URL breakwater shows.
 */

/**
 * Shortest value taken for a secret. Shorter ones (`3600` of an `X-Session-Timeout`, `true`) would cut
 * ordinary words, numbers and JSON literals out of the text, and break the JSON around them; a
 * credential is longer.
 */
const MIN_LENGTH = 8;

/**
 * Shortest value of a query part whose name says nothing secret that is still taken for one: an opaque
 * token or a signature (`sig=`, `code=`), not `page=2` or `status=active`.
 */
const MIN_OPAQUE_LENGTH = 16;

/** `Bearer <token>`, `Basic <base64>`, `SharedKey <account>:<signature>`: the part after the scheme. */
const AFTER_SCHEME = /^[\w.+-]+ +(\S.*)$/;

/**
 * The values of a request that must not reach an error: each credential header's value
 * ({@link isSecretHeader}), the credential after its auth scheme and each cookie's value, and the query
 * values of `urls` (decoded and percent-encoded) whose name looks secret or which look like an opaque
 * token.
 * Longest first, so that a value is replaced before a part of it.
 */
export function requestSecrets(headers: HeadersLike | undefined, urls: readonly string[]): string[] {
  const found: string[] = [];
  // HeadersLike promises only get/has; the Headers that wrapFetch and users pass can be listed.
  if (headers !== undefined && Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string]>) {
      if (isSecretHeader(name)) found.push(...headerSecrets(name, value));
    }
  }
  for (const url of urls) found.push(...querySecrets(url));
  // The body is JSON more often than not: a secret echoed in a JSON string has `"` and `\` escaped,
  // and `/` too by some encoders (PHP's), as in a Basic credential's base64.
  const escaped = found.flatMap((value) => {
    const json = JSON.stringify(value).slice(1, -1);
    return [value, json, json.replaceAll('/', '\\/')];
  });
  return [...new Set(escaped)]
    .filter((value) => value.length >= MIN_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/** `text` with every occurrence of each of `secrets` replaced by `REDACTED`. */
export function withoutSecrets(text: string, secrets: readonly string[]): string {
  return secrets.reduce((scrubbed, secret) => scrubbed.replaceAll(secret, REDACTED), text);
}

function headerSecrets(name: string, value: string): string[] {
  const secrets = [value, AFTER_SCHEME.exec(value)?.[1] ?? ''];
  if (name.includes('cookie')) {
    for (const pair of value.split(';')) secrets.push(pair.slice(pair.indexOf('=') + 1).trim());
  }
  return secrets;
}

function querySecrets(url: string): string[] {
  const secrets: string[] = [];
  for (const [name, value] of URL.canParse(url) ? new URL(url).searchParams : []) {
    // A part with no `=` is a bare value (`?TOKEN`), as redactUrl has it.
    const secret = value || name;
    if (secret.length >= MIN_OPAQUE_LENGTH || (value && isSecretHeader(name))) {
      secrets.push(secret, encodeURIComponent(secret));
    }
  }
  return secrets;
}
