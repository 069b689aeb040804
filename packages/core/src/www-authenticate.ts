/**
 * `WWW-Authenticate` parsing (RFC 9110 §11.6.1), lenient where real servers are.
 *
 * ```
 * WWW-Authenticate = #challenge
 * challenge  = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
 * auth-param = token BWS "=" BWS ( token / quoted-string )
 * ```
 *
 * Commas separate both challenges and parameters; a comma followed by `name=` continues the current
 * challenge, anything else starts a new one.
 */
import { TOKEN_CHAR } from '@breakwater/policies';

/** One challenge of a `WWW-Authenticate` (or `Proxy-Authenticate`) header. */
export interface AuthChallenge {
  /** The auth scheme as sent (`OAuth`, `Bearer`). Schemes are case-insensitive: compare accordingly. */
  scheme: string;
  /** Parameters by lower-cased name (names are case-insensitive); the first occurrence of a name wins. */
  params: Record<string, string>;
  /** The token68 form (`Negotiate abc==`), when the challenge used it instead of parameters. */
  token68?: string;
}

const TOKEN68_CHAR = /[-._~+/0-9A-Za-z]/;

/**
 * Parses every challenge of a `WWW-Authenticate` header; `null` or an empty header gives `[]`.
 *
 * Lenient on purpose: an unquoted value runs to the next comma or space, so Partner Center's
 * `OAuth realm=urn:cpsvc:cpid:<id>` (colons are not token characters) parses as sent; an unterminated
 * quoted string runs to the end. Never throws: on garbage it returns the challenges that parsed.
 */
export function parseWwwAuthenticate(header: string | null): AuthChallenge[] {
  if (header === null) return [];
  const p = new Parser(header);
  const challenges: AuthChallenge[] = [];
  while (!p.atEnd()) {
    p.skip(/[\s,]/);
    if (p.atEnd()) break;
    const scheme = p.take(TOKEN_CHAR);
    if (scheme === '') {
      // Not a challenge start: drop everything up to the next comma.
      p.skipUntil(',');
      continue;
    }
    if (p.peek() === '=') {
      // `name=value` where a scheme should be: a stray parameter, not a challenge.
      p.skipUntil(',');
      continue;
    }
    challenges.push(parseChallengeBody(p, scheme));
  }
  return challenges;
}

function parseChallengeBody(p: Parser, scheme: string): AuthChallenge {
  // An ordinary object, so that a log line's `${params}` or `params.hasOwnProperty` works (one with no
  // prototype threw a TypeError there); names are own properties, `__proto__` included, and the
  // lower-cased names cannot shadow Object.prototype's camel-cased methods.
  const params: Record<string, string> = {};
  const challenge: AuthChallenge = { scheme, params };
  p.skip(/[ \t]/);
  if (p.atEnd() || p.peek() === ',') return challenge;

  const token68 = p.tryToken68();
  if (token68 !== undefined) {
    challenge.token68 = token68;
    return challenge;
  }

  for (;;) {
    p.skip(/[ \t]/);
    const name = p.take(TOKEN_CHAR).toLowerCase();
    p.skip(/[ \t]/);
    if (name === '' || p.peek() !== '=') {
      // Malformed parameter: give up on this challenge's remaining text up to the next comma.
      p.skipUntil(',');
    } else {
      p.advance();
      p.skip(/[ \t]/);
      const value = p.peek() === '"' ? p.quotedString() : p.takeUntil(/[\s,]/);
      if (!Object.hasOwn(params, name)) {
        Object.defineProperty(params, name, { value, enumerable: true, writable: true, configurable: true });
      }
      p.skip(/[ \t]/);
    }
    if (p.atEnd()) break;
    if (p.peek() !== ',') {
      p.skipUntil(',');
      if (p.atEnd()) break;
    }
    // At a comma: does a parameter follow, or the next challenge?
    if (!p.paramFollowsComma()) break;
    p.skip(/[\s,]/);
  }
  return challenge;
}

class Parser {
  readonly #s: string;
  #i = 0;

  constructor(s: string) {
    this.#s = s;
  }

  atEnd(): boolean {
    return this.#i >= this.#s.length;
  }

  peek(offset = 0): string {
    return this.#s.charAt(this.#i + offset);
  }

  advance(): void {
    this.#i += 1;
  }

  skip(chars: RegExp): void {
    while (!this.atEnd() && chars.test(this.peek())) this.#i += 1;
  }

  /** Moves to the next `char` outside a quoted string (or the end). */
  skipUntil(char: string): void {
    while (!this.atEnd() && this.peek() !== char) {
      if (this.peek() === '"') this.quotedString();
      else this.#i += 1;
    }
  }

  take(chars: RegExp): string {
    const start = this.#i;
    this.skip(chars);
    return this.#s.slice(start, this.#i);
  }

  takeUntil(stop: RegExp): string {
    const start = this.#i;
    while (!this.atEnd() && !stop.test(this.peek())) this.#i += 1;
    return this.#s.slice(start, this.#i);
  }

  /** quoted-string with `\` escapes; the opening quote is at the cursor. */
  quotedString(): string {
    this.#i += 1;
    let out = '';
    while (!this.atEnd()) {
      const c = this.peek();
      this.#i += 1;
      if (c === '"') return out;
      if (c === '\\' && !this.atEnd()) {
        out += this.peek();
        this.#i += 1;
      } else {
        out += c;
      }
    }
    return out;
  }

  /** Consumes a token68 if the rest of this challenge is exactly one; otherwise leaves the cursor. */
  tryToken68(): string | undefined {
    const start = this.#i;
    this.skip(TOKEN68_CHAR);
    if (this.#i === start) return undefined;
    this.skip(/=/);
    const end = this.#i;
    this.skip(/[ \t]/);
    if (this.atEnd() || this.peek() === ',') return this.#s.slice(start, end);
    this.#i = start;
    return undefined;
  }

  /** At a comma: true when the next list element is `token BWS "="` (a parameter), not a new challenge. */
  paramFollowsComma(): boolean {
    let j = this.#i;
    while (j < this.#s.length && /[\s,]/.test(this.#s.charAt(j))) j += 1;
    const nameStart = j;
    while (j < this.#s.length && TOKEN_CHAR.test(this.#s.charAt(j))) j += 1;
    if (j === nameStart) return false;
    while (j < this.#s.length && /[ \t]/.test(this.#s.charAt(j))) j += 1;
    return this.#s.charAt(j) === '=';
  }
}
