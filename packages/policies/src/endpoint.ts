/**
 * Endpoint matching: which rule, and so which policy and endpoint key, a (method, URL) belongs to.
 *
 * Pattern grammar (the `match` of an endpoint rule):
 *
 * ```
 * pattern  = [ METHODS SP ] TARGET
 * METHODS  = "*" / method *( "," method )         ; omitted or "*" = any method
 * TARGET   = ORIGIN PATH / ORIGIN SP PATH / "*" PATH / "*" SP PATH / PATH
 * ORIGIN   = scheme "://" host [ ":" port ]         ; http or https; no userinfo, path, query, fragment
 * PATH     = "/" [ segment *( "/" segment ) ] [ "/" ]
 * segment  = literal / ":" name / "*"
 * ```
 *
 * - `GET https://api.example.com/v1/customers/*`, `GET,HEAD * /v1/items/:id` (or with no space), `POST * /v1/orders`, `/health`.
 * - Methods are compared case-insensitively (`get` = `GET`), as fetch upper-cases the common ones anyway.
 *   A method must be a registered one (any case) or a custom one in upper case that is not one edit
 *   away from a registered one: `GTE` and `purge` are refused (see methods.ts).
 * - `*` as the origin, or no origin at all, matches any origin. An origin is compared after URL
 *   normalisation: scheme and host lower-cased, the default port dropped (`https://A.com:443` = `https://a.com`).
 * - A literal segment matches case-sensitively, after percent-encoding normalisation applied to the pattern
 *   and the request alike: characters the URL parser would encode are encoded, `%XX` of an unreserved
 *   character (`A-Z a-z 0-9 - . _ ~`) is decoded, and every other `%xx` is upper-cased. So `/caf%C3%A9`,
 *   `/café` and `/caf%c3%a9` are the same segment, while `%2F` stays an escaped slash inside one segment.
 * - `:name` matches exactly one non-empty segment; names are identifiers, unique within a pattern.
 * - `*` matches exactly one non-empty segment; as the last segment it matches the rest of the path, zero
 *   or more segments (`/v1/customers/*` matches `/v1/customers`, `/v1/customers/1` and `/v1/customers/1/orders`).
 * - One trailing slash is ignored, on the pattern and on the request (`/v1/items/` = `/v1/items`).
 * - The query string is ignored when matching, so a pattern must not carry one.
 *
 * A pattern that could never match is a ConfigError when the resolver is built: an empty pattern, a
 * path not starting with `/`, `**` or a `*` inside a segment, an empty segment (`//`) in the middle, `.`
 * or `..` segments, a query or fragment, an invalid or unknown method (`GET|POST` or `GET POST` for
 * `GET,POST` included), an origin with userinfo or a path, a space in the path, or two
 * `:params` with the same name. Patterns are compiled once, when the resolver is built.
 */

import { describeValue, joinPath, refuse, SCHEME_PREFIX } from './config-error.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { isSecretHeader } from './headers.ts';
import { secretValueHash } from './keyed-hash.ts';
import { mergePolicy } from './merge.ts';
import { methodProblem } from './methods.ts';
import { isToken } from './token.ts';
import type { EndpointsConfig, HeadersLike, Policy, PolicyInput, ResolvedEndpoint } from './types.ts';
import { memoizableUrl } from './url-memo.ts';
import { rejectUnknownKeys, validatePolicy, validatePolicyInput } from './validate.ts';

/** One compiled path segment. */
export type PathSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'any' };

/** A parsed `match` pattern, ready to test requests without further parsing. */
export interface CompiledPattern {
  /** Upper-case methods, or `null` for any method. */
  readonly methods: readonly string[] | null;
  /** Normalised origin (`https://api.example.com`), or `null` for any origin. */
  readonly origin: string | null;
  readonly segments: readonly PathSegment[];
  /** The pattern ends in `*`: any further segments, zero included, match. */
  readonly rest: boolean;
}

