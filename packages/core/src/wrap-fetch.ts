import {
  boolean,
  type Check,
  createEndpointResolver,
  describeValue,
  type EndpointResolver,
  type EndpointRule,
  func,
  type HeadersLike,
  integerAtLeast,
  type PolicyInput,
  refuse,
  type Shape,
} from '@breakwater/policies';
import { AttemptClock } from './attempt-clock.ts';
import { discardBody, readWithin } from './body-reads.ts';
import { type BreakwaterEvent, emitter } from './events.ts';
import { HttpError, httpErrorFrom } from './http-error.ts';
import { type ManualControl, manualControl } from './manual-control.ts';
import { checkOptions, ENDPOINT_OPTIONS, storeCheck, telemetryCheck } from './options.ts';
import { type CallEnd, EndpointPipeline } from './pipeline.ts';
import { randomUuid } from './random-id.ts';
import { DEFAULT_MAX_ENDPOINTS, EndpointRegistry } from './registry.ts';
import { DEFAULT_MAX_BUFFER_BYTES, intake, type PreparedRequest } from './replay.ts';
import { type BreakwaterStore, MEMORY_STORE, type StoreListener } from './store.ts';
import { publish } from './telemetry/diagnostics.ts';
import type { Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
import type { AnyFetch, BreakerSnapshot, FetchLike } from './types.ts';

/** Options of {@link wrapFetch}. Validated when `wrapFetch` is called, never at the first request. */
export interface WrapFetchOptions {
  /** The policy of every endpoint, merged over the built-in defaults (`DEFAULT_POLICY`). Default: the defaults. */
  readonly policy?: PolicyInput | undefined;
  /** Per-endpoint rules, tried in order; the first match wins. Default: none. */
  readonly endpoints?: readonly EndpointRule[] | undefined;
  /**
   * `false` (default): fetch semantics, every HTTP status resolves with the final Response.
   * `true`: a final non-2xx response rejects with {@link HttpError}.
   */
  readonly throwHttpErrors?: boolean | undefined;
  /**
   * Receives every event (attempt, retry, give-up, break, half-open, reset, isolate, reject, timeout,
   * throttled, gate-open, rate-change, resume, hedge, store-down, store-up). Default: none.
   */
  readonly onEvent?: ((event: BreakwaterEvent) => void) | undefined;
  /**
   * Idle endpoint keys kept, past which the least recently used are dropped: closed breakers, and open
   * ones nobody called for `maxHalfOpenAfterMs` after their probe came due. Keys that must not be
   * forgotten (a call in progress, a breaker open or isolated, a closed gate) are kept beside them.
   * Default 1000.
   */
  readonly maxEndpoints?: number | undefined;
  /**
   * Largest stream body (a ReadableStream, a Node Readable or other async iterable, a Request input's
   * body) kept in memory while it is sent, so that the call can be retried, in bytes. A larger body is
   * sent once, complete, and not retried. Default 1 MiB.
   */
  readonly maxBufferBytes?: number | undefined;
  /**
   * Base URL against which a relative request URL is resolved to choose its endpoint (rule, breaker,
   * events), for a wrapped fetch that prefixes its own base URL. The wrapped fetch still receives the
   * URL as the caller gave it. Default: undici's global origin (`setGlobalOrigin()`), else
   * `globalThis.location`; a relative URL with no base at all goes to the wrapped fetch once, as
   * given, without retries or breaker, and gets whatever answer or error that fetch gives. Refused
   * with `user:password@`; a query or fragment in it plays no part (matching ignores them). Resolved as
   * `new URL(input, baseUrl)` does (a path with a leading `/` drops the base's whole path, a base
   * without a trailing `/` its last segment): for a fetch that joins base and path (ofetch, axios), end the base with
   * `/` and write paths without a leading one, or the call may get another rule than the one meant.
   */
  readonly baseUrl?: string | URL | undefined;
  /** Random source in [0, 1) for backoff jitter. Default Math.random; inject one for reproducible tests. */
  readonly random?: (() => number) | undefined;
  /**
   * OpenTelemetry traces and metrics: `openTelemetry()` from `@breakwater/core/telemetry` (which needs
   * the optional peer `@opentelemetry/api`). Default: none, and nothing of OpenTelemetry is loaded.
   * Events are published on `diagnostics_channel` (`breakwater:<type>`) either way, where Node has it.
   */
  readonly telemetry?: Telemetry | undefined;
  /**
   * Where the endpoints' gate closures and half-open probes are shared with the other instances of a
   * fleet: `redisStore()` from `@breakwater/redis`. Default: the in-memory store, this process alone
   * (nothing shared, nothing paid). A store that is down or slow never fails or delays a call: the
   * endpoints use their local state, with `store-down` / `store-up` events.
   */
  readonly store?: BreakwaterStore | undefined;
}

/**
 * The init a fetch takes: Bun's with `unix`, `proxy` and `tls`, Deno's with `client`, read from its
 * call signatures (every one of up to three overloads: Deno declares its `client` on the second).
 * `RequestInit` for a fetch that declares no init, or an `any` or `unknown` one (a test double
 * `(input) => ...`, a mock).
 */
export type InitOf<F> = F extends {
  (input: never, init?: infer A): unknown;
  (input: never, init?: infer B): unknown;
  (input: never, init?: infer C): unknown;
}
  ? unknown extends A | B | C
    ? RequestInit
    : A | B | C
  : RequestInit;

/**
 * The calls of a wrapped `F`. A fetch that takes the global `Request` ({@link FetchLike}: the global
 * fetch, Bun's, Deno's) is called with `string | URL | Request` and `F`'s init, and resolves to a
 * `Response`. Any other (npm undici's, node-fetch's) keeps its own types: its input, its init (undici's
 * `dispatcher`), and its `Response` class, which is what the wrapped fetch hands back.
 */
export type WrappedCalls<F extends AnyFetch> = F extends FetchLike
  ? {
      // `RequestInit` first: where `F` is a type parameter, `InitOf<F>` is not known yet and takes
      // nothing, and generic code that wraps a fetch calls it with a RequestInit as it always could.
      (input: string | URL | Request, init?: RequestInit): Promise<Response>;
      (input: string | URL | Request, init?: InitOf<F>): Promise<Response>;
    }
  : // `AnyFetch` itself, as `ReturnType<typeof wrapFetch>` instantiates `F`: the standard calls, as before.
    AnyFetch extends F
    ? WrappedCalls<FetchLike>
    : (input: Parameters<F>[0], init?: InitOf<F>) => Promise<Awaited<ReturnType<F>>>;

/** The members a wrapped fetch has besides its calls: the breakers' view and their manual control. */
export interface WrappedMembers extends ManualControl {
  /** A snapshot of every live endpoint's breaker (and of every key isolated before its first call). */
  breakers(): BreakerSnapshot[];
}

/**
 * What {@link wrapFetch} returns: the given fetch's call signature (see {@link WrappedCalls}) plus a
 * view of the breakers and their manual control (`isolate`, `reset`). Default `F`: a fetch taking
 * `RequestInit`. A type, not an interface (its calls depend on `F`): generic code that adds to it
 * writes `WrappedFetch<F> & { … }`, or extends {@link WrappedMembers}.
 */
export type WrappedFetch<F extends AnyFetch = FetchLike> = WrappedCalls<F> & WrappedMembers;

/** An absolute http(s) URL without userinfo (it would reach every request), as a string or a URL. */
const httpUrl: Check = (value, path) => {
  const href = value instanceof URL ? value.href : value;
  if (typeof href !== 'string' || !URL.canParse(href)) {
    // A malformed URL with an `@` may hold a password: not shown; nor its query and fragment (`?key=`).
    const got =
      typeof href !== 'string'
        ? describeValue(value)
        : href.includes('@')
          ? "a string with '@'"
          : describeValue(href.replace(/[?#].*/s, '?…'));
    refuse(path, `must be an absolute URL, got ${got}`);
  }
  const { protocol, username, password } = new URL(href);
  if (protocol !== 'http:' && protocol !== 'https:') {
    refuse(path, `must be an http: or https: URL, got ${protocol}`);
  }
  // Every relative URL resolved against it would carry them, and fetch refuses such a URL.
  if (username || password) refuse(path, 'must not carry user:password');
};

/** The options of {@link wrapFetch}, each with its check; `breakwaterKy` extends it. */
export const WRAP_FETCH_OPTIONS: Shape = {
  ...ENDPOINT_OPTIONS,
  throwHttpErrors: boolean,
  maxBufferBytes: integerAtLeast(0),
  baseUrl: httpUrl,
  random: func,
  telemetry: telemetryCheck,
  store: storeCheck,
};

/**
 * Each wrapped fetch's store listener, alive as long as its endpoints (the wrapped fetch and its
 * manual control hold them): the store holds it weakly.
 */
const listeners = new WeakMap<object, StoreListener>();

/**
 * Wraps any fetch-compatible function (global fetch, undici's, a ky instance's, a test double) so that
 * every call retries what is worth retrying, fails fast on client errors, and stops calling an endpoint
 * whose breaker is open — per endpoint, as the options configure.
 *
 * The wrapped fetch takes the init `fetch` takes (Bun's `unix`, Deno's `client`: see {@link InitOf}),
 * and hands every attempt the caller's init members, those breakwater does not know included.
 *
 * Bun's `fetch.preconnect` (a hint that opens a connection, with no request) stays on the wrapped
 * fetch, the given fetch's own, so the result is still Bun's `typeof fetch`; a fetch without one gets none.
 *
 * A fetch typed with its own classes (npm undici's, node-fetch's) is wrapped as it is, with no cast:
 * the wrapped fetch takes its input and init (undici's `dispatcher`) and resolves to its `Response`.
 *
 * @throws ConfigError when the options are invalid, naming the offending path.
 */
export function wrapFetch<F extends AnyFetch = FetchLike>(
  // `| FetchLike`: a function written inline has its parameters typed as the standard fetch's.
  given: F | FetchLike,
  options: WrapFetchOptions = {},
): WrappedFetch<F> & Pick<F, 'preconnect' & keyof F> {
  // Called with the caller's own input and init (F's types), whatever classes F declares them with.
  const fetch = given as unknown as FetchLike;
  if (typeof fetch !== 'function') {
    throw new TypeError(
      `breakwater: wrapFetch: the first argument must be a fetch function, got ${describeValue(fetch)}`,
    );
  }
  checkOptions(options, WRAP_FETCH_OPTIONS);
  const resolver: EndpointResolver = createEndpointResolver({
    ...(options.policy !== undefined ? { policy: options.policy } : {}),
    ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
  });
  // Held by the wrapped fetch (as `breakers`), so that telemetry's weak hold on it ends with it.
  const breakers = (): BreakerSnapshot[] => registry.snapshots();
  const telemetry = options.telemetry?.bind(breakers);
  const onEvent = emitter(options.onEvent);
  const emit = (event: BreakwaterEvent): void => {
    onEvent(event);
    publish(event);
    if (telemetry) tellEvent(telemetry, event);
  };
  const store = options.store ?? MEMORY_STORE;
  const deps = {
    fetch,
    emit,
    listening: options.onEvent !== undefined,
    random: options.random ?? Math.random,
    store,
    clock: new AttemptClock(),
    current: (key: string, policy: EndpointPipeline['policy']): EndpointPipeline => registry.get(key, policy),
  };
  const registry = new EndpointRegistry(
    options.maxEndpoints ?? DEFAULT_MAX_ENDPOINTS,
    (key, policy) => new EndpointPipeline(key, policy, deps),
  );
  const listener: StoreListener = {
    closed: (key, ms, strict, cut, cuts) => registry.find(key)?.heard(ms, strict, cut, cuts),
    probeClosed: (key) => registry.find(key)?.breaker.closedByFleet(),
    // A store-up carries no `cause` key at all (not one holding undefined, printed in log lines).
    status: (up, cause) =>
      emit(
        up
          ? { type: 'store-up', key: '', at: Date.now() }
          : { type: 'store-down', key: '', at: Date.now(), cause },
      ),
  };
  store.attach(listener);
  listeners.set(registry, listener);
  const throwHttpErrors = options.throwHttpErrors ?? false;

  const { maxBufferBytes = DEFAULT_MAX_BUFFER_BYTES } = options;
  const baseUrl = options.baseUrl instanceof URL ? options.baseUrl.href : options.baseUrl;
  const wrapped = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    // What breakwater cannot judge (not http(s), no base for a relative URL, a signal fetch refuses)
    // is the wrapped fetch's to answer, once: retrying its error would only repeat it.
    const taken = intake(input, init, maxBufferBytes, baseUrl);
    if (typeof taken === 'string') return fetch(input, init);
    const request = taken instanceof Promise ? await taken : taken;
    const { callerSignal } = request;
    try {
      const { key, policy } = resolver.resolve(
        request.method,
        request.target ?? request.url,
        new HeadersOnRead(request),
      );
      if (policy.generateHeaders.length > 0) generateHeaders(request, policy.generateHeaders);
      const pipeline = registry.get(key, policy);
      let end: CallEnd;
      pipeline.started();
      // Asked once per call: with nothing to record (no SDK), the call takes no hook.
      const observed = telemetry && observing(telemetry) ? telemetry : undefined;
      const startedAt = observed ? performance.now() : 0;
      try {
        end = await pipeline.execute(request, callerSignal, observed);
      } catch (error) {
        if (observed) callEnded(observed, key, request, startedAt, undefined, error);
        throw error;
      } finally {
        pipeline.ended();
      }
      if (observed) callEnded(observed, key, request, startedAt, end);
      if (!throwHttpErrors) return handBack(end);
      return await asHttpError(end, request, key, callerSignal);
    } catch (error) {
      // A stream body nothing will read any more (the call was refused, aborted or failed) must not
      // stay locked with its source open.
      request.release(error);
      throw error;
    }
  };
  const members = { breakers, ...manualControl(registry, resolver, emit), ...preconnectOf(fetch) };
  return Object.assign(wrapped, members) as unknown as WrappedFetch<F> & Pick<F, 'preconnect' & keyof F>;
}

/** The given fetch's `preconnect` (Bun's), called on that fetch as `fetch.preconnect(url)` would be. */
export function preconnectOf(fetch: FetchLike): { preconnect?: unknown } {
  const { preconnect } = fetch as { preconnect?: unknown };
  return typeof preconnect === 'function' ? { preconnect: preconnect.bind(fetch) } : {};
}

/**
 * A request's headers as the resolver sees them: a rule with `keyHeader` reads them, and so copies
 * them ({@link PreparedRequest.headers}); for any other rule they stay uncopied.
 */
class HeadersOnRead implements HeadersLike {
  readonly #request: PreparedRequest;

  constructor(request: PreparedRequest) {
    this.#request = request;
  }

  get(name: string): string | null {
    return this.#request.headers.get(name);
  }

  has(name: string): boolean {
    return this.#request.headers.has(name);
  }
}

/** Whether a call is observed: unless the hooks say nothing records (a hook that throws says nothing). */
function observing(telemetry: TelemetryHooks): boolean {
  try {
    return telemetry.active?.() !== false;
  } catch {
    // Telemetry never changes a call: a hook's failure leaves it observed, as before `active` existed.
    return true;
  }
}

/** Tells the hooks a call ended (see {@link TelemetryHooks.callEnded}); a hook that throws changes nothing. */
function callEnded(hooks: TelemetryHooks, ...ended: Parameters<TelemetryHooks['callEnded']>): void {
  try {
    hooks.callEnded(...ended);
  } catch {
    // Telemetry never changes a call (review s25: a custom hook's throw replaced the Response, whose
    // body then stayed uncancelled, or the caller's own error).
  }
}

/** Hands an event to the hooks (see {@link TelemetryHooks.event}); a hook that throws changes nothing. */
function tellEvent(hooks: TelemetryHooks, event: BreakwaterEvent): void {
  try {
    hooks.event(event);
  } catch {
    // Telemetry never changes a call: the event's throw ended the step that reported it.
  }
}

/** Generated once per call, so that every attempt carries the same value (an idempotency key must). */
function generateHeaders(request: PreparedRequest, names: readonly string[]): void {
  for (const name of names) {
    if (!request.headers.has(name)) request.setHeader(name, randomUuid());
  }
}

/** Hands a call's end back as fetch would: the Response, or the error thrown. */
function handBack({ result }: CallEnd): Response {
  if (!result.response) throw result.error;
  return result.response;
}

/**
 * Hands a call's end back with `throwHttpErrors`: a non-2xx Response rejects with an HttpError, whose
 * body read ends with the attempt's timeout, the call's deadline or the caller's abort: an error body
 * that stalls gives an HttpError without payload, on time.
 */
async function asHttpError(
  end: CallEnd,
  request: PreparedRequest,
  endpoint: string,
  callerSignal: AbortSignal | undefined,
): Promise<Response> {
  const response = handBack(end);
  if (response.ok) return response;
  const { readBy, verdict } = end.result;
  try {
    const error = await readWithin(readBy, callerSignal, (signal) =>
      httpErrorFrom(
        response,
        {
          method: request.method,
          // After redirects, the URL that answered with the error: the one worth debugging.
          url: response.redirected ? response.url : request.url.href,
          attempts: end.attempts,
          endpoint,
          requestHeaders: request.headers,
          signal,
          ...(verdict.delayMs !== undefined ? { retryAfterMs: verdict.delayMs } : {}),
        },
        // Its query secrets too, which the server may echo after sending it elsewhere.
        request.url.href,
      ),
    );
    callerSignal?.throwIfAborted();
    throw error;
  } finally {
    // The HttpError read what it keeps; what is left of the body goes.
    discardBody(response);
  }
}
