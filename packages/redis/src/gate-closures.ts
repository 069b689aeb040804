import type { RateCut, StoreClosure } from '@breakwater/core';
import { addBounded, touch } from './bounded.ts';

/** What the store publishes on `<prefix>gate`: a closure, or news of a probe (then no closure). */
export interface Message {
  readonly key: string;
  readonly ms: number;
  readonly strict: boolean;
  readonly from: string;
  /** Set when the message says the key's probe closed its breaker (no closure then). */
  readonly closedBreaker?: true;
  /** Set when the message says the key's gate probe was accepted (no closure then). */
  readonly gateProbeAnswered?: true;
  /** The fleet's rate cut, with a strict closure. */
  readonly cut?: RateCut | undefined;
  /** False for a strict closure that cuts no rate (a spent quota's); absent: as `strict`. */
  readonly cuts?: boolean | undefined;
}

/** A message read from the channel, or undefined when it is not one (another version's, or garbage). */
export function parseMessage(raw: string): Message | undefined {
  let message: Message;
  try {
    message = JSON.parse(raw) as Message;
  } catch {
    return undefined;
  }
  if (typeof message?.key !== 'string' || typeof message.ms !== 'number') return undefined;
  return { ...message, cut: rateCut(message.cut), cuts: message.cuts === false ? false : undefined };
}

/** A cut read from a message, kept only when well formed (another version may send otherwise). */
function rateCut(value: unknown): RateCut | undefined {
  const cut = value as Partial<RateCut> | undefined;
  if (typeof cut?.wMax !== 'number' || !(cut.wMax > 0) || typeof cut.known !== 'boolean') return undefined;
  return { wMax: cut.wMax, known: cut.known };
}

/** The Redis key of `key`'s strict or loose closure (a 429's, or a 503's Retry-After). */
export function gateKey(prefix: string, key: string, strict: boolean): string {
  return `${prefix}gate:${strict ? 'strict' : 'loose'}:${key}`;
}

interface View {
  /** Local epoch ms until which another instance's (or this one's) strict and loose closures hold. */
  strict: number;
  loose: number;
  /** The rate cut published with the strict closure, if any. */
  cut?: RateCut | undefined;
  /** False when the strict closure cuts no rate (a spent quota's). */
  cuts?: boolean | undefined;
}

/**
 * This instance's view of the gate closures of the keys it uses: fed by pub/sub and the refresh, read
 * by a pipeline being built, with no round trip. Instants here are this instance's own clock's: what
 * arrives is a duration, turned into `Date.now() + ms` on arrival.
 */
export class GateViews {
  private readonly views = new Map<string, View>();
  /**
   * Closures heard for keys not in use here: kept aside (bounded), so they push out no key in use and
   * the refresh does not read them, until a pipeline uses the key and starts with the fleet's closure
   * and cut (which only pub/sub carries).
   */
  private readonly aside = new Map<string, View>();

  /** The keys in use here, for the refresh. */
  keys(): string[] {
    return [...this.views.keys()];
  }

  /** Whether `key` is in use here (its closures read at every refresh). */
  watched(key: string): boolean {
    return this.views.has(key);
  }

  /** What is known of `key`'s closures now; marks `key` as in use. */
  closures(key: string): StoreClosure[] {
    const view = this.watch(key);
    const now = Date.now();
    const found: StoreClosure[] = [];
    if (view.strict > now)
      found.push({ ms: view.strict - now, strict: true, cut: view.cut, cuts: view.cuts });
    if (view.loose > now) found.push({ ms: view.loose - now, strict: false });
    return found;
  }

  /** Every key's closures that still hold, to write back after an outage. */
  held(): { key: string; closures: StoreClosure[] }[] {
    return this.keys().map((key) => ({ key, closures: this.closures(key) }));
  }

  /**
   * Records a closure; true when it ends later than what the view knew (by more than 50 ms). `heard`:
   * another instance's, which does not mark the key as in use.
   */
  learn(key: string, ms: number, strict: boolean, cut?: RateCut, heard = false, cuts?: boolean): boolean {
    const view = heard && !this.views.has(key) ? this.setAside(key) : this.watch(key);
    const until = Date.now() + ms;
    const known = strict ? view.strict : view.loose;
    // A refresh reads what this instance already heard, a round trip later: not news.
    if (until <= known + 50) return false;
    if (strict) {
      view.strict = until;
      view.cut = cut;
      view.cuts = cuts;
    } else view.loose = until;
    return true;
  }

  private watch(key: string): View {
    const view = touch(this.views, key);
    if (view !== undefined) return view;
    const heard = this.aside.get(key);
    this.aside.delete(key);
    return addBounded(this.views, key, heard ?? { strict: 0, loose: 0 });
  }

  private setAside(key: string): View {
    return this.aside.get(key) ?? addBounded(this.aside, key, { strict: 0, loose: 0 });
  }
}
