/**
 * The shapes shared by every rule in this package. Everything here is plain data (JSON-serialisable)
 * so that a policy can live in a configuration file and be logged as it is.
 */
import type { BACKOFF_KINDS } from './backoff.ts';

/** The part of `Headers` the rules read. `Headers` itself satisfies it. */
export interface HeadersLike {
  get(name: string): string | null;
  has(name: string): boolean;
}

/** What one attempt produced: a response (any status) or a thrown error. */
export type Outcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers: HeadersLike }
  | { readonly kind: 'error'; readonly error: unknown };

/** The request an outcome belongs to, as far as the rules care. */
export interface RequestFacts {
  /** Upper-case HTTP method. */
  readonly method: string;
  readonly headers: HeadersLike;
}

/** Facts about the call that the outcome alone does not tell. */
export interface ClassifyContext {
  /** Current time in ms since the epoch, for HTTP-date Retry-After values. */
  readonly now: number;
  /** True when the caller's own AbortSignal has fired: such an outcome is never retried. */
  readonly callerAborted?: boolean;
}

/** Why a verdict was reached. Stable strings: they appear in events and errors. */
export type VerdictReason =
  | 'success'
  | 'client-error'
  | 'server-error'
  | 'permanent'
  | 'transient-status'
  | 'throttled'
  | 'network-error'
  | 'timeout'
  | 'aborted'
  | 'unknown-error'
  | 'not-idempotent'
  | 'retry-after-exceeds-cap';

/** What to do with an outcome. */
export interface Verdict {
  /** `retry`: worth another attempt (subject to attempts left, deadline, budget). `return`: hand it back. */
  readonly action: 'return' | 'retry';
  /** How the endpoint's circuit breaker counts it. `ignore` counts neither way. */
  readonly breaker: 'success' | 'failure' | 'ignore';
  readonly reason: VerdictReason;
  /**
   * The server-directed delay in ms (Retry-After and friends), when the response carried one.
   * It replaces the backoff. Set also when the reason is `retry-after-exceeds-cap`, so callers can see it.
   */
  readonly delayMs?: number;
  /**
   * True for a 429 without a delay header, or with a delay of 0 (`Retry-After: 0`, a past date): the
   * throttling backoff (larger base) applies.
   */
  readonly throttled?: boolean;
  /** For errors: the recognised kind and, where known, the low-level code (ECONNRESET, ...). */
  readonly errorKind?: ErrorKind;
  readonly errorCode?: string;
}

/** How a thrown error from fetch is recognised across runtimes. */
export type ErrorKind = 'network' | 'timeout' | 'abort' | 'unknown';

/** Backoff shapes: `'decorrelated-jitter'`, `'full-jitter'` or `'none'` (see `backoffDelay`). */
export type BackoffKind = (typeof BACKOFF_KINDS)[number];

/** Backoff between attempts when the server gave no delay. */
export interface BackoffPolicy {
  /**
   * The shape of the waits: `'decorrelated-jitter'` (each wait random between the base and three times
   * the previous one), `'full-jitter'` (random up to the exponential delay) or `'none'` (exactly the
   * exponential delay).
   * @default 'decorrelated-jitter'
   */
  readonly kind: BackoffKind;
  /**
   * Base delay in ms for the first retry: `maxDelayMs` instead when a policy sets a smaller
   * `maxDelayMs` and not this. At most `maxDelayMs`.
   * @default 200
   */
  readonly initialDelayMs: number;
  /**
   * Growth factor per retry.
   * @default 2
   */
  readonly multiplier: number;
  /**
   * Upper bound of any single wait in ms; raised to the larger first delay when a policy sets
   * `initialDelayMs` or `throttleInitialDelayMs` above it and the cap was set nowhere.
   * @default 30_000
   */
  readonly maxDelayMs: number;
  /**
   * Base delay in ms for a 429 that carried no delay header: `maxDelayMs` instead when a policy sets a
   * smaller `maxDelayMs` and not this. At most `maxDelayMs`.
   * @default 1_000
   */
  readonly throttleInitialDelayMs: number;
}

