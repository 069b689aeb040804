import { type HeadersLike, isSecretHeader } from '@breakwater/policies';
import { REDACTED } from './redact.ts';

/**
 * Servers echo what they refuse ("Invalid token Bearer eyJ…", "no access to /x?api_key=…") into their
 * error body, which becomes an HttpError's description and message. The request's credentials are
 * therefore taken out of the parsed body (every string, key and number of a JSON body; a text body's
 * text), as out of every URL breakwater shows. Parsed first, because a JSON encoder writes a secret in
 * forms no list of escapes covers (`\u002B` for `+`), and a digits-only secret as a bare number.
 */

/**
 * Shortest value taken for a secret. Shorter ones (`3600` of an `X-Session-Timeout`, `true`) would cut
 * ordinary words and numbers out of the text; a credential is longer.
 */
const MIN_LENGTH = 8;

/**
 * Shortest value of a query part whose name says nothing secret that is still taken for one: an opaque
 * token or a signature (`sig=`, `code=`), not `page=2` or `status=active`.
 */
const MIN_OPAQUE_LENGTH = 16;

/** `Bearer <token>`, `Basic <base64>`, `SharedKey <account>:<signature>`: the part after the scheme. */
const AFTER_SCHEME = /^[\w.+-]+ +(\S.*)$/;

/** A parameter's name in a credential (`Signature=` of SigV4): a word of the scheme, no secret. */
const PARAMETER_NAME = /^\s*[\w-]+=(?=[^=])/;

/** A secret a JSON encoder may write as a number: digits, no leading zero (`00000000` is every 0). */
const NUMERIC = /^[1-9]\d*$/;

/**
 * The values of a request that must not reach an error: each credential header's value
 * ({@link isSecretHeader}), the credential after its auth scheme and each of its parts (a SharedKey's
 * or SigV4's signature alone), each cookie's value (as sent, unquoted and percent-decoded), and the
 * query values of `urls` (as sent and decoded) whose name looks secret or which look like an opaque
 * token. Longest first, so that a value is replaced before a part of it.
 */
export function requestSecrets(headers: HeadersLike | undefined, urls: readonly string[]): string[] {
  const found: string[] = [];
  // HeadersLike promises only get/has; the Headers that wrapFetch and users pass can be listed.
  if (headers !== undefined && Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string]>) {
      if (isSecretHeader(name)) found.push(...headerSecrets(name.toLowerCase(), value));
    }
  }
  for (const url of urls) found.push(...querySecrets(url));
  // A body that is not JSON, or JSON cut short by the read's bound, is scrubbed as text: a secret
  // echoed in a JSON string there has `"` and `\` escaped, and `/` too by some encoders (PHP's).
  const escaped = found.flatMap((value) => {
    const json = JSON.stringify(value).slice(1, -1);
    return [value, json, json.replaceAll('/', '\\/')];
  });
  return [...new Set(escaped)]
    .filter((value) => value.length >= MIN_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/**
 * `value` without `secrets`: a string with every occurrence replaced by `REDACTED`; a number equal to
 * a digits-only secret replaced by the string `REDACTED`; an array or object (a parsed JSON body, at
 * most as deep as the payload's bound) rebuilt with its keys and values so scrubbed.
 */
export function withoutSecrets(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') {
    return secrets.reduce((text, secret) => text.replaceAll(secret, REDACTED), value);
  }
  if (typeof value === 'number') {
    // Compared as numbers: a 19-digit id parses to the nearest double, which prints other digits.
    return secrets.some((secret) => NUMERIC.test(secret) && Number(secret) === value) ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((item) => withoutSecrets(item, secrets));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [withoutSecrets(key, secrets), withoutSecrets(item, secrets)]),
  );
}

function headerSecrets(lowerName: string, value: string): string[] {
  const credential = AFTER_SCHEME.exec(value)?.[1] ?? '';
  // `account:signature`, `Credential=…, Signature=…`: a server may echo one part alone.
  const parts = credential.split(/[:,]/).map((part) => unquoted(part.replace(PARAMETER_NAME, '')));
  const secrets = [value, credential, ...parts];
  if (lowerName.includes('cookie')) {
    for (const pair of value.split(';')) {
      const cookie = unquoted(pair.slice(pair.indexOf('=') + 1));
      secrets.push(cookie, decoded(cookie));
    }
  }
  return secrets;
}

/** The query values of `url` as sent (`+`, `/` and `=` kept as such), percent-decoded, and form-decoded. */
function querySecrets(url: string): string[] {
  const secrets: string[] = [];
  const search = URL.canParse(url) ? new URL(url).search.slice(1) : '';
  for (const part of search.split('&')) {
    const split = part.indexOf('=');
    // A part with no `=` is a bare value (`?TOKEN`), as redactUrl has it.
    const [name, sent] = split < 0 ? ['', part] : [part.slice(0, split), part.slice(split + 1)];
    if (sent.length >= MIN_OPAQUE_LENGTH || (sent !== '' && isSecretHeader(decoded(name)))) {
      const form = decoded(sent.replaceAll('+', ' '));
      secrets.push(sent, decoded(sent), form, encodeURIComponent(form));
    }
  }
  return secrets;
}

function unquoted(text: string): string {
  return text.trim().replace(/^"(.*)"$/, '$1');
}

/** `text` percent-decoded, or as it is where it is no valid escape (`100%`). */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
