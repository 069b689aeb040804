/**
 * Attribute names and values shared by spans and metrics: the HTTP semantic conventions' (stable) and
 * breakwater's own, under `breakwater.`. Nothing here reads a header or a query value; the header value
 * an endpoint key may carry leaves only as a keyed hash ({@link exportedKey}).
 */

import { secretValueHash } from '@breakwater/policies';
import type { Attributes } from '@opentelemetry/api';
import { DEFAULT_MAX_ENDPOINTS } from '../registry.ts';

/**
 * The methods the HTTP semantic conventions know (RFC 9110's and PATCH); any other is reported as
 * `_OTHER`, unless `openTelemetry({ knownMethods })` gives the list instead.
 */
export const DEFAULT_KNOWN_METHODS: ReadonlySet<string> = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** Semconv names an HTTP client span by its method, or `HTTP` when the method is not a known one. */
export function spanNameOf(method: string, known = DEFAULT_KNOWN_METHODS): string {
  return known.has(method) ? method : 'HTTP';
}

/** The endpoint rule's name, the part of the key before the origin (`orders https://host` -> `orders`). */
export function ruleOf(key: string): string {
  const space = key.indexOf(' ');
  return space === -1 ? key : key.slice(0, space);
}

/**
 * `http.request.method` as semconv has it: the method, or `_OTHER` for one it does not list. Any token
 * is a method (a proxy forwards its clients'), so the metrics and the attribute cache see only these
 * ten values; the method itself goes on the span alone, as `http.request.method_original`.
 */
export function semconvMethod(method: string, known = DEFAULT_KNOWN_METHODS): string {
  return known.has(method) ? method : '_OTHER';
}

/** `server.address` and `server.port` (the scheme's default port when the URL has none). */
function serverAttributes(url: URL): Attributes {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  // A bracketed IPv6 host is reported without its brackets, as semconv's examples show it.
  return { 'server.address': url.hostname.replace(/^\[(.*)\]$/, '$1'), 'server.port': port };
}

/**
 * `error.type` of an outcome: the status as a string for a status of 400 or more (semconv's rule for
 * clients), else the error's kind or name; undefined for a success.
 */
export function errorTypeOf(status: number | undefined, errorType: string | undefined): string | undefined {
  return status !== undefined && status >= 400 ? String(status) : errorType;
}

/** `http.response.status_code` and `error.type` of an outcome (see {@link errorTypeOf}). */
function outcomeAttributes(status: number | undefined, errorType: string | undefined): Attributes {
  const attributes: Attributes = {};
  if (status !== undefined) attributes['http.response.status_code'] = status;
  const type = errorTypeOf(status, errorType);
  if (type !== undefined) attributes['error.type'] = type;
  return attributes;
}

/** Most outcomes kept per (key, method); past it the outcomes start over (a bound, never reached in practice). */
const MAX_OUTCOMES = 64;

/** One map key per outcome, with no string built for the usual ones (a status alone, an error alone). */
function outcomeId(status: number | undefined, errorType: string | undefined): number | string {
  if (errorType === undefined) return status ?? '';
  return status === undefined ? errorType : `${status} ${errorType}`;
}

/**
 * The attribute sets of one endpoint key and method, each built once and then handed out as the same
 * object: the histograms record one on every attempt and every call, and the span of an attempt
 * starts with {@link EndpointAttributes.request}. The key holds the origin, so server address and
 * port follow from it. The objects are frozen: the SDK keeps the first one it sees per series.
 */
export class EndpointAttributes {
  /** Method, server and the rule's name: what the spans and both duration histograms share. */
  readonly request: Attributes;
  private readonly attempts = new Map<number | string, Attributes>();
  /** Per attempt count, then outcome. */
  private readonly calls = new Map<number, Map<number | string, Attributes>>();

  /** `method`: semconv's ({@link semconvMethod}). */
  constructor(key: string, method: string, url: URL) {
    this.request = Object.freeze({
      'http.request.method': method,
      ...serverAttributes(url),
      'breakwater.endpoint': ruleOf(key),
    });
  }

  /** `http.client.request.duration`'s attributes for an attempt that ended so. */
  attempt(status: number | undefined, errorType: string | undefined): Attributes {
    return outcomeOf(this.attempts, this.request, undefined, status, errorType);
  }

  /** `breakwater.call.duration`'s attributes for a call of `attempts` attempts that ended so. */
  call(attempts: number, status: number | undefined, errorType: string | undefined): Attributes {
    let byOutcome = this.calls.get(attempts);
    if (!byOutcome) {
      if (this.calls.size >= MAX_OUTCOMES) this.calls.clear();
      byOutcome = new Map();
      this.calls.set(attempts, byOutcome);
    }
    return outcomeOf(byOutcome, this.request, attempts, status, errorType);
  }
}