/** Resolves requests to endpoints. Built once by {@link createEndpointResolver}; `resolve` is per request. */
export interface EndpointResolver {
  /**
   * The endpoint of a request: the first rule that matches, else `default`.
   * @param method the HTTP method, any case.
   * @param url an absolute URL; a relative one is a TypeError (resolve it against a base first).
   */
  resolve(method: string, url: string | URL, headers?: HeadersLike): ResolvedEndpoint;
  /**
   * The rules in the order they are tried; `keyHeader`: the header a rule partitions its key by, in
   * lower case, when it has one.
   */
  readonly rules: readonly { readonly name: string; readonly match: string; readonly keyHeader?: string }[];
}

/** The name of the endpoint no rule matched, and so a reserved rule name. */
const DEFAULT_NAME = 'default';

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PERCENT = /%([0-9A-Fa-f]{2})/g;
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;
/** Appended where several methods were likely written apart. */
const METHOD_LIST = "; list methods as 'GET,POST'";

/**
 * Compiles one `match` pattern (grammar above).
 * @param path where the pattern sits, for errors; default `match`.
 * @throws ConfigError when the pattern could never match or cannot be read.
 */
export function parseMatch(match: string, path = 'match'): CompiledPattern {
  const bad = (reason: string): never => refuse(path, reason);
  if (typeof match !== 'string') bad(`must be a string, got ${describeValue(match)}`);
  const trimmed = match.trim();
  if (trimmed === '') bad('is empty');
  // Neither is echoed: a pasted URL's query may hold a token.
  if (trimmed.includes('?')) bad("must not contain a query ('?'): the query string is ignored when matching");
  if (trimmed.includes('#')) bad("must not contain a fragment ('#'): fragments are never sent");

  const tokens = trimmed.split(/\s+/);
  const n = tokens.length;
  // A space splits the path: say so, rather than read its first half as a method or an origin.
  if (tokens.slice(0, -1).some((t) => /^\*?\//.test(t))) bad('the path must not contain spaces (write %20)');
  let methodsToken: string | undefined;
  let originToken: string | undefined;
  let pathToken: string;
  if (n > 3) {
    return bad(`has ${n} space-separated parts; expected '[METHODS ]TARGET'${METHOD_LIST}`);
  } else if (n === 3) {
    [methodsToken, originToken, pathToken] = tokens as [string, string, string];
  } else if (n === 2) {
    const [first, second] = tokens as [string, string];
    if (SCHEME_PREFIX.test(first)) [originToken, pathToken] = [first, second];
    else [methodsToken, pathToken] = [first, second];
  } else {
    pathToken = tokens[0] as string;
  }

  if (originToken === undefined) {
    // One token holds the target: `/path`, `*/path` or `scheme://host/path`.
    if (pathToken.startsWith('*')) {
      originToken = '*';
      pathToken = pathToken.slice(1);
      if (pathToken === '') bad("'*' alone has no path: write '*/*' (or '/*') to match every path");
    } else if (SCHEME_PREFIX.test(pathToken)) {
      const authorityStart = (SCHEME_PREFIX.exec(pathToken)?.[0] ?? '').length;
      const slash = pathToken.indexOf('/', authorityStart);
      if (slash === -1) bad("the origin needs a path after it: append '/*' to match every path");
      originToken = pathToken.slice(0, slash);
      pathToken = pathToken.slice(slash);
    }
  } else if (originToken !== '*') {
    const authorityStart = (SCHEME_PREFIX.exec(originToken)?.[0] ?? '').length;
    if (authorityStart > 0 && originToken.indexOf('/', authorityStart) !== -1) {
      bad("the origin must not have a path: write 'scheme://host[:port] /path' or 'scheme://host/path'");
    }
  }

  return {
    methods: methodsToken === undefined ? null : parseMethods(methodsToken, bad),
    origin: originToken === undefined || originToken === '*' ? null : parseOrigin(originToken, bad),
    ...parsePath(pathToken, bad),
  };
}

function parseMethods(token: string, bad: (reason: string) => never): readonly string[] | null {
  if (token === '*') return null;
  const methods = token.split(',');
  for (const method of methods) {
    if (method === '') bad(`has an empty method in the list ${describeValue(token)}`);
    // `|` is a token character, but `GET|POST` would be one custom method that never matches.
    if (!isToken(method) || method.includes('|')) {
      bad(`has an invalid method ${describeValue(method)} (methods are RFC 9110 tokens${METHOD_LIST})`);
    }
    const problem = methodProblem(method);
    if (problem !== undefined) bad(`has an ${problem}`);
  }
  return [...new Set(methods.map((m) => m.toUpperCase()))];
}

function parseOrigin(token: string, bad: (reason: string) => never): string {
  const scheme = SCHEME_PREFIX.exec(token)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // Only the three-part form reaches here without a scheme: part 2 is the origin.
    const method = /^[A-Z]+$/.test(token) ? METHOD_LIST : '';
    return bad(`the origin must be '*' or 'scheme://host[:port]', got ${describeValue(token)}${method}`);
  }
  if (scheme !== 'http' && scheme !== 'https') bad(`has an unsupported scheme '${scheme}' (http or https)`);
  const authority = token.slice(scheme.length + 3);
  if (authority.includes('@')) bad('the origin must not carry userinfo (user:password@)');
  if (authority.includes('*')) bad("wildcard hosts are not supported: use '*' for any origin");
  if (authority.includes('\\')) bad("the origin must not contain '\\'");
  let url: URL;
  try {
    url = new URL(token);
  } catch {
    return bad('has an origin that is not a valid scheme://host[:port]');
  }
  if (url.hostname === '') bad('the origin has no host');
  return originOf(url);
}

function parsePath(
  token: string,
  bad: (reason: string) => never,
): { segments: readonly PathSegment[]; rest: boolean } {
  if (!token.startsWith('/'))
    bad(HOST_FIRST.test(token) ? hostFirstReason(token) : "the path must start with '/'");
  if (token.includes('\\')) bad("the path must not contain '\\' (URLs turn it into '/')");
  const raw = splitPath(token);
  const segments: PathSegment[] = [];
  const params = new Set<string>();
  let rest = false;
  raw.forEach((segment, i) => {
    const last = i === raw.length - 1;
    if (segment === '') bad("the path has an empty segment ('//')");
    if (segment === '*') {
      if (last) rest = true;
      else segments.push({ kind: 'any' });
    } else if (segment.includes('*')) {
      bad(
        `the path segment ${describeValue(segment)} has a '*' that is not a whole segment ('**' and partial wildcards are not supported)`,
      );
    } else if (segment.startsWith(':')) {
      const name = segment.slice(1);
      if (!PARAM_NAME.test(name))
        bad(`the parameter ${describeValue(segment)} needs a name made of letters, digits and '_'`);
      if (params.has(name)) bad(`the parameter ':${name}' appears twice`);
      params.add(name);
      segments.push({ kind: 'param', name });
    } else {
      if (/[{}<>]/.test(segment)) bad(templateReason(segment));
      const decoded = normaliseSegment(segment);
      if (decoded === '.' || decoded === '..') {
        bad("the path must not have '.' or '..' segments (URLs resolve them away)");
      }
      const value = normaliseSegment(encodeLikeUrl(segment));
      segments.push({ kind: 'literal', value });
    }
  });
  return { segments, rest };
}

/** A host name (with a dot, maybe a port) and a path after it, written without a scheme. */
const HOST_FIRST = /^[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?\//;

/**
 * Why `api.example.com/v1/*` is refused: a host without its scheme, which was refused only as "the
 * path must start with '/'" (audit s24).
 */
function hostFirstReason(token: string): string {
  const host = token.slice(0, token.indexOf('/'));
  return `the path must start with '/': '${host}' looks like a host, write it with its scheme ('https://${host}/…') or use '*' for any origin`;
}

/**
 * Why a segment written as a URI template (`{customer-tenant-id}`, as in Partner Center's REST reference
 * and OpenAPI documents, or `<id>`) is refused: taken as a literal, it matched no request, and the
 * rule's calls went to `default` without a word (audit s24).
 */
function templateReason(segment: string): string {
  const name = segment
    .replace(/[{}<>]/g, '')
    .replace(/[^A-Za-z0-9_]/g, '_')
    .replace(/^(?=\d)/, '_');
  return `the path segment ${describeValue(segment)} is a template: write a parameter as ':${name || 'id'}'`;
}

/** Path segments without the leading slash and one trailing slash (so `/` has none). */
function splitPath(pathname: string): string[] {
  const segments = pathname.slice(1).split('/');
  if (segments.length > 0 && segments[segments.length - 1] === '') segments.pop();
  return segments;
}

/** Encodes a pattern literal as the URL parser encodes a request path (spaces, non-ASCII, ...). */
function encodeLikeUrl(segment: string): string {
  return new URL(`http://h/${segment}`).pathname.slice(1);
}

/** Decodes `%XX` of unreserved characters and upper-cases the rest (RFC 3986 §6.2.2). */
function normaliseSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  return segment.replace(PERCENT, (encoded, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : encoded.toUpperCase();
  });
}

function checkMethod(method: string): void {
  if (typeof method !== 'string' || !isToken(method)) {
    throw new TypeError(`breakwater: the method must be an HTTP method name, got ${describeValue(method)}`);
  }
}

function absoluteUrl(url: string | URL): URL {
  if (url instanceof URL) return url;
  if (typeof url === 'string') {
    try {
      return new URL(url);
    } catch {}
  }
  // The URL itself is not echoed: its query may hold a secret.
  throw new TypeError(
    'breakwater: endpoint resolution needs an absolute URL (scheme://host/path); got a relative or invalid URL. ' +
      'Resolve it against a base URL first.',
  );
}

/**
 * Not `url.origin`: it is 'null' for every host of a non-special scheme (foo://a, foo://b). A fully
 * qualified name's trailing dot (`api.example.com.`, which the URL standard keeps) names the same host
 * in DNS: it is left out, so that such a request takes its host's rules and shares its key (its breaker,
 * its gate) rather than falling to the default policy as another upstream.
 */
function originOf(url: URL): string {
  const hostname = hostOf(url);
  if (hostname === url.hostname) return url.origin !== 'null' ? url.origin : `${url.protocol}//${url.host}`;
  return `${url.protocol}//${hostname}${url.port === '' ? '' : `:${url.port}`}`;
}

/** The URL's hostname without a fully qualified name's trailing dot (see {@link originOf}). */
function hostOf(url: URL): string {
  const { hostname } = url;
  return hostname.length > 1 && hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
}

/** The path's segments as matching compares them (percent-encoding normalised). */
function pathSegments(pathname: string): readonly string[] {
  const segments = splitPath(pathname);
  return pathname.includes('%') ? segments.map(normaliseSegment) : segments;
}

/** The method and origin part of a match: what a request's path does not change. */
function matchesTarget(pattern: CompiledPattern, method: string, origin: string): boolean {
  if (pattern.methods !== null && !pattern.methods.includes(method)) return false;
  return pattern.origin === null || pattern.origin === origin;
}

/** The path part of a match. */
function matchesPath(pattern: CompiledPattern, actual: readonly string[]): boolean {
  const { segments } = pattern;
  if (pattern.rest ? actual.length < segments.length : actual.length !== segments.length) return false;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i] as PathSegment;
    const value = actual[i] as string;
    if (segment.kind === 'literal' ? value !== segment.value : value === '') return false;
  }
  return true;
}

