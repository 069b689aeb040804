/**
 * Types shared by the fetch pipelines, the breakers for calls that are not fetch calls and the
 * adapters. A module of its own, so that none of them imports another just for a type.
 */

/**
 * Any function with fetch's call signature. The input is spelled `string | URL | Request` (lib dom's
 * `RequestInfo | URL`), names that Node's types declare too: a project without lib dom has no
 * `RequestInfo`, and the type would fall to `any`.
 */
export type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * A response as breakwater reads one (status, headers, URL, body): the global `Response`, or the class
 * of a fetch typed with its own (npm undici's, node-fetch's).
 */
export interface ResponseLike {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
  /**
   * The body as a stream (a web `ReadableStream`, or a Node `Readable` for node-fetch), which
   * `HttpError.from` and `readErrorPayload` read at most 64 KiB of. Absent or null: nothing to read.
   */
  readonly body?: unknown;
  /** The body was read already: `HttpError.from` then reads nothing. Default false. */
  readonly bodyUsed?: boolean;
}

/**
 * Any fetch `wrapFetch` takes: called with the caller's input (a URL string, at least) and an init
 * carrying breakwater's `signal`, it resolves to a response. Besides {@link FetchLike} (the global
 * fetch, Bun's, Deno's), a fetch typed with its own `Request`, init and `Response` classes: npm
 * undici's (whose `Request` is not the global one), node-fetch's.
 */
export type AnyFetch = (input: string, init?: { signal?: AbortSignal }) => Promise<ResponseLike>;

/** The breaker part of a `breakers()` snapshot. */
export interface BreakerState {
  /**
   * `closed` also when the endpoint's breaker is disabled (see `enabled`). `isolated`: held open by
   * hand (`fetch.isolate(key)`) until `fetch.reset(key)`, with no probe.
   */
  readonly state: 'closed' | 'open' | 'half-open' | 'isolated';
  readonly enabled: boolean;
  /** Failures among the calls of the breaker's window. */
  readonly failures: number;
  /** Calls counted in the breaker's window (successes and failures; ignored outcomes are not counted). */
  readonly calls: number;
  /** failures / calls, 0 when there were no calls. */
  readonly failureRatio: number;
  /** Slow calls among the calls of the breaker's window (`breaker.slowCallMs`; 0 while it is off). */
  readonly slowCalls: number;
  readonly consecutiveFailures: number;
  /**
   * Epoch ms when the breaker last opened (or was isolated), or null while it has not opened since it
   * last closed.
   */
  readonly openedAt: number | null;
  /** Epoch ms when the next probe may go through, while open; null otherwise. */
  readonly nextProbeAt: number | null;
}

/**
 * Where an endpoint's throttle gate stands: `open` (no limit), `closed` (a server delay holds every
 * call), `probing` (after a 429's cool-down, one call is out alone and the others wait for its
 * answer), `paced` (every send takes a slot of the adaptive rate, which rises while the upstream
 * accepts).
 */
export type ThrottlePhase = 'open' | 'closed' | 'probing' | 'paced';

/** What `fetch.breakers()` reports for one endpoint key. */
export interface BreakerSnapshot extends BreakerState {
  /** Rule name plus origin (plus the `keyHeader` value, for a partitioned rule). */
  readonly key: string;
  /** Calls of this endpoint in progress. */
  readonly inFlight: number;
  /** Epoch ms until which the throttle gate holds every call, or null while it is open. */
  readonly throttledUntil: number | null;
  /** Calls waiting at the throttle gate. */
  readonly waiting: number;
  /**
   * The adaptive rate the key's sends are paced at, in calls/s; null while there is no limit (never
   * throttled, `throttle.adaptive` off, or quiet for `throttle.quietMs`).
   */
  readonly rateLimit: number | null;
  /** Where the key's throttle gate stands: see {@link ThrottlePhase}. */
  readonly throttlePhase: ThrottlePhase;
  /** Retries the endpoint's retry budget still allows in its window; null when the budget is off. */
  readonly retryBudgetLeft: number | null;
  /**
   * `shared` while the key's gate closures and half-open probe are shared with other instances through
   * the `store` option's store (and it is up); `local` with the in-memory store or while it is down.
   */
  readonly sharing: 'shared' | 'local';
}