/** The cached attributes of an outcome (with `breakwater.attempts` for a call's); a hit allocates nothing. */
function outcomeOf(
  cache: Map<number | string, Attributes>,
  request: Attributes,
  attempts: number | undefined,
  status: number | undefined,
  errorType: string | undefined,
): Attributes {
  const id = outcomeId(status, errorType);
  let attributes = cache.get(id);
  if (!attributes) {
    if (cache.size >= MAX_OUTCOMES) cache.clear();
    const counted = attempts === undefined ? {} : { 'breakwater.attempts': attempts };
    attributes = Object.freeze({ ...request, ...counted, ...outcomeAttributes(status, errorType) });
    cache.set(id, attributes);
  }
  return attributes;
}

/** Most endpoint keys whose attributes are kept (the default `maxEndpoints`); past it the cache starts over. */
const MAX_CACHED_KEYS = DEFAULT_MAX_ENDPOINTS;

/** An endpoint key and request method (as given, before {@link semconvMethod}), and their attributes. */
interface LastLookUp {
  readonly key: string;
  readonly method: string;
  readonly attributes: EndpointAttributes;
}

/** {@link EndpointAttributes} per endpoint key and method, keyed by key then method: no string built per lookup. */
export class AttributeCache {
  private readonly byKey = new Map<string, Map<string, EndpointAttributes>>();
  private readonly known: ReadonlySet<string>;

  /** `known`: the methods reported as themselves (see {@link semconvMethod}). */
  constructor(known = DEFAULT_KNOWN_METHODS) {
    this.known = known;
  }

  /** The last answer, asked again by the same call (its `call` hook, then each attempt's). */
  private last: LastLookUp | undefined;

  /** `request`'s URL is read only for a key and method not seen yet: reading it may parse it. */
  of(key: string, request: { readonly method: string; readonly url: URL }): EndpointAttributes {
    const last = this.last;
    if (last !== undefined && last.key === key && last.method === request.method) return last.attributes;
    const attributes = this.lookUp(key, request);
    this.last = { key, method: request.method, attributes };
    return attributes;
  }

  private lookUp(key: string, request: { readonly method: string; readonly url: URL }): EndpointAttributes {
    const method = semconvMethod(request.method, this.known);
    let byMethod = this.byKey.get(key);
    if (!byMethod) {
      if (this.byKey.size >= MAX_CACHED_KEYS) this.byKey.clear();
      byMethod = new Map();
      this.byKey.set(key, byMethod);
    }
    let attributes = byMethod.get(method);
    if (!attributes) {
      attributes = new EndpointAttributes(key, method, request.url);
      byMethod.set(method, attributes);
    }
    return attributes;
  }
}

/** A key's header partition that shows no value: the header absent, or a credential's keyed hash. */
const VALUELESS_PARTITION = /^[^\s=]+=(hmac:[0-9a-f]{16})?$/;

/**
 * `breakwater.endpoint.key` as the gauges export it. An endpoint key is `rule origin`, then for a rule
 * with a `keyHeader` ` name=value`, whose value may be a tenant id or an e-mail taken verbatim (or an
 * unkeyed FNV digest of a long one, which a reader can reverse by trying guesses): personal data in a
 * metrics backend, and one series per value forever. The value is replaced by the keyed hash that
 * credential headers already get (`hmac:` and 16 hex digits, keyed per process), so each partition
 * keeps its own series within a process and nothing of the value leaves it.
 */
export function exportedKey(key: string, hash: (value: string) => string): string {
  const second = key.indexOf(' ', key.indexOf(' ') + 1);
  if (second === -1) return key;
  const partition = key.slice(second + 1);
  if (VALUELESS_PARTITION.test(partition)) return key;
  const equals = partition.indexOf('=');
  return `${key.slice(0, second + 1 + equals + 1)}hmac:${hash(partition.slice(equals + 1))}`;
}

/**
 * {@link exportedKey} per live key, kept from one collection to the next (an HMAC per key and scrape
 * would cost milliseconds at a thousand keys) and dropped with the keys that are gone.
 */
export class ExportedKeys {
  private previous = new Map<string, string>();

  /** The exported form of each key of one collection; keys not asked for by then are forgotten. */
  collection(): (key: string) => string {
    const previous = this.previous;
    const current = new Map<string, string>();
    this.previous = current;
    return (key) => {
      let exported = current.get(key) ?? previous.get(key);
      if (exported === undefined) exported = exportedKey(key, keyedHash());
      current.set(key, exported);
      return exported;
    };
  }
}

/**
 * The process's keyed hash. Without `crypto.getRandomValues` (no runtime breakwater supports lacks it)
 * no value is shown at all, and the partitions of a rule share one series.
 */
function keyedHash(): (value: string) => string {
  try {
    return secretValueHash();
  } catch {
    return () => 'REDACTED';
  }
}
