import { type HeadersLike, isSecretHeader } from '@breakwater/policies';
import { REDACTED } from './redact.ts';

/**
 * Servers echo what they refuse ("Invalid token Bearer eyJ…", "no access to /x?api_key=…") into their
 * error body, which becomes an HttpError's description and message. The request's credentials are
 * therefore taken out of the parsed body (every string, key and number of a JSON body; a text body's
 * text), as out of every URL breakwater shows. Parsed first, because a JSON encoder writes a secret in
 * forms no list of escapes covers (`\u002B` for `+`), and a digits-only secret as a bare number.
 *
 * A string is searched as it is, as its canonical text (JSON escapes and HTML references undone, `%XX`
 * decoded, `+` and space one character), and as that decoded again where it still holds an escape, with
 * where its escapes start and end to map a match back, for each secret as sent and as its own
 * canonical text, in one pass of an Aho–Corasick automaton per text (a second for the secrets that hold a
 * `%XX`, whose hex may come back in another case): linear in the text and the secrets whatever they
 * hold and however many. One automaton serves every scrub of an error, whole or cut. A server picks some of them (the query values
 * of the URL it redirects to: hundreds, which searched one by one cost a second a body), and a pattern
 * built from a secret (the reverted session-20 scrub) failed to compile for a long one, with the
 * secret in the SyntaxError, and backtracked for seconds on a body built to almost match.
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
 * A JSON escape (`\uXXXX`, or a short one: `\/` too, which PHP's encoder writes), up to 4 `%XX`
 * (the most one character of UTF-8 takes), or an HTML character reference: numeric (decimal to 7 digits,
 * hex to 6, leading zeros included: enough for any code point), or a name: the five an HTML error page
 * (nginx, IIS, a WAF) escapes a token's `&`, `"`, `<`, `>` and `'` with, and HTML5's names of the ASCII
 * punctuation a token holds (`&plus;`, `&sol;`, `&equals;`…: review s22 found `S3CR3T&plus;k3y…`
 * printed whole), whose value is in {@link NAMED}.
 */
