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
 * Fewest characters of a secret, cut by the end of a read, taken for its start: a shorter run at the
 * cut is as likely the start of an ordinary word.
 */
const MIN_CUT_LENGTH = 4;

/**
 * The values of a request that must not reach an error: each credential header's value
 * ({@link isSecretHeader}), the credential after its auth scheme and each of its parts (a SharedKey's
 * or SigV4's signature alone, see {@link credentialParts}), a Basic credential's `user:password` and
 * password, each cookie's value (as sent, unquoted and percent-decoded), and the query values of
 * `urls` (as sent and decoded) whose name looks secret or which look like an opaque token. Longest
 * first, so that a value is replaced before a part of it. The forms a server writes them in (JSON or
 * percent escapes) are matched by {@link secretScrubber}, not listed here.
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
  return [...new Set(found)]
    .filter((value) => value.length >= MIN_LENGTH)
    .sort((a, b) => b.length - a.length);
}

/**
 * A scrub of `secrets` (see {@link withoutSecrets}), or undefined when there are none. Each secret is
 * matched in every form an encoder may give any of its characters, mixed freely: as itself, as a JSON
 * escape (`\u0065`, `\/`, hex digits in either case) or as percent-escaped UTF-8 (`%2B`, `%2b`, `+`
 * for a space). A body parsed as JSON has had its JSON escapes undone, but a body read as text (not
 * JSON, or JSON cut by the read's bound) has not, and a URL in either may carry percent escapes.
 */
export function secretScrubber(secrets: readonly string[]): ((value: unknown) => unknown) | undefined {
  if (secrets.length === 0) return undefined;
  // Built at the first text with an escape: most error bodies have none.
  let patterns: RegExp[] | undefined;
  const built = (): RegExp[] =>
    (patterns ??= secrets.map((secret) => new RegExp(Array.from(secret, charPattern).join(''), 'g')));
  return (value) => withoutSecrets(value, secrets, built);
}

/**
 * `text`, a read that ended before the body did (at the byte bound, on an abort), without the start of
 * a secret it ends with: the part before the cut is as much the secret's as a whole echo is. Matched in
 * the forms {@link secretScrubber} matches, from {@link MIN_CUT_LENGTH} characters of the secret.
 */
export function withoutCutSecret(text: string, secrets: readonly string[]): string {
  let cut = text.length;
  for (const secret of secrets) {
    const forms = Array.from(secret, charForms);
    const firsts = new Set(forms[0]?.map((form) => form.charAt(0)));
    // A character takes at most 12 characters of text (a surrogate pair as two `\uXXXX`).
    for (let start = Math.max(0, text.length - secret.length * 12); start < cut; start++) {
      if (firsts.has(text.charAt(start)) && matchesToEnd(text, start, forms)) cut = start;
    }
  }
  return cut === text.length ? text : `${text.slice(0, cut)}${REDACTED}`;
}

/**
 * `value` without `secrets`: a string with every match of `patterns()` replaced by `REDACTED`; a number
 * equal to a digits-only secret replaced by the string `REDACTED`; an array or object (a parsed JSON
 * body, at most as deep as the payload's bound) rebuilt with its keys and values so scrubbed.
 */
function withoutSecrets(value: unknown, secrets: readonly string[], patterns: () => RegExp[]): unknown {
  if (typeof value === 'string') {
    // Text with no escape at all, most of it, is searched for the secrets as such: several times faster.
    if (!/[\\%+]/.test(value))
      return secrets.reduce((text, secret) => text.replaceAll(secret, REDACTED), value);
    return patterns().reduce((text, pattern) => text.replace(pattern, REDACTED), value);
  }
  if (typeof value === 'number') {
    // Compared as numbers: a 19-digit id parses to the nearest double, which prints other digits.
    return secrets.some((secret) => NUMERIC.test(secret) && Number(secret) === value) ? REDACTED : value;
  }
  const again = (item: unknown): unknown => withoutSecrets(item, secrets, patterns);
  if (Array.isArray(value)) return value.map(again);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [again(key), again(item)]));
}

/**
 * {@link charForms} and {@link charPattern} of ASCII characters, computed once: a 1 KB token would
 * otherwise cost milliseconds of building at each error. Other characters are few in a credential.
 */
const asciiForms = new Map<string, string[]>();
const asciiPatterns = new Map<string, string>();

function cached<T>(cache: Map<string, T>, char: string, make: (char: string) => T): T {
  let found = cache.get(char);
  if (found === undefined) {
    found = make(char);
    if (char.charCodeAt(0) < 0x80) cache.set(char, found);
  }
  return found;
}

/** The forms one character of a secret may be written in: itself first, then its escapes. */
function charForms(char: string): string[] {
  return cached(asciiForms, char, makeCharForms);
}

