/**
 * What fetch takes from its `init` when called, taken the same way: a caller that reuses one init or
 * headers object and changes it after calling must not change what a queued call or a retry sends.
 */

/**
 * RequestInit's members (the fetch standard's dictionary), and undici's `dispatcher`. Fetch reads each by
 * name, through getters and prototypes: an init inheriting them (`fetch(request.url, request)`, an
 * `Object.create(defaults)`) means what it would mean to fetch.
 */
const INIT_MEMBERS =
  'method headers body referrer referrerPolicy mode credentials cache redirect integrity keepalive signal duplex priority window dispatcher'.split(
    ' ',
  );

/**
 * A plain copy of `init` with each member read once, as fetch reads it: the caller's enumerable members
 * (inherited ones too: another fetch may read a member not in the standard, as node-fetch reads `agent`)
 * in their order, then any standard member read through a getter or a prototype that those left out.
 */
export function snapshotInit(init: RequestInit): RequestInit {
  const proto: unknown = Object.getPrototypeOf(init);
  // A plain object (the usual init) has its members as own enumerable properties: one spread takes them.
  if (proto === Object.prototype || proto === null) return { ...init };
  const copy: Record<string, unknown> = {};
  for (const name in init) copy[name] = (init as Record<string, unknown>)[name];
  for (const name of INIT_MEMBERS) {
    if (name in copy) continue;
    const value: unknown = (init as Record<string, unknown>)[name];
    if (value !== undefined) copy[name] = value;
  }
  return copy as RequestInit;
}

/**
 * The caller's headers as they are now, in a form that no later change of theirs reaches and that can
 * be read more than once: a record by its own entries, pairs (an array, a Map, a generator) as an array
 * of copied pairs, names in the case given; a Headers object (of any implementation) copied by its own
 * constructor, as undici's keeps the case names were written in, where its pairs are lower-cased.
 */
export function snapshotHeaders(given: unknown): unknown {
  if (!given || typeof given !== 'object') return given;
  if (given instanceof Headers) return new Headers(given);
  if (isHeadersLike(given)) return new given.constructor(given);
  if (Symbol.iterator in given) {
    // A pair that is not iterable is kept as it is, for `Headers` to refuse with fetch's own TypeError.
    return Array.from(given as Iterable<unknown>, (pair) => (isIterable(pair) ? Array.from(pair) : pair));
  }
  return { ...given };
}

/** A Headers of another implementation (the `undici` package's, node-fetch's): `append` tells it from a Map. */
function isHeadersLike(value: object): value is { constructor: new (from: unknown) => unknown } {
  const headers = value as Record<string, unknown>;
  return (
    typeof headers.append === 'function' &&
    typeof headers.get === 'function' &&
    typeof headers.constructor === 'function'
  );
}

function isIterable(value: unknown): value is Iterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value;
}