const ESCAPED =
  /\\(?:u[\dA-Fa-f]{4}|["\\/bfnrt])|(?:%[\dA-Fa-f]{2}){1,4}|&(?:#(?:[xX][\dA-Fa-f]{1,6}|\d{1,7})|[A-Za-z]{2,7});/g;

/**
 * An escape cut by the end of a read (`\u00`, `%2`, `&#4`, `&am`, the first bytes of a UTF-8 `%C3%B6`,
 * whole or with their next byte cut: `%C3%B`, `%C3%`), or the one U+FFFD a decoder's flush gives for a
 * character whose bytes were cut: the start of a character whose value did not arrive (decoded, its
 * first bytes would be Latin-1 characters no secret goes on with). Bounded, so that a run of them
 * costs no backtracking.
 */
const PARTIAL_ESCAPE =
  /(?:\uFFFD|\\(?:u[\da-f]{0,3})?|(?:%[89a-f][\da-f]){0,3}(?:%[\da-f]?)?|&(?:#x?[\da-f]{0,7}|[a-z]{0,7})?)$/i;

/**
 * A scrub of the request's secrets (see {@link secretScrubber}); with `cut`, of the end of a text read
 * short of the body's end, which may be the start of a secret (see {@link withoutCutSecret}).
 */
export type Scrub = (value: unknown, cut?: boolean) => unknown;

/**
 * Characters the searches and the canonical text visited (`count`), and the secrets' characters put in
 * an automaton (`built`): tests check with it that the work grows linearly with the text and the
 * secrets and that an error builds its automata once, which a clock on a shared machine cannot show.
 */
export const scrubSteps = { count: 0, built: 0 };

/**
 * The Aho–Corasick automaton of the secrets: a trie (`next`, keyed by node × {@link SPAN} + character
 * code), and of each node: its failure link (the node of its longest proper end that is also in the
 * trie), the length of the longest secret its text ends with (0: none), its depth, and the fewest
 * characters a cut read must end with of the secrets it starts (see {@link withoutCutSecret}).
 */
interface Automaton {
  /** Whether `a` to `f` are read as `A` to `F`, in the secrets and the text (see {@link searcher}). */
  readonly fold: boolean;
  readonly next: Map<number, number>;
  readonly fail: number[];
  readonly longest: number[];
  readonly depth: number[];
  readonly least: number[];
}

/** The automata a text is searched with: see {@link searcher}. */
interface Searcher {
  readonly plain: Automaton;
  readonly hexed: Automaton | undefined;
}

/** One more than the largest UTF-16 code unit. */
const SPAN = 0x10000;

interface Canonical {
  readonly text: string;
  /** Where the text that `text`'s character at `at` came from starts (`text.length`: the end). */
  readonly source: (at: number) => number;
  /** Where in `text` the output of its last escape ends: what follows was copied as it was. */
  readonly decoded: number;
}

/**
 * The secrets of a request: every value to take out, and the parts, which begin with secret characters,
 * each with whether a cut needs {@link MIN_LENGTH} of its characters whatever its length.
 */
type Secrets = [whole: string[], parts: [string, boolean][]];

/**
 * `part`: whether the values are parts (see {@link requestSecrets}); `'long'` for a cookie or query
 * value, of which a cut keeps up to 7 characters even when short (`consent=accepted`: "acce" of a cut
 * body is more likely a word than half a secret), where it keeps less than half a short password.
 */
type Add = (part: boolean | 'long', ...values: string[]) => void;

/**
 * The scrub of a request's secrets, or undefined when it has none; see {@link requestSecrets} for what
 * they are. The scrub takes out every occurrence of a secret written as itself or in JSON, percent
 * or HTML escapes, even mixed (`\u0065`, `\/`, `%2B` or `%2b`, `+` for a space, UTF-8 `%C3%B6`, a
 * surrogate pair as two `\uXXXX`, `&#43;`, `&amp;`), percent-encoded twice (`%2540`), or right after an
 * escape that takes its first characters (`\nS3CR3T…` for `nS3CR3T…`); a number equal to a digits-only secret becomes the string `REDACTED`; an array or
 * object (a parsed JSON body) is rebuilt with its keys and values so scrubbed. It fails closed: if
 * anything throws, the value becomes `REDACTED`, so neither an exception nor a secret gets out.
 */
export function secretScrubber(headers: HeadersLike | undefined, urls: readonly string[]): Scrub | undefined {
  let secrets: Searcher;
  let numbers: Set<number>;
  try {
    const forms = secretForms(...requestSecrets(headers, urls));
    if (forms.length === 0) return undefined;
    secrets = searcher(forms);
    // Compared as numbers: a 19-digit id parses to the nearest double, which prints other digits.
    numbers = new Set(forms.flatMap(([text]) => (NUMERIC.test(text) ? [Number(text)] : [])));
  } catch {
    return () => REDACTED;
  }
  return (value, cut) => {
    try {
      return cut ? withoutCutSecret(String(value), secrets) : withoutSecrets(value, secrets, numbers);
    } catch {
      // Whatever it was working on could be in the exception.
      return REDACTED;
    }
  };
}

/**
 * Each secret as sent and as its own canonical text (`%2F` of a cookie as sent is the `/` echoed), of
 * {@link MIN_LENGTH} or more, with the fewest characters a cut read must end with of it (see
 * {@link withoutCutSecret}): `Infinity` for a secret that is no part. One automaton serves the whole
 * and the cut scrub: a second one, of the parts, cost an error cut short as much again to build.
 */
function secretForms(all: readonly string[], parts: Secrets[1]): [string, number][] {
  const least = new Map<string, number>();
  // Of each value once: a part is a whole secret too.
  const forms = new Map<string, string[]>();
  const add = (sent: string, ofPart: (text: string) => number): void => {
    // As sent, `+` a space as in the canonical text (a `+` form-encoding writes for one would never match).
    const texts = forms.get(sent) ?? [sent.replaceAll('+', ' '), canonicalText(sent).text];
    forms.set(sent, texts);
    for (const text of texts) {
      if (text.length >= MIN_LENGTH) least.set(text, Math.min(least.get(text) ?? Infinity, ofPart(text)));
    }
  };
  for (const sent of all) add(sent, () => Infinity);
  for (const [sent, long] of parts) {
    add(sent, (text) => (long ? MIN_LENGTH : Math.min(MIN_LENGTH, Math.ceil(text.length / 2))));
  }
  return [...least];
}

/**
 * The values of a request that must not reach an error: each credential header's value
 * ({@link isSecretHeader}), the credential after its auth scheme and each of its parts (see
 * {@link credentialParts}), a Basic credential's `user:password` and password, each cookie's value (as
 * sent, unquoted), and the query values of `urls` (as sent) whose name looks secret or which look like
 * an opaque token; their decoded forms are the scrub's, which searches canonical texts. Of those, the parts: what begins with secret
 * characters (not a whole `Bearer …` or Cookie header, not `user:password`), which a read cut short may
 * end with the start of.
 */
function requestSecrets(headers: HeadersLike | undefined, urls: readonly string[]): Secrets {
  const secrets: Secrets = [[], []];
  const add: Add = (part, ...values) => {
    secrets[0].push(...values);
    if (part) secrets[1].push(...values.map((value): [string, boolean] => [value, part === 'long']));
  };
  // HeadersLike promises only get/has; the Headers that wrapFetch and users pass can be listed.
  if (headers !== undefined && Symbol.iterator in headers) {
    for (const [name, value] of headers as Iterable<[string, string]>) {
      if (isSecretHeader(name)) headerSecrets(name.toLowerCase(), value, add);
    }
  }
  for (const url of urls) querySecrets(url, add);
  return secrets;
}

const HEX_ESCAPE = /%[\da-f]{2}/i;

/**
 * The automaton of the secrets as they are, and of those that hold a `%XX` with `a` to `f` read as `A`
 * to `F` in them and in the text (hex in one case, whatever comes before it: folding only the hex after
 * a `%` depended on that `%`, and a decoded `%25` before a secret took its first two characters into
 * its own `%XX`): what is left of a percent escape then matches whatever case each side wrote it in,
 * mixed too, with one form of each secret rather than one per case (each costs its length in an
 * automaton built on every error). Folded as the automaton reads each character, not in a copy of the
 * text: a copy of each view cost 4-16 ms per 64 KiB, against ~1 ms for the search. Only those secrets:
 * a secret with no `%XX` is searched in the text as it is, and folding finds, beyond it, the same
 * secret with other a-f cases only.
 */
function searcher(secrets: readonly (readonly [text: string, least: number])[]): Searcher {
  const hexed = secrets.filter(([text]) => HEX_ESCAPE.test(text));
  return {
    plain: automaton(secrets, false),
    hexed: hexed.length === 0 ? undefined : automaton(hexed, true),
  };
}

function withoutSecrets(value: unknown, whole: Searcher, numbers: ReadonlySet<number>): unknown {
  if (typeof value === 'string') return withoutNeedles(value, whole);
  if (typeof value === 'number') return numbers.has(value) ? REDACTED : value;
  const again = (item: unknown): unknown => withoutSecrets(item, whole, numbers);
  if (Array.isArray(value)) return value.map(again);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [again(key), again(item)]));
}

/**
 * `text` with each occurrence of a secret in any of its {@link views} replaced by one `REDACTED`
 * (overlapping ones by one in all).
 */
function withoutNeedles(text: string, secrets: Searcher): string {
  const spans = views(text, false).flatMap(({ text: hay, source }) =>
    passes(hay, secrets).flatMap((automaton) =>
      found(hay, automaton).map(([start, end]): [number, number] => [source(start), source(end)]),
    ),
  );
  let out = '';
  let at = 0;
  for (const [start, end] of merged(spans)) {
    out += `${text.slice(at, start)}${REDACTED}`;
    at = end;
  }
  return out + text.slice(at);
}

/**
 * The texts `text` is searched as, each with where its characters came from in `text`: as it is (a
 * secret as sent, whose first characters an escape right before it takes in the canonical text:
 * `\nS3CR3T…` read as a newline and `S3CR3T…`, `100%ab12…` as `100«12…`), its canonical text, and the
 * canonical text of that when it differs: a secret percent-encoded twice (`%2540` for an `@`), whatever
 * characters the encoder escaped, HTML-escaped then percent-encoded, JSON in a JSON string. `+` is a
 * space in all three. With `cut`, an escape cut
 * by the end is left out of each (see {@link stripped}).
 */
function views(text: string, cut: boolean): Canonical[] {
  const raw = stripped({ text, source: (at) => at, decoded: text.length }, cut);
  // Of each view: an escape of the next view may be cut too (`%26%23`, decoded `&#`).
  const once = stripped(canonicalText(raw.text), cut);
  const plain = raw.text.replaceAll('+', ' ');
  scrubSteps.count += plain.length;
  // A text with no escape is its canonical text, and that its own: searched once.
  if (plain === once.text) return [once];
  const twice = stripped(canonicalText(once.text), cut);
  const all = [{ ...raw, text: plain }, once];
  if (twice.text !== once.text) all.push({ ...twice, source: (at) => once.source(twice.source(at)) });
  return all;
}

/**
 * `view` without an escape its end cuts (see {@link PARTIAL_ESCAPE}), when `cut`. Only where the cut
 * escape holds a character its view decoded: what a view copied as it was is no escape cut there, the
 * strip of the view below having taken what was (repeated, it took `a%` after `a%` of a text with no
 * escape, one view each, and the text after a secret's first characters: `S3CR3T-k3%a%a%`).
 */
function stripped(view: Canonical, cut: boolean): Canonical {
  if (!cut) return view;
  scrubSteps.count += view.text.length;
  const at = view.text.search(PARTIAL_ESCAPE);
  return at < view.decoded ? { ...view, text: view.text.slice(0, at) } : view;
}

/**
 * The searches of `hay`: by the automaton of the secrets as they are, and, when the text holds a `%`,
 * hex-folded by that of the secrets holding a `%XX` (see {@link searcher}).
 */
function passes(hay: string, { plain, hexed }: Searcher): Automaton[] {
  scrubSteps.count += hay.length;
  return hexed && hay.includes('%') ? [plain, hexed] : [plain];
}

/** `spans` in order of their starts, overlapping ones merged. */
function merged(spans: [number, number][]): [number, number][] {
  const out: [number, number][] = [];
  for (const [start, end] of spans.sort(([a], [b]) => a - b)) {
    const last = out.at(-1);
    if (last && start < last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/** Where the secrets of `automaton` are in `hay`, overlapping ones merged: they end in order. */
function found(hay: string, automaton: Automaton): [number, number][] {
  const spans: [number, number][] = [];
  for (let i = 0, node = 0; i < hay.length; i++) {
    node = move(automaton, node, hay.charCodeAt(i));
    const length = automaton.longest[node] ?? 0;
    if (length === 0) continue;
    let start = i + 1 - length;
    for (let last = spans.at(-1); last && last[1] > start; last = spans.at(-1)) {
      start = Math.min(start, last[0]);
      spans.pop();
    }
    spans.push([start, i + 1]);
  }
  return spans;
}

/**
 * The automaton of `texts`, its trie built a depth at a time, so that nodes and their `next` entries
 * come in order of depth: a node's failure link is then made from its parent's, made before.
 */
function automaton(secrets: readonly (readonly [text: string, least: number])[], fold: boolean): Automaton {
  const whole: Automaton = { fold, next: new Map(), fail: [0], longest: [0], depth: [0], least: [0] };
  const { next, longest, depth: depths, least } = whole;
  const byLength = [...secrets].sort(([a], [b]) => b.length - a.length);
  const nodes = byLength.map(() => 0);
  for (const [text] of secrets) scrubSteps.built += text.length;
  for (let depth = 0; depth < (byLength[0]?.[0].length ?? 0); depth++) {
    for (let i = 0; (byLength[i]?.[0].length ?? 0) > depth; i++) {
      const [text, own] = byLength[i] ?? ['', 0];
      const key = (nodes[i] ?? 0) * SPAN + folded(whole, text.charCodeAt(depth));
      const child = next.get(key) ?? longest.push(0) - 1;
      next.set(key, child);
      nodes[i] = child;
      depths[child] = depth + 1;
      least[child] = Math.min(least[child] ?? own, own);
      if (depth + 1 === text.length) longest[child] = text.length;
    }
  }
  for (const [key, child] of next) {
    const parent = Math.floor(key / SPAN);
    const fail = parent === 0 ? 0 : move(whole, whole.fail[parent] ?? 0, key % SPAN);
    whole.fail[child] = fail;
    longest[child] ||= longest[fail] ?? 0;
  }
  return whole;
}

/** The node `c` leads to from `node`: through failure links until one has it, else the root. */
function move(automaton: Automaton, node: number, code: number): number {
  const { next, fail } = automaton;
  const c = folded(automaton, code);
  let at = node;
  for (; at > 0 && !next.has(at * SPAN + c); at = fail[at] ?? 0) scrubSteps.count++;
  scrubSteps.count++;
  return next.get(at * SPAN + c) ?? 0;
}

/** `c`, or of `a` to `f`, `A` to `F` for an automaton that folds them. */
function folded({ fold }: Automaton, c: number): number {
  return fold && c >= 0x61 && c <= 0x66 ? c - 32 : c;
}

/**
 * `text` without the start of a secret part it ends with: the part before the cut is as much the
 * secret's as a whole echo is. Taken from {@link MIN_LENGTH} characters of the part (the shortest value
 * taken for a whole secret, so no likelier an ordinary word than one), or from half of a password
 * shorter than 16 (so a cut shows at most half of a short password). Only parts are looked for, which
 * begin with secret characters: the start of `Bearer …` is the word `Bearer`, of `user:password` a name.
 */
function withoutCutSecret(text: string, secrets: Searcher): string {
  // Only the end that can hold a part's start is read: one character is written in at most
  // MAX_WRITTEN characters, and the whole scrub reads the whole text anyway. The nodes come in order of
  // depth: the last is the end of the longest secret.
  const from = Math.max(0, text.length - MAX_WRITTEN * ((secrets.plain.depth.at(-1) ?? 0) + 1));
  let start = Infinity;
  for (const { text: kept, source } of views(text.slice(from), true)) {
    const matched = Math.max(...passes(kept, secrets).map((automaton) => startMatched(kept, automaton)));
    if (matched > 0) start = Math.min(start, source(kept.length - matched));
  }
  return start === Infinity ? text : `${text.slice(0, from + start)}${REDACTED}`;
}

/** How much of a part `kept` ends with, enough for that part (see {@link withoutCutSecret}); 0: none. */
function startMatched(kept: string, parts: Automaton): number {
  let node = 0;
  for (let i = 0; i < kept.length; i++) node = move(parts, node, kept.charCodeAt(i));
  // The ends of the text that start a part, longest first: the first long enough for a part it starts.
  while (node > 0 && (parts.depth[node] ?? 0) < (parts.least[node] ?? 0)) node = parts.fail[node] ?? 0;
  return parts.depth[node] ?? 0;
}

/**
 * The most characters one UTF-16 code unit of a view is written in: decoded twice, an HTML reference
 * of 10 (`&#0000043;`) each of whose characters is itself one of 10 (`&#0000038;&#0000035;…`): 10 x 10.
 */
const MAX_WRITTEN = 100;

/**
 * `text` with JSON's escapes undone (`\uXXXX`, a surrogate pair as two, and the short ones), `%XX`
 * decoded (hex in either case, UTF-8 sequences as their character), and `+` read as a space (as a
 * query's form-encoding writes one, and `%2B` decodes to); with where each character came from.
 * Found by a native scan for the escapes, the text between them copied whole.
 * Anything else (`100%`, `\d`) is kept as it is.
 */
function canonicalText(text: string): Canonical {
  let out = '';
  // Where each escape starts and ends, in `out` and in `text`: between them, both advance together.
  const at = [0];
  const source = [0];
  let rest = 0;
  ESCAPED.lastIndex = 0;
  for (let found = ESCAPED.exec(text); found; found = ESCAPED.exec(text)) {
    const [char, length] = unescaped(found[0]);
    out += text.slice(rest, found.index);
    at.push(out.length, out.length + char.length);
    out += char;
    rest = found.index + length;
    ESCAPED.lastIndex = rest;
    source.push(found.index, rest);
  }
  out += text.slice(rest);
  scrubSteps.count += text.length;
  return {
    decoded: at.at(-1) ?? 0,
    // Length-preserving, so done once here: `%2B` decodes to `+` too.
    text: out.replaceAll('+', ' '),
    source: (index) => {
      // The last mark at or before `index`, by bisection: a text has as many as it has escapes.
      let low = 0;
      for (let high = at.length - 1; low < high; ) {
        const middle = (low + high + 1) >> 1;
        if ((at[middle] ?? 0) <= index) low = middle;
        else high = middle - 1;
      }
      return (source[low] ?? 0) + index - (at[low] ?? 0);
    },
  };
}

/**
 * The character at the start of an escape {@link ESCAPED} found, and how much of it that took. A run
 * of `%XX` gives the character its bytes start as UTF-8, else its first byte read as Latin-1 (`%F6` as
 * `ö`).
 */
function unescaped(sequence: string): [string, number] {
  if (sequence.startsWith('&')) return [referenced(sequence.slice(1, -1)), sequence.length];
  if (!sequence.startsWith('\\')) return utf8Start(sequence);
  // By hand, not `JSON.parse`: a body of 64 KiB of `\/` took ~50 ms of parses an error.
  const c = sequence.charAt(1);
  const char =
    c === 'u' ? String.fromCharCode(Number.parseInt(sequence.slice(2, 6), 16)) : (SHORT_ESCAPES[c] ?? c);
  return [char, sequence.length];
}

/**
 * The character an HTML reference names (`amp`, `#43`, `#x2B`); U+FFFD past U+10FFFF, as HTML has it.
 */
function referenced(name: string): string {
  if (!name.startsWith('#')) return NAMED.get(name) ?? `&${name};`;
  const hex = /x/i.test(name);
  const point = Number.parseInt(name.slice(hex ? 2 : 1), hex ? 16 : 10);
  return point < 0x110000 ? String.fromCodePoint(point) : '\uFFFD';
}

/**
 * The named references {@link ESCAPED} decodes, each name followed by its character; any other name
 * stands for itself (it is not decoded).
 */
const NAMED: ReadonlyMap<string, string> = new Map(
  Array.from(
    'amp&quot"lt<gt>apos\'plus+sol/equals=percnt%colon:commat@num#quest?excl!dollar$lpar(rpar)comma,semi;period.lowbar_hyphen-ast*bsol\\verbar|lsqb[rsqb]lcub{rcub}grave`Hat^Tab\tNewLine\nnbsp\u00A0'.matchAll(
      /([A-Za-z]+)([^A-Za-z])/g,
    ),
    ([, name, char]) => [name as string, char as string],
  ),
);

/** JSON's short escapes other than `\"`, `\\` and `\/`, which stand for the character after the backslash. */
const SHORT_ESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** The least code point a UTF-8 sequence of 1 + n continuation bytes encodes: less is overlong. */
const LEAST = [0, 0x80, 0x800, 0x10000];

/**
 * Decoded by hand, not with `decodeURIComponent`: that throws on every byte that starts no UTF-8
 * character, and a body of 64 KiB of `%FF` took ~300 ms of exceptions. Overlong forms, surrogates and
 * code points past U+10FFFF are no UTF-8 either (as `decodeURIComponent` has it).
 */
function utf8Start(sequence: string): [string, number] {
  const byte = (k: number): number => Number.parseInt(sequence.slice(3 * k + 1, 3 * k + 3), 16);
  const lead = byte(0);
  const more = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : lead >= 0xc0 ? 1 : 0;
  if (more > 0 && lead < 0xf8 && 3 * (more + 1) <= sequence.length) {
    let point = lead & (0x3f >> more);
    for (let k = 1; k <= more && point >= 0; k++) {
      const next = byte(k);
      point = (next & 0xc0) === 0x80 ? (point << 6) | (next & 0x3f) : -1;
    }
    const least = LEAST[more] ?? 0;
    if (point >= least && point <= 0x10ffff && (point < 0xd800 || point > 0xdfff)) {
      return [String.fromCodePoint(point), 3 * (more + 1)];
    }
  }
  return [String.fromCharCode(lead), 3];
}

function headerSecrets(lowerName: string, value: string, add: Add): void {
  // The whole value: a part only where it is all credential (an API key with no scheme).
  const credential = AFTER_SCHEME.exec(value)?.[1];
  const cookie = lowerName.includes('cookie');
  add(!cookie && credential === undefined, value);
  if (cookie) {
    for (const pair of value.split(';')) {
      const cookieValue = unquoted(pair.slice(pair.indexOf('=') + 1));
      add('long', cookieValue);
    }
  } else if (credential !== undefined) {
    // `Credential=…, Signature=…` begins with the name of a parameter, no secret.
    add(!PARAMETER_NAME.test(credential), credential);
    credentialParts(credential, add);
    basicSecrets(value, credential, add);
  }
}

/**
 * The parts of a credential a server may echo alone: `account` and `signature` of a SharedKey's
 * `account:signature`, each parameter's value of `Credential=…, Signature=…`. Of an AWS SigV4
 * `Authorization`, what counts as secret: the signature; the credential (access key id and scope,
 * together); and the access key id alone, which names the key the request signed with and which AWS's
 * errors quote alone ("The AWS Access Key Id you provided does not exist"). Not secret, so kept:
 * `SignedHeaders` (header names) and the scope alone (`20150830/us-east-1/iam/aws4_request`: a date,
 * region and service the URL tells anyway), which an error about a wrong region quotes.
 */
function credentialParts(credential: string, add: Add): void {
  for (const part of credential.split(/[:,]/)) {
    if (/^\s*signedheaders=/i.test(part)) continue;
    const value = unquoted(part.replace(PARAMETER_NAME, ''));
    add(true, value, ...accessKeyId(value));
  }
}

/** The access key id of a SigV4 credential (`AKIA…/20150830/us-east-1/iam/aws4_request`), else none. */
function accessKeyId(value: string): string[] {
  return /^(\w+)\/\d{8}\/.+\/aws4_request$/.exec(value)?.slice(1, 2) ?? [];
}

/**
 * A Basic credential's `user:password` and password, which a server decodes and may echo, read as
 * UTF-8 and as Latin-1 (what `btoa` encodes, and what a server may decode). The user name alone is
 * kept: it names an account, as the error's own text often does, and is no credential; unless the
 * password is shorter than {@link MIN_LENGTH}, as when the user name is an API key (Stripe's
 * `sk_live_…:`, Freshdesk's `key:X`).
 */
function basicSecrets(value: string, credential: string, add: Add): void {
  if (!/^basic /i.test(value)) return;
  let latin1: string;
  try {
    latin1 = atob(credential.trim());
  } catch {
    // Not base64: the credential as sent is all there is.
    return;
  }
  const pairs = [latin1];
  try {
    const bytes = Uint8Array.from(latin1, (c) => c.charCodeAt(0));
    pairs.push(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    // No UTF-8: Latin-1 is all it can be.
  }
  for (const pair of pairs) {
    const colon = pair.indexOf(':');
    const password = pair.slice(colon + 1);
    add(false, pair);
    add(true, password);
    if (password.length < MIN_LENGTH) add(true, pair.slice(0, Math.max(0, colon)));
  }
}

/** The query values of `url` as sent (`+`, `/` and `=` kept as such), and a SigV4 access key id among them. */
function querySecrets(url: string, add: Add): void {
  const query = URL.canParse(url) ? new URL(url).search.slice(1) : '';
  for (const part of query.split('&')) {
    const split = part.indexOf('=');
    // A part with no `=` is a bare value (`?TOKEN`), as redactUrl has it.
    const [name, sent] = split < 0 ? ['', part] : [part.slice(0, split), part.slice(split + 1)];
    if (sent.length >= MIN_OPAQUE_LENGTH || (sent !== '' && isSecretHeader(decoded(name)))) {
      add('long', sent, ...accessKeyId(decoded(sent)));
    }
  }
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