function makeCharForms(char: string): string[] {
  const code = char.charCodeAt(0);
  const forms = [
    char,
    char.replace(/[\s\S]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`),
    // `\"`, `\\`, `\n`: JSON's short escapes, which JSON.stringify writes.
    JSON.stringify(char).slice(1, -1),
    char === '/' ? '\\/' : char === ' ' ? '+' : char,
  ];
  try {
    forms.push(
      code < 0x80 ? `%${code.toString(16).padStart(2, '0')}` : encodeURIComponent(char).toLowerCase(),
    );
  } catch {
    // A lone surrogate has no UTF-8 form to percent-escape.
  }
  // Each form once: a form listed twice would double the ways a failed match is retried, at each character.
  return [...new Set(forms)];
}

/** {@link charForms} as a regular expression, the hex digits of an escape in either case. */
function charPattern(char: string): string {
  return cached(asciiPatterns, char, makeCharPattern);
}

function makeCharPattern(char: string): string {
  const [itself, ...escapes] = charForms(char).map((form) => form.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  const alternatives = escapes.map((form) =>
    form.replace(/(?<=(?:\\u|%)[0-9a-f]*)[a-f]/g, (d) => `[${d}${d.toUpperCase()}]`),
  );
  return `(?:${[itself, ...alternatives].join('|')})`;
}

/**
 * True when `text` from `start` to its end is the first {@link MIN_CUT_LENGTH} or more characters of a
 * secret, given as the {@link charForms} of each of its characters.
 */
function matchesToEnd(text: string, start: number, secret: readonly string[][]): boolean {
  let at = start;
  let matched = 0;
  for (const forms of secret) {
    if (at === text.length) break;
    const rest = text.slice(at, at + 12);
    const form = forms.find((f, i) =>
      i === 0 ? rest.startsWith(f) : rest.toLowerCase().startsWith(f) || f.startsWith(rest.toLowerCase()),
    );
    if (form === undefined) return false;
    // An escape cut by the end of the text (`\u00`) is the start of this character.
    at = Math.min(text.length, at + form.length);
    matched += 1;
  }
  return at === text.length && matched >= Math.min(MIN_CUT_LENGTH, secret.length);
}

function headerSecrets(lowerName: string, value: string): string[] {
  const credential = AFTER_SCHEME.exec(value)?.[1] ?? '';
  const secrets = [value, credential, ...credentialParts(credential), ...basicSecrets(value, credential)];
  if (lowerName.includes('cookie')) {
    for (const pair of value.split(';')) {
      const cookie = unquoted(pair.slice(pair.indexOf('=') + 1));
      secrets.push(cookie, decoded(cookie));
    }
  }
  return secrets;
}

/**
 * The parts of a credential a server may echo alone: `account` and `signature` of a SharedKey's
 * `account:signature`, each parameter's value of `Credential=…, Signature=…`. Of AWS SigV4's, the
 * signature and the credential (access key id and scope), and the access key id alone: it names the
 * key whose signature is given, and AWS's own errors quote it alone ("The AWS Access Key Id you provided
 * does not exist"). Not secret, so kept in the text: `SignedHeaders` (header names) and the scope alone
 * (`20150830/us-east-1/iam/aws4_request`: a date, region and service the request's URL tells anyway),
 * which an error about a wrong region or signed header quotes and which words in a text can equal.
 */
function credentialParts(credential: string): string[] {
  const parts: string[] = [];
  for (const part of credential.split(/[:,]/)) {
    const name = PARAMETER_NAME.exec(part)?.[0].trim().slice(0, -1).toLowerCase();
    if (name === 'signedheaders') continue;
    const value = unquoted(part.replace(PARAMETER_NAME, ''));
    parts.push(value, ...accessKeyId(value));
  }
  return parts;
}

/** The access key id of a SigV4 credential (`AKIA…/20150830/us-east-1/iam/aws4_request`), else none. */
function accessKeyId(value: string): string[] {
  const match = /^([^/\s]+)\/\d{8}\/[^/\s]+\/[^/\s]+\/aws4_request$/.exec(value);
  return match?.[1] === undefined ? [] : [match[1]];
}

/**
 * A Basic credential's `user:password` and password, which a server decodes and may echo. The user
 * name alone is kept: it names an account, as the error's own text often does, and is no credential.
 */
function basicSecrets(value: string, credential: string): string[] {
  if (!/^basic /i.test(value)) return [];
  let pair: string;
  try {
    pair = new TextDecoder().decode(Uint8Array.from(atob(credential.trim()), (c) => c.charCodeAt(0)));
  } catch {
    // Not base64: the credential as sent is all there is.
    return [];
  }
  const colon = pair.indexOf(':');
  return colon < 0 ? [pair] : [pair, pair.slice(colon + 1)];
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
      secrets.push(sent, decoded(sent), form, encodeURIComponent(form), ...accessKeyId(decoded(sent)));
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