/**
 * Tests one request against a compiled pattern (the query string is ignored).
 * @throws TypeError for a relative URL or an invalid method.
 */
export function matchesPattern(pattern: CompiledPattern, method: string, url: string | URL): boolean {
  checkMethod(method);
  const parsed = absoluteUrl(url);
  return (
    matchesTarget(pattern, method.toUpperCase(), originOf(parsed)) &&
    matchesPath(pattern, pathSegments(parsed.pathname))
  );
}

interface CompiledRule {
  readonly name: string;
  readonly keyHeader: KeyHeader | undefined;
  readonly match: string;
  readonly pattern: CompiledPattern;
  readonly policy: HostScopedPolicy;
}

/**
 * A policy, and the variant requests to hosts outside its `generateHeadersHosts` get (nothing
 * generated), both frozen once when the resolver is built so that resolving allocates nothing.
 */
interface HostScopedPolicy {
  readonly policy: Policy;
  /** Lower-case hosts `policy.generateHeaders` applies to; `null` when it applies everywhere. */
  readonly hosts: ReadonlySet<string> | null;
  readonly elsewhere: Policy;
}

function scopeByHost(policy: Policy): HostScopedPolicy {
  const { generateHeadersHosts: hosts, generateHeaders } = policy;
  if (hosts === null || generateHeaders.length === 0) return { policy, hosts: null, elsewhere: policy };
  return {
    policy,
    // As a request's URL has it: lower case, an internationalized name in its ASCII (punycode) form,
    // no trailing dot.
    hosts: new Set(hosts.map((host) => hostOf(new URL(`http://${host}/`)))),
    elsewhere: mergePolicy(policy, { generateHeaders: [] }),
  };
}