/** When and how to retry. */
export interface RetryPolicy {
  /**
   * Attempts per call, the first included. `1` turns retries off.
   * @default 4
   */
  readonly maxAttempts: number;
  /** Waits between attempts when the server gave no delay. */
  readonly backoff: BackoffPolicy;
  /**
   * A server delay above this (ms) is not waited for: the call returns at once with the delay exposed
   * (reason `retry-after-exceeds-cap`).
   * @default 60_000
   */
  readonly maxRetryAfterMs: number;
  /**
   * Statuses worth another attempt. A 2xx is refused (a success).
   * @default [408, 429, 502, 503, 504]
   */
  readonly statuses: readonly number[];
  /**
   * Retry network errors (reset, refused, DNS, socket).
   * @default true
   */
  readonly networkErrors: boolean;
  /**
   * Retry attempt timeouts.
   * @default true
   */
  readonly timeouts: boolean;
  /**
   * Methods that are safe to repeat. Registered methods in any case, custom ones in upper case; a typo
   * of a registered method (`PTU`) is refused.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
   */
  readonly idempotentMethods: readonly string[];
  /**
   * A request carrying any of these headers is idempotent whatever its method.
   * @default ['Idempotency-Key', 'MS-RequestId']
   */
  readonly idempotencyKeyHeaders: readonly string[];
  /**
   * The endpoint opts every method into retries (for a POST the server deduplicates, say).
   * @default false
   */
  readonly idempotent: boolean;
  /**
   * Statuses retried for any method, idempotent or not (e.g. `[429]`: the server did not process the
   * request). Empty by default: a POST without an idempotency key is sent exactly once, whatever the
   * failure. A 2xx is refused.
   * @default []
   */
  readonly retryAnyMethodStatuses: readonly number[];
}

/** When the endpoint's circuit breaker opens and how it recovers. */
export interface BreakerPolicy {
  /**
   * `false` turns the endpoint's breaker off: every call is attempted.
   * @default true
   */
  readonly enabled: boolean;
  /**
   * Statuses that count as breaker failures.
   * @default [500, 502, 503, 504]
   */
  readonly failureStatuses: readonly number[];
  /**
   * Network errors count as failures.
   * @default true
   */
  readonly networkErrors: boolean;
  /**
   * Attempt timeouts count as failures.
   * @default true
   */
  readonly timeouts: boolean;
  /**
   * Opens after this many consecutive failures.
   * @default 5
   */
  readonly consecutiveFailures: number;
  /**
   * Or when at least this share of recent calls failed, in (0, 1]...
   * @default 0.5
   */
  readonly failureRatio: number;
  /**
   * ...of at least this many calls...
   * @default 10
   */
  readonly minimumCalls: number;
  /**
   * ...in this window (ms). Counted in ten buckets of `windowMs / 10`: a call stays counted until its
   * bucket ends a whole window ago, so between `windowMs` and `1.1 x windowMs` after it was made.
   * @default 10_000
   */
  readonly windowMs: number;
  /**
   * First wait before a probe (ms), > 0: `maxHalfOpenAfterMs` instead when a policy sets a smaller
   * `maxHalfOpenAfterMs` and not this. At most `maxHalfOpenAfterMs`.
   * @default 5_000
   */
  readonly halfOpenAfterMs: number;
  /**
   * The wait doubles while probes fail, up to this (ms), > 0; raised to `halfOpenAfterMs` when a
   * policy sets that above it and the cap was set nowhere.
   * @default 60_000
   */
  readonly maxHalfOpenAfterMs: number;
  /**
   * Slow-call breaking (resilience4j's `slowCallDurationThreshold`): a call whose attempt takes
   * strictly longer than this to its response headers (ms, > 0) is slow, whatever its outcome, and an
   * attempt that times out is slow too. Slow calls are counted in the breaker's window beside
   * failures; `null` switches slow-call breaking off.
   * @default null
   */
  readonly slowCallMs: number | null;
  /**
   * With `slowCallMs` set, the breaker also opens when at least this share of the calls in the window,
   * in (0, 1], were slow, once the window holds `minimumCalls` calls (resilience4j's
   * `slowCallRateThreshold`, whose default is 100 %).
   * @default 1
   */
  readonly slowCallRatio: number;
}

/** Timeouts. */
export interface TimeoutPolicy {
  /**
   * One attempt, in ms. Retried and counted as a breaker failure. `totalMs` instead when a policy
   * sets only `totalMs` and it is smaller: an attempt timeout the user did not write fits inside the
   * deadline they did. One written above a `totalMs` that was written too (beside it, or in an outer
   * policy or preset) is refused. Until the response headers arrive. Precision: from 1 s up, the
   * timeout fires no earlier than `attemptMs` and at most 100 ms later (one tick of a clock shared by
   * the attempts in flight, so that no attempt pays a timer of its own); below 1 s, on time.
   * @default 10_000
   */
  readonly attemptMs: number;
  /**
   * The whole call, every attempt and wait, in ms; `attemptMs` instead when a policy sets a larger
   * `attemptMs` and the deadline was set nowhere: a deadline the user did not write never cuts an
   * attempt timeout they did. Not retried. Precision: an attempt the deadline cuts with 1 s or more
   * left is stopped no earlier than the deadline and at most 100 ms after it (see `attemptMs`).
   * @default 30_000
   */
  readonly totalMs: number;
}

