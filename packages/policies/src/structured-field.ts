import { TOKEN_CHAR } from './token.ts';

/** A bare item's value: Integers and Decimals as numbers, Booleans as booleans, the rest as text. */
export type BareItem = number | string | boolean;

/** A whole, non-negative number: what the RateLimit fields' `r`, `t`, `q` and `w` must be. */
export function isCount(value: BareItem | undefined): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** One member of a Structured Field List: its item (an inner list has none) and its parameters. */
export interface ListMember {
  readonly item: BareItem | undefined;
  readonly params: Map<string, BareItem>;
}

/** An sf-token (RFC 9651): a tchar list that may also hold `:` and `/`, starting with a letter or `*`. */
const SF_TOKEN = new RegExp(`^[A-Za-z*](?:${TOKEN_CHAR.source}|[:/])*`);

/**
 * A Structured Field List (RFC 9651): each member's item and parameters, or `undefined` when the field
 * does not parse (RFC 9651: a parse failure discards the whole field). Integers, Decimals, Strings and
 * Booleans are read; other bare items are parsed for correctness and kept as text.
 */
export function parseStructuredList(input: string): ListMember[] | undefined {
  try {
    return new StructuredList(input.replace(/^ +| +$/g, '')).members();
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

/** A cursor over one Structured Field List; every method throws SyntaxError where the field is invalid. */
class StructuredList {
  private readonly text: string;
  private i = 0;

  constructor(text: string) {
    this.text = text;
  }

  members(): ListMember[] {
    const members: ListMember[] = [];
    while (this.i < this.text.length) {
      members.push(this.member());
      this.skip(' \t');
      if (this.i >= this.text.length) break;
      if (this.at() !== ',') this.fail();
      this.i++;
      this.skip(' \t');
      if (this.i >= this.text.length) this.fail();
    }
    return members;
  }

  /** An item, or an inner list (whose items do not matter here), with its parameters. */
  private member(): ListMember {
    if (this.at() !== '(') {
      const item = this.bareItem();
      return { item, params: this.parameters() };
    }
    this.i++;
    for (;;) {
      this.skip(' ');
      if (this.at() === ')') break;
      this.bareItem();
      this.parameters();
      if (this.at() !== ' ' && this.at() !== ')') this.fail();
    }
    this.i++;
    return { item: undefined, params: this.parameters() };
  }

  private parameters(): Map<string, BareItem> {
    const params = new Map<string, BareItem>();
    while (this.at() === ';') {
      this.i++;
      this.skip(' ');
      const key = this.take(/^[a-z*][a-z0-9_\-.*]*/) ?? this.fail();
      let value: BareItem = true;
      if (this.at() === '=') {
        this.i++;
        value = this.bareItem();
      }
      params.set(key, value);
    }
    return params;
  }

  private bareItem(): BareItem {
    const number = this.take(/^-?\d{1,12}\.\d{1,3}(?![\d.])/) ?? this.take(/^-?\d{1,15}(?![\d.])/);
    if (number !== undefined) return Number(number);
    const quoted = this.take(/^"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*"/);
    if (quoted !== undefined) return quoted.slice(1, -1).replace(/\\(["\\])/g, '$1');
    const boolean = this.take(/^\?[01]/);
    if (boolean !== undefined) return boolean === '?1';
    // Tokens, byte sequences, dates and display strings: only their syntax matters here.
    return (
      this.take(SF_TOKEN) ??
      this.take(/^:[A-Za-z0-9+/=]*:/) ??
      this.take(/^@-?\d{1,15}(?![\d.])/) ??
      this.take(/^%"(?:[\x20\x21\x23\x24\x26-\x5b\x5d-\x7e]|%[0-9a-f]{2})*"/) ??
      this.fail()
    );
  }

  private at(): string | undefined {
    return this.text[this.i];
  }

  private skip(chars: string): void {
    while (this.i < this.text.length && chars.includes(this.text[this.i] ?? '')) this.i++;
  }

  /** Consumes a match of `pattern` (anchored with ^) at the cursor. */
  private take(pattern: RegExp): string | undefined {
    const match = pattern.exec(this.text.slice(this.i))?.[0];
    if (match !== undefined) this.i += match.length;
    return match;
  }

  private fail(): never {
    throw new SyntaxError('structured field');
  }
}
