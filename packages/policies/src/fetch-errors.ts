import type { ErrorKind } from './types.ts';

/**
 * Recognising what a rejected `fetch` means, across runtimes.
 *
 * Every runtime reports a lost connection differently: undici (Node's fetch) throws
 * `TypeError('fetch failed')` and puts the real reason, with a `code`, in `cause` (sometimes an
 * `AggregateError` when several addresses were tried); browsers throw a bare `TypeError` whose only
 * clue is its message; Bun sets `code` (or `name`) to strings such as `ConnectionRefused`; Deno throws
 * a `TypeError` whose message starts `error sending request for url` and whose cause may be an error
 * class such as `ConnectionReset`. Recognition is therefore data: the tables below, matched against
 * the error and every error in its `cause` / `errors` chain.
 *
 * Decisions:
 * - `timeout` means the attempt deadline ran out: an error named `TimeoutError` (what
 *   `AbortSignal.timeout()` and ky raise) or breakwater's own `BreakwaterTimeoutError`. undici's own connect / headers / body timeouts and
 *   `ETIMEDOUT` are socket-level failures, so they are `network`, with their code: the endpoint did not
 *   answer on the wire, which is what `retry.networkErrors` and `breaker.networkErrors` are about.
 * - undici's wrapper message `fetch failed` decides nothing on its own: undici also uses it for TLS
 *   certificate failures and redirect loops, which no retry fixes. Its cause decides.
 * - Anything not in the tables (an invalid URL, a bad header value, a bug) is `unknown` and is never
 *   retried: retrying a programming error only hides it.
 * - The `code` of an error that carries an HTTP status (`status`, `statusCode`, `response.status`) is
 *   not read: it is the server's payload code, whatever socket failure it names.
 */

/** What {@link recognizeError} found. `code` is the low-level code when the error carried one. */
export interface RecognizedError {
  readonly kind: ErrorKind;
  readonly code?: string;
}

/**
 * Low-level codes (`error.code`, and for Bun and Deno also `error.name`) that mean the connection
 * failed or was lost: worth another attempt on an idempotent request.
 */
export const NETWORK_ERROR_CODES: ReadonlySet<string> = new Set([
  // POSIX / libuv, as Node reports them in `cause.code`.
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ENETRESET',
  // undici: socket closed under us, and its connect / headers / body timeouts (socket-level).
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // Bun.
  'ConnectionRefused',
  'ConnectionClosed',
  'FailedToOpenSocket',
  // Deno error classes (`Deno.errors.*`), seen as `name` on the cause.
  'ConnectionReset',
  'ConnectionAborted',
  'NotConnected',
  'BrokenPipe',
  'TimedOut',
]);

/**
 * Messages of errors that carry no code, mostly browsers' `TypeError`s. Matched against the message
 * with surrounding whitespace removed; never copied into a verdict (Deno's includes the URL).
 */
export const NETWORK_ERROR_MESSAGES: readonly RegExp[] = [
  /^Failed to fetch$/i, // Chrome, Edge
  /^NetworkError when attempting to fetch resource\.?$/i, // Firefox
  /^Load failed$/i, // Safari 17+
  /^The network connection was lost\.?$/i, // Safari
  /^The Internet connection appears to be offline\.?$/i, // Safari 16
  /^Could not connect to the server\.?$/i, // Safari
  /^Network request failed$/i, // React Native, whatwg-fetch
  /^terminated$/i, // undici: the body read lost its socket
  // Deno: `for url (<url>)`; since 2.x also `from <local address> for <url> (<address>)`, a connection
  // closed before any response (a dropped keep-alive socket, a restarting upstream).
  /^error sending request (?:from \S+ )?for\b/i,
  /^connection error\b/i, // Deno (hyper)
  /^error reading a body from connection\b/i, // Deno
  // Deno 2.x: a bare OS error as the cause of `fetch failed` (a reset before the response), with no code
  // or error class, as Rust's io::Error shows ECONNRESET, ECONNREFUSED, ETIMEDOUT and EPIPE.
  /^(?:connection (?:reset|refused|timed out)|broken pipe)\b.*\(os error \d+\)$/i,
];

/**
 * The message of a connection refused for a reason no retry changes, a TLS certificate the runtime does
 * not trust: `unknown`, though Deno words them as its connection failures (`error sending request for
 * url (...): client error (Connect): invalid peer certificate: UnknownIssuer`), which three retries
 * and their backoff only delayed. undici and Bun give a code (`DEPTH_ZERO_SELF_SIGNED_CERT`) instead.
 */
const NOT_NETWORK_ERROR_MESSAGE = /\binvalid peer certificate\b/i;