/**
 * The throttle gate of an endpoint key: once a 429 arrives, or RateLimit headers say the quota is spent,
 * every call to the key waits until the delay or the reset has elapsed, first attempts included. A 429
 * with no delay header closes the gate for the throttling backoff; a 503's delay closes it only while
 * the server looks broadly unavailable (see `statuses`).
 */
export interface ThrottlePolicy {
  /**
   * `false` turns the gate off: only the call that got the delay waits.
   * @default true
   */
  readonly enabled: boolean;
  /**
   * Statuses whose server delay closes the gate. A 429 closes it at once, for its delay or, without a
   * delay header, for the throttling backoff. Other statuses close it only when they carry a delay and
   * the key's recent responses show the server broadly unavailable (at least half of the last 20 responses
   * within 10 s, and at least 3, asked for a delay); an occasional one delays only its own call's retry.
   * @default [429, 503]
   */
  readonly statuses: readonly number[];
  /**
   * When the gate opens after a closure that set no rate (a 503's delay, or any closure with `adaptive`
   * off), each waiting call is released at a random moment within this many ms, rather than all in the
   * same millisecond. After a 429 the adaptive rate paces the release instead.
   * @default 200
   */
  readonly releaseSpreadMs: number;
  /**
   * A response of any status (2xx included) whose RateLimit headers say the quota is spent (`RateLimit:
   * "default";r=0;t=2`, `RateLimit-Remaining: 0` with `RateLimit-Reset`, or `X-RateLimit-Remaining: 0`
   * with `X-RateLimit-Reset`; see `parseRateLimit`) closes the gate until the reset, for every call, so
   * that no request is spent learning it from a 429. `false` ignores these headers.
   * @default true
   */
  readonly rateLimitHeaders: boolean;
  /**
   * `true`: once a 429 closed the gate, the key is paced at an adaptive client-side rate (calls/s):
   * after the cool-down one call goes alone as a probe, then every send (first attempts and retries)
   * takes a slot, one per 1/rate. Each 429 cuts the rate to 0.7 x what the upstream accepted over the
   * last second, from where it recovers along a cubic curve to 0.95 x that (AWS SDK's adaptive retry
   * mode, without its probing above). A call whose slot falls after its deadline fails at once with
   * `ThrottledError`. `false`: the gate only waits out server delays.
   * @default true
   */
  readonly adaptive: boolean;
  /**
   * After this many ms without a 429 (from the end of the last cool-down), the adaptive rate is
   * dropped: the key goes back to no limit. This is how a key finds out that its limit was raised.
   * @default 30_000
   */
  readonly quietMs: number;
}

/**
 * The retry budget of an endpoint key: retries are allowed while they stay under `ratio` of the first
 * attempts in the last `windowMs`, plus a floor of `minRetries` per window so that a quiet endpoint can
 * still retry (Finagle's RetryBudget; Envoy's retry budget defaults to the same 20 %). First attempts are
 * never refused. In `wrapFetch`, a 429's retry on a key that the throttle gate paces (`throttle.enabled`
 * and `throttle.adaptive`, after a 429 set the rate) takes nothing from the budget: the pace bounds it.
 * Every other retry, and every hedge, takes one.
 */
export interface RetryBudgetPolicy {
  /**
   * `false` turns the budget off: every call may use all its attempts.
   * @default true
   */
  readonly enabled: boolean;
  /**
   * Retries allowed per first attempt, in (0, 1].
   * @default 0.2
   */
  readonly ratio: number;
  /**
   * Retries allowed per window whatever the traffic.
   * @default 10
   */
  readonly minRetries: number;
  /**
   * Window (ms). Counted in ten buckets of `windowMs / 10`, as the breaker's window: a first attempt
   * or retry stays counted for between `windowMs` and `1.1 x windowMs`.
   * @default 10_000
   */
  readonly windowMs: number;
}

/** Optional concurrency limit per endpoint key. */
export interface BulkheadPolicy {
  /** Calls executing at once. Required when a bulkhead is set (there is none by default). */
  readonly maxConcurrent: number;
  /**
   * Calls waiting for a slot; more are rejected at once with `BulkheadRejectedError`.
   * @default 0
   */
  readonly maxQueued: number;
}

