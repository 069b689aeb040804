/**
 * What a header name says about its value: whether it may carry a credential, and whether fetch keeps
 * it to itself. Names only: no value is ever inspected here.
 */

/**
 * Name parts that say a header may carry a credential. `auth` covers `Authorization`,
 * `Proxy-Authorization`, `x-authorization`, `x-forwarded-authorization`, `x-auth`, `x-ms-authorization*`
 * and more: a proxy or gateway names its copy of a token freely. A false positive (`X-Author-Id`) costs
 * a hash keyed per process, so that key is not shared across a fleet: the price of no token in a key.
 */
const SECRET_PARTS = [
  'auth',
  'cookie',
  'dpop',
  'token',
  'secret',
  'key',
  'password',
  'credential',
  'signature',
  'session',
];
/** Key-named headers that identify a request rather than authorise it, and are needed to trace retries. */
const NOT_SECRET = new Set(['idempotency-key', 'x-idempotency-key']);

/**
 * True when a header of this name may carry a credential: any name containing `auth` (`Authorization`,
 * `Proxy-Authorization`, `x-authorization`, `x-auth-*`, `WWW-Authenticate` too), `cookie` (`Cookie`,
 * `Set-Cookie`), `dpop`, `token`, `secret`, `key` (so `api-key`, `x-api-key`,
 * `Ocp-Apim-Subscription-Key`), `password`, `credential`, `signature` or `session`. `Idempotency-Key` is
 * kept: it names a request, it grants nothing, and it is what ties retries together in a log.
 */
export function isSecretHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return !NOT_SECRET.has(lower) && SECRET_PARTS.some((part) => lower.includes(part));
}

/**
 * The Fetch Standard's forbidden request-header names: a browser's fetch drops them or sets them
 * itself (and undici manages several of them too). The method-override names are forbidden there
 * only for some values; a generated UUID is never a meaningful value for them either.
 */
const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset',
  'accept-encoding',
  'access-control-request-headers',
  'access-control-request-method',
  'access-control-request-private-network',
  'connection',
  'content-length',
  'cookie',
  'cookie2',
  'date',
  'dnt',
  'expect',
  'host',
  'keep-alive',
  'origin',
  'referer',
  'set-cookie',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'via',
  'x-http-method',
  'x-http-method-override',
  'x-method-override',
]);

/** True for a header fetch sets or refuses itself (the Fetch Standard's forbidden request headers). */
export function isFetchManagedHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return FORBIDDEN_REQUEST_HEADERS.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-');
}