function policyFor(scoped: HostScopedPolicy, hostname: string): Policy {
  return scoped.hosts === null || scoped.hosts.has(hostname) ? scoped.policy : scoped.elsewhere;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Builds the resolver for an endpoint configuration, validating all of it first: unknown keys, each
 * rule's name (non-empty, unique, not `default`), pattern and policy. Each rule's policy is merged
 * over the configuration's default policy (itself merged over the built-in defaults) here, once, and
 * the frozen result is shared by every request to that rule.
 *
 * Rules are tried in declaration order and the first match wins, as in a route table: the outcome
 * never depends on how "specific" two patterns are judged to be, so reading the list top-down tells
 * which rule applies. Put narrow rules before broad ones. A request no rule matches gets the default
 * policy under the name `default`.
 *
 * The endpoint key is `${name} ${origin}` (normalised origin of the request URL), never the path or
 * query, so the number of keys, and of circuit breakers, is bounded by rules × origins.
 *
 * @throws ConfigError with the path of the first offending value, e.g. `endpoints[2].match`.
 */
export function createEndpointResolver(config: EndpointsConfig): EndpointResolver {
  const raw: unknown = config;
  if (!isPlainObject(raw)) {
    refuse('', `the endpoint configuration must be an object, got ${describeValue(raw)}`);
  }
  rejectUnknownKeys(raw, ['policy', 'endpoints'], '');
  validatePolicyInput(config.policy, 'policy');
  const defaultPolicy = mergePolicy(DEFAULT_POLICY, config.policy);
  validatePolicy(defaultPolicy, 'policy');

  const endpoints: unknown = config.endpoints ?? [];
  if (!Array.isArray(endpoints)) {
    refuse('endpoints', `must be an array of rules, got ${describeValue(endpoints)}`);
  }
  const seen = new Map<string, number>();
  const rules = endpoints.map((rule: unknown, i) => compileRule(rule, i, defaultPolicy, seen));

  const scopedDefault = scopeByHost(defaultPolicy);
  const listed = Object.freeze(
    rules.map(({ name, match, keyHeader }) =>
      Object.freeze(keyHeader ? { name, match, keyHeader: keyHeader.name } : { name, match }),
    ),
  );
  const match = cachedMatcher(rules, scopedDefault);
  return {
    rules: listed,
    resolve(method, url, headers) {
      const [resolved, keyHeader] = match(method, url);
      return keyHeader ? { ...resolved, key: `${resolved.key}${partitionOf(keyHeader, headers)}` } : resolved;
    },
  };
}

/**
 * What a request's method, origin and path resolve to, before any partition by a header: returned as
 * is when no header partitions the key (the same key string, whose hash is kept), and the header.
 */
type CachedMatch = readonly [ResolvedEndpoint, KeyHeader | undefined];

/** Method and origin pairs kept per resolver. */
const MAX_CACHED_TARGETS = 512;

/** The rules left to try for one method and origin, in order, each with the endpoint it resolves to. */
interface Target {
  readonly method: string;
  readonly protocol: string;
  readonly host: string;
  readonly candidates: readonly { readonly pattern: CompiledPattern; readonly found: CachedMatch }[];
  readonly fallback: CachedMatch;
}

/**
 * The rules and their policies never change for the life of a resolver, so neither does what a method
 * and an origin resolve to for each rule: that part is worked out once per method and origin (until
 * {@link MAX_CACHED_TARGETS} are kept, when the cache starts again empty), and only the path is matched
 * per request. Keyed by method and origin rather than by path, so that per-id paths
 * (`/v1/customers/123`) share one entry instead of filling the cache with one each. The URL matched
 * last is remembered whole (most traffic repeats it; a string URL is then not even parsed), and so is
 * the target used last (comparing three strings beats building a key).
 */
function cachedMatcher(
  rules: readonly CompiledRule[],
  fallback: HostScopedPolicy,
): (method: string, url: string | URL) => CachedMatch {
  const targets = new Map<string, Target>();
  let last: Target | undefined;
  let lastHref: string | undefined;
  let lastMethod: string | undefined;
  let lastFound: CachedMatch | undefined;
  const targetOf = (method: string, url: URL): Target => {
    const { protocol, host } = url;
    if (last?.method === method && last.host === host && last.protocol === protocol) return last;
    checkMethod(method);
    const id = `${method} ${protocol}//${host}`;
    let target = targets.get(id);
    if (!target) {
      target = compileTarget(rules, fallback, method, url);
      if (targets.size >= MAX_CACHED_TARGETS) targets.clear();
      targets.set(id, target);
    }
    last = target;
    return target;
  };
  return (method, url) => {
    const href = typeof url === 'string' ? url : url.href;
    if (href !== lastHref || method !== lastMethod || !lastFound) {
      const parsed = absoluteUrl(url);
      lastFound = matchPath(targetOf(method, parsed), parsed.pathname);
      lastHref = memoizableUrl(href) ? href : undefined;
      lastMethod = method;
    }
    return lastFound;
  };
}

function compileTarget(
  rules: readonly CompiledRule[],
  fallback: HostScopedPolicy,
  method: string,
  url: URL,
): Target {
  const upper = method.toUpperCase();
  const origin = originOf(url);
  const endpoint = (name: string, scoped: HostScopedPolicy, keyHeader?: KeyHeader): CachedMatch => [
    Object.freeze({ key: `${name} ${origin}`, name, policy: policyFor(scoped, hostOf(url)) }),
    keyHeader,
  ];
  return {
    method,
    protocol: url.protocol,
    host: url.host,
    candidates: rules
      .filter((rule) => matchesTarget(rule.pattern, upper, origin))
      .map((rule) => ({ pattern: rule.pattern, found: endpoint(rule.name, rule.policy, rule.keyHeader) })),
    fallback: endpoint(DEFAULT_NAME, fallback),
  };
}

function matchPath({ candidates, fallback }: Target, pathname: string): CachedMatch {
  const first = candidates[0];
  // A first rule that takes every path (`*` from the root) needs no look at the path.
  if (!first || (first.pattern.rest && first.pattern.segments.length === 0)) return first?.found ?? fallback;
  const segments = pathSegments(pathname);
  return candidates.find((candidate) => matchesPath(candidate.pattern, segments))?.found ?? fallback;
}

/**
 * Checks rule `index` of `endpoints` and compiles it: its pattern parsed, its policy merged over the
 * configuration's default. `seen` maps the names of the rules before it to their index.
 */
function compileRule(
  rule: unknown,
  index: number,
  defaultPolicy: Policy,
  seen: Map<string, number>,
): CompiledRule {
  const path = `endpoints[${index}]`;
  if (!isPlainObject(rule)) refuse(path, `must be an object, got ${describeValue(rule)}`);
  rejectUnknownKeys(rule, ['name', 'match', 'policy', 'keyHeader'], path);
  const { name, match } = rule;
  checkRuleName(name, joinPath(path, 'name'), seen);
  seen.set(name, index);
  const matchPath = joinPath(path, 'match');
  if (typeof match !== 'string') refuse(matchPath, `must be a string, got ${describeValue(match)}`);
  const pattern = parseMatch(match, matchPath);
  const policyPath = joinPath(path, 'policy');
  validatePolicyInput(rule.policy, policyPath);
  const policy = mergePolicy(defaultPolicy, rule.policy as PolicyInput | undefined);
  validatePolicy(policy, policyPath);
  return {
    name,
    match,
    pattern,
    policy: scopeByHost(policy),
    keyHeader: checkKeyHeader(rule.keyHeader, joinPath(path, 'keyHeader')),
  };
}

/**
 * A rule's name: a non-empty string without spaces or control characters (an endpoint key is
 * `<rule> <origin>`, read back by `isolate`, `reset` and telemetry), not the reserved `default`, not
 * the name of an earlier rule.
 */
function checkRuleName(name: unknown, path: string, seen: Map<string, number>): asserts name is string {
  if (typeof name !== 'string' || name.trim() === '') {
    refuse(path, `must be a non-empty string, got ${describeValue(name)}`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\s\u0000-\u001f\u007f]/.test(name)) {
    refuse(
      path,
      `must hold no spaces or control characters (keys are '<rule> <origin>'), got ${describeValue(name)}`,
    );
  }
  if (name === DEFAULT_NAME) {
    refuse(path, `'${DEFAULT_NAME}' is reserved for requests that no rule matches`);
  }
  const first = seen.get(name);
  if (first !== undefined) {
    refuse(path, `duplicate name '${name}' (also endpoints[${first}].name)`);
  }
}

/** A rule's partitioning header, and how its values enter a key. */
interface KeyHeader {
  /** Lower-case header name. */
  readonly name: string;
  /** For a credential header: the keyed hash that stands for its values. */
  readonly hash: ((value: string) => string) | undefined;
}

function checkKeyHeader(value: unknown, path: string): KeyHeader | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !isToken(value)) {
    refuse(path, `must be a header name (an RFC 9110 token), got ${describeValue(value)}`);
  }
  const name = value.toLowerCase();
  // APIs throttle per subscription key or token, so partitioning by one is a real need; its value is
  // then hashed (keyed, see keyed-hash.ts) and never reaches a key, an event or a message.
  if (!isSecretHeader(name)) return { name, hash: undefined };
  try {
    return { name, hash: secretValueHash() };
  } catch {
    refuse(
      path,
      `'${value}' carries credentials, whose values are hashed before they enter an endpoint key, and this platform has no crypto.getRandomValues`,
    );
  }
}

/**
 * The key suffix for a partitioning header: ` name=` when the request does not carry it; for a
 * credential header, ` name=hmac:` and 16 hex digits of a keyed hash; else ` name=value` for a short
 * plain value, or a hash of it (the key is logged and must stay short).
 */
function partitionOf(keyHeader: KeyHeader, headers: HeadersLike | undefined): string {
  const { name } = keyHeader;
  const value = headers?.get(name)?.trim() ?? '';
  if (value === '') return ` ${name}=`;
  if (keyHeader.hash !== undefined) return ` ${name}=hmac:${keyHeader.hash(value)}`;
  if (/^[\w.:@-]{1,64}$/.test(value)) return ` ${name}=${value}`;
  // FNV-1a: enough to tell partitions apart in a log without echoing an arbitrary value.
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return ` ${name}=#${hash.toString(16).padStart(8, '0')}`;
}