/**
 * Hedging for tail latency (Polly's hedging strategy, gRPC's A6 hedging policy): when an attempt has
 * not answered after `delayMs`, another is started beside it, up to `maxHedgedAttempts` extra; the
 * first acceptable response (one the retry policy would not retry) wins and the others are aborted.
 * Idempotent requests with a replayable body only. Each hedged attempt passes the throttle gate and
 * the breaker and takes one retry from the retry budget: no budget left, no hedge.
 */
export interface HedgingPolicy {
  /**
   * `true` turns hedging on for the endpoint.
   * @default false
   */
  readonly enabled: boolean;
  /**
   * Attempts started beside the first while none has answered acceptably, at most 9 (gRPC caps a
   * hedged call at 5 attempts in all).
   * @default 1
   */
  readonly maxHedgedAttempts: number;
  /**
   * How long an attempt may go unanswered before the next hedged attempt starts, in ms.
   * @default 2_000
   */
  readonly delayMs: number;
}

/** The whole policy of one endpoint, every field filled. Users write {@link PolicyInput}. */
export interface Policy {
  /** When and how to retry. */
  readonly retry: RetryPolicy;
  /** When the circuit breaker opens and how it recovers. */
  readonly breaker: BreakerPolicy;
  /** Attempt timeout and total deadline. */
  readonly timeout: TimeoutPolicy;
  /** The throttle gate. */
  readonly throttle: ThrottlePolicy;
  /** The retry budget. */
  readonly retryBudget: RetryBudgetPolicy;
  /**
   * Concurrency limit per endpoint key, or `null` for none.
   * @default null
   */
  readonly bulkhead: BulkheadPolicy | null;
  /**
   * Statuses returned at once, never retried and never counted by the breaker. Wins over the lists
   * above.
   * @default [501]
   */
  readonly permanentStatuses: readonly number[];
  /**
   * Headers set once per call to a fresh UUID when the caller did not set them (the same value on
   * every attempt). The Partner Center preset sets MS-RequestId and MS-CorrelationId. Credential
   * headers (see `isSecretHeader`) and headers fetch manages (`Host`, `Content-Length`, `Cookie`, the
   * rest of fetch's forbidden request headers) are refused.
   * @default []
   */
  readonly generateHeaders: readonly string[];
  /**
   * The hosts `generateHeaders` applies to (host names as in a URL, no scheme or port; compared
   * case-insensitively, an internationalized name in its ASCII form), or `null` for every host. No
   * patterns: `'*'` is refused. The Partner Center preset sets Partner Center's API
   * host: a generated `MS-RequestId` makes a POST retryable, which only a server that deduplicates on
   * it makes safe, and an unexpected custom header costs a CORS preflight.
   * @default null
   */
  readonly generateHeadersHosts: readonly string[] | null;
  /**
   * Resume a GET whose response body fails mid-stream (a reset after some bytes): breakwater asks for
   * the rest with `Range: bytes=N-` and `If-Match` on the response's ETag, checks the 206's
   * `Content-Range` and ETag, and the caller's body keeps flowing. Only a 200 with a strong ETag,
   * `Accept-Ranges: bytes` and no `Content-Encoding` is resumed, at most `retry.maxAttempts - 1`
   * times, within the call's deadline; otherwise the body fails with its original error.
   * @default false
   */
  readonly resumeDownloads: boolean;
  /** Hedged attempts for tail latency: {@link HedgingPolicy}. */
  readonly hedging: HedgingPolicy;
}

/**
 * Every member optional, and `undefined` accepted where it is: under `exactOptionalPropertyTypes`, an
 * option computed from the environment (`attemptMs: env.X ? Number(env.X) : undefined`) type-checks,
 * as it runs (an `undefined` member counts as absent).
 */
export type Loose<T> = { [K in keyof T]?: T[K] | undefined };

/**
 * What users write: any part of a policy, as `wrapFetch`'s `policy`, a rule's `policy`,
 * {@link definePolicy} or `partnerCenter(overrides)`. Objects merge over the defaults (or over the
 * policy they refine: a rule's over the configuration's); arrays replace. Checked when it is built: a
 * `ConfigError` names the offending path.
 */