/** Error names that decide the kind whatever else the error says. */
const KIND_BY_NAME: ReadonlyMap<string, ErrorKind> = new Map([
  ['AbortError', 'abort'],
  ['TimeoutError', 'timeout'],
  // breakwater's own attempt timeout, which the retry loop classifies like AbortSignal.timeout()'s.
  ['BreakwaterTimeoutError', 'timeout'],
]);

/** Bounds the walk through `cause` / `errors`, which user code may make cyclic or huge. */
const MAX_NODES = 32;

/** A code worth reporting: short and code-shaped, so no message text or URL can leak through it. */
const CODE_SHAPE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * Says what kind of failure a value thrown by `fetch` is: `network` (connection refused, reset, DNS,
 * socket lost, socket-level timeouts), `timeout` (an error named `TimeoutError`), `abort` (an error
 * named `AbortError`), or `unknown` (anything else, never retried).
 *
 * The error and its `cause` / `AggregateError#errors` chain are read, outermost first; the first error
 * that tells something decides. `code` is the first recognised network code in the chain or, failing
 * that, any code-shaped `code` (useful to diagnose an `unknown`, e.g. `CERT_HAS_EXPIRED`). Never throws.
 */
export function recognizeError(error: unknown): RecognizedError {
  const nodes = flatten(error);
  let kind: ErrorKind = 'unknown';
  for (const node of nodes) {
    const decided = decide(node);
    if (decided !== undefined) {
      kind = decided;
      break;
    }
  }
  if (kind === 'abort' || kind === 'timeout') return { kind };
  const code = firstCode(nodes, kind === 'network');
  return code === undefined ? { kind } : { kind, code };
}

interface ErrorNode {
  readonly name: string | undefined;
  readonly code: string | undefined;
  readonly message: string | undefined;
}

function decide(node: ErrorNode): ErrorKind | undefined {
  const byName = node.name === undefined ? undefined : KIND_BY_NAME.get(node.name);
  if (byName !== undefined) return byName;
  if (node.code !== undefined && NETWORK_ERROR_CODES.has(node.code)) return 'network';
  if (node.name !== undefined && NETWORK_ERROR_CODES.has(node.name)) return 'network';
  const message = node.message?.trim();
  if (message === undefined) return undefined;
  if (NOT_NETWORK_ERROR_MESSAGE.test(message)) return 'unknown';
  if (NETWORK_ERROR_MESSAGES.some((pattern) => pattern.test(message))) return 'network';
  return undefined;
}

function firstCode(nodes: readonly ErrorNode[], network: boolean): string | undefined {
  if (network) {
    for (const node of nodes) {
      if (node.code !== undefined && NETWORK_ERROR_CODES.has(node.code)) return node.code;
      if (node.name !== undefined && NETWORK_ERROR_CODES.has(node.name)) return node.name;
    }
  }
  for (const node of nodes) {
    if (node.code !== undefined && CODE_SHAPE.test(node.code)) return node.code;
  }
  return undefined;
}

/** Breadth-first over `cause` and `errors`, outermost first, each object once. */
function flatten(error: unknown): ErrorNode[] {
  const nodes: ErrorNode[] = [];
  const seen = new Set<object>();
  const queue: unknown[] = [error];
  while (queue.length > 0 && nodes.length < MAX_NODES) {
    const value = queue.shift();
    if (value === null || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    nodes.push({
      name: stringProperty(value, 'name'),
      // An error carrying an HTTP status (an HttpError thrown by a wrapped wrapFetch, an SDK's) has the
      // server's payload code there: `{"code":"ECONNRESET"}` in a 400 made it a retried network failure.
      code: answered(value) ? undefined : stringProperty(value, 'code'),
      message: stringProperty(value, 'message'),
    });
    queue.push(readProperty(value, 'cause'));
    const errors = readProperty(value, 'errors');
    if (Array.isArray(errors)) queue.push(...errors.slice(0, MAX_NODES));
  }
  return nodes;
}

/** True for an error that carries an HTTP status, on itself or on its `response` (ky's HTTPError). */
function answered(value: object): boolean {
  const response: object = Object(readProperty(value, 'response'));
  return [
    readProperty(value, 'status'),
    readProperty(value, 'statusCode'),
    readProperty(response, 'status'),
  ].some((status) => typeof status === 'number');
}

function stringProperty(value: object, key: string): string | undefined {
  const property = readProperty(value, key);
  return typeof property === 'string' ? property : undefined;
}

/** Reads a property without letting a throwing getter or proxy escape: recognition must never throw. */
function readProperty(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}