export interface PolicyInput {
  /**
   * When and how to retry: {@link RetryPolicy}, any of its fields, `backoff` in part too.
   * @default DEFAULT_POLICY.retry
   */
  readonly retry?:
    | (Loose<Omit<RetryPolicy, 'backoff'>> & { readonly backoff?: Loose<BackoffPolicy> | undefined })
    | undefined;
  /**
   * When the circuit breaker opens and how it recovers: {@link BreakerPolicy}, any of its fields.
   * @default DEFAULT_POLICY.breaker
   */
  readonly breaker?: Loose<BreakerPolicy> | undefined;
  /**
   * Attempt timeout and total deadline: {@link TimeoutPolicy}. `{ totalMs }` alone also cuts the
   * inherited attempt timeout down to it.
   * @default DEFAULT_POLICY.timeout
   */
  readonly timeout?: Loose<TimeoutPolicy> | undefined;
  /**
   * The throttle gate: {@link ThrottlePolicy}, any of its fields.
   * @default DEFAULT_POLICY.throttle
   */
  readonly throttle?: Loose<ThrottlePolicy> | undefined;
  /**
   * The retry budget: {@link RetryBudgetPolicy}, any of its fields.
   * @default DEFAULT_POLICY.retryBudget
   */
  readonly retryBudget?: Loose<RetryBudgetPolicy> | undefined;
  /**
   * A concurrency limit per endpoint key ({@link BulkheadPolicy}; `maxConcurrent` is required unless
   * an outer policy set one). `null` removes a bulkhead set by an outer policy.
   * @default null
   */
  readonly bulkhead?: Loose<BulkheadPolicy> | null | undefined;
  /**
   * Statuses returned at once, never retried and never counted by the breaker (see
   * {@link Policy.permanentStatuses}).
   * @default [501]
   */
  readonly permanentStatuses?: readonly number[] | undefined;
  /**
   * Headers set once per call to a fresh UUID when the caller did not set them (see
   * {@link Policy.generateHeaders}).
   * @default []
   */
  readonly generateHeaders?: readonly string[] | undefined;
  /**
   * The hosts `generateHeaders` applies to, or `null` for every host (see
   * {@link Policy.generateHeadersHosts}).
   * @default null
   */
  readonly generateHeadersHosts?: readonly string[] | null | undefined;
  /**
   * Resume a GET whose body fails mid-stream (see {@link Policy.resumeDownloads}).
   * @default false
   */
  readonly resumeDownloads?: boolean | undefined;
  /**
   * Hedged attempts for tail latency: {@link HedgingPolicy}, any of its fields.
   * @default DEFAULT_POLICY.hedging
   */
  readonly hedging?: Loose<HedgingPolicy> | undefined;
}

/** One endpoint rule. */
export interface EndpointRule {
  /**
   * Names the endpoint: with the origin, it forms the endpoint key (`<name> <origin>`), so it holds no
   * spaces or control characters. Unique across rules. Required.
   */
  readonly name: string;
  /**
   * `[METHOD[,METHOD...] ]ORIGIN_OR_*PATH`, e.g. `GET https://api.example.com/v1/customers/*` or
   * `POST * /v1/customers/:id/orders` (the space after `*` is optional): `*` as the origin, or no
   * origin, matches any origin; `*` as a path segment matches one segment, and as the last one the
   * rest of the path; `:name` matches one segment. No method matches every method. Required.
   */
  readonly match: string;
  /**
   * Merged over the configuration's default policy; `{}` keeps that policy as it is.
   * @default {}
   */
  readonly policy?: PolicyInput | undefined;
  /**
   * A request header whose value partitions the endpoint: each value gets its own key, and so its own
   * breaker, throttle gate and retry budget (e.g. a tenant id, or a subscription key, when the server
   * throttles per tenant or per key). A short plain value appears in the key as it is, a long or unusual
   * one as an FNV-1a hash; the value of a credential header (`isSecretHeader`: a name containing
   * `auth`, `cookie`, `dpop`, `token`, `secret`, `key`, `password`, `credential`, `signature` or
   * `session`, such as `Authorization`, `x-authorization`, `x-api-key`, `Ocp-Apim-Subscription-Key`;
   * `Idempotency-Key` excepted) only ever as `hmac:` and 16 hex digits of HMAC-SHA-256 under a random
   * per-process key, so it never appears in keys, events or messages.
   * Unset, the rule is one key per origin.
   * @default undefined
   */
  readonly keyHeader?: string | undefined;
}

/** The declarative endpoint configuration. */
export interface EndpointsConfig {
  /**
   * The policy of every endpoint, merged over the built-in defaults.
   * @default {}
   */
  readonly policy?: PolicyInput | undefined;
  /**
   * Rules tried in order; the first that matches wins. A request no rule matches is the `default`
   * endpoint of its origin.
   * @default []
   */
  readonly endpoints?: readonly EndpointRule[] | undefined;
}

/** What a (method, URL) resolves to. */
export interface ResolvedEndpoint {
  /** Rule name plus origin (`customers https://api.example.com`), never the full URL. */
  readonly key: string;
  /** The matched rule's name, or `default`. */
  readonly name: string;
  readonly policy: Policy;
}
