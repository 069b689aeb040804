/**
 * `@breakwater/core/ky`: a ky instance whose requests go through breakwater's per-endpoint policies
 * and circuit breakers.
 *
 * ```ts
 * import { breakwaterKy } from '@breakwater/core/ky';
 *
 * const api = breakwaterKy({ policy: partnerCenter(), kyOptions: { baseUrl: 'https://api.example.com/' } });
 * const customers = await api.get('v1/customers').json();
 * api.breakers(); // the same snapshots as wrapFetch's
 * ```
 *
 * @module
 */
import {
  type Check,
  definePolicy,
  describeValue,
  func,
  integerAtLeast,
  MAX_TIMER_MS,
  mergePolicy,
  refuse,
  type Shape,
} from '@breakwater/policies';
import kyDefault, {
  type BeforeErrorState,
  type KyInstance,
  type Options as KyOptions,
  type RetryOptions,
} from 'ky';
import type { ManualControl } from './manual-control.ts';
import { checkOptions } from './options.ts';
import { redactUrl } from './redact.ts';
import type { BreakerSnapshot, FetchLike } from './types.ts';
import {
  preconnectOf,
  WRAP_FETCH_OPTIONS,
  type WrapFetchOptions,
  type WrappedFetch,
  wrapFetch,
} from './wrap-fetch.ts';

/** Options of {@link breakwaterKy}: those of `wrapFetch` (but `throwHttpErrors`, which is ky's), plus ky's. */
export interface BreakwaterKyOptions extends Omit<WrapFetchOptions, 'throwHttpErrors'> {
  /**
   * The ky instance to extend; its hooks, headers, `totalTimeout` and other defaults are kept, but its
   * `timeout` (breakwater's attempt timeout replaces it) and `retry`. Default: ky's default instance.
   */
  readonly ky?: KyInstance | undefined;
  /** ky options for the new instance (`baseUrl`, `headers`, `hooks`, `throwHttpErrors`, ...). Default: none. */
  readonly kyOptions?: Omit<KyOptions, 'retry' | 'fetch'> | undefined;
  /** The fetch breakwater wraps. Default: the `fetch` of the instance being extended, else the global fetch. */
  readonly fetch?: FetchLike | undefined;
  /**
   * Retries a hook may still ask for with `ky.retry()` (a token refresh on 401, say); ky retries nothing
   * on its own. Default 2 (ky's own default limit). `0` makes `ky.retry()` throw.
   */
  readonly forcedRetries?: number | undefined;
}

/**
 * A ky instance that goes through breakwater, plus a view of its breakers and their manual control
 * (`isolate`, `reset`: see `wrapFetch`).
 */
export type BreakwaterKyInstance = KyInstance &
  ManualControl & {
    /** A snapshot of every live endpoint's breaker. */
    breakers(): BreakerSnapshot[];
  };

const kyInstance: Check = (value, path) => {
  if (typeof value !== 'function' || typeof (value as Partial<KyInstance>).extend !== 'function') {
    refuse(path, 'must be a ky instance (the default export of ky, or one made by ky.create)');
  }
};

/** ky's options, but the two breakwater takes over. */
const kyOptionsCheck: Check = (value, path) => {
  if (value === null || typeof value !== 'object')
    refuse(path, `must be an object, got ${describeValue(value)}`);
  if ('retry' in value) {
    refuse(
      `${path}.retry`,
      'ky’s retry is turned off so that attempts are not multiplied; set retries with policy.retry',
    );
  }
  if ('fetch' in value) refuse(`${path}.fetch`, 'pass the fetch to wrap as the `fetch` option');
};

/** The options of {@link breakwaterKy}: those of `wrapFetch`, whose `throwHttpErrors` is ky's here, and ky's. */
const KY_OPTIONS: Shape = {
  ...WRAP_FETCH_OPTIONS,
  throwHttpErrors: (_, path) => refuse(path, 'is ky’s option here: set kyOptions.throwHttpErrors'),
  ky: kyInstance,
  kyOptions: kyOptionsCheck,
  fetch: func,
  forcedRetries: integerAtLeast(0),
};

const noRetry = (): boolean => false;

/**
 * Past the longest deadlines of a ky request's breakwater calls, before ky's `totalTimeout` ends it:
 * ky counts its hooks in it too (a `beforeRequest` fetching a token), and a 1 s margin let a 2.5 s hook
 * end a call breakwater was still retrying within its deadline (review s24 X).
 */
const HOOKS_GRACE_MS = 5_000;

/**
 * ky's `totalTimeout` for a request: breakwater's longest deadline for each call it may make (the first
 * and each `ky.retry()` a hook forces), and the hooks' margin.
 */
function requestBoundMs(
  options: Pick<WrapFetchOptions, 'policy' | 'endpoints'>,
  forcedRetries: number,
): number {
  // At most what ky takes (a timer's longest delay): past it every request threw ky's RangeError.
  return Math.min(longestDeadlineMs(options) * (forcedRetries + 1) + HOOKS_GRACE_MS, MAX_TIMER_MS);
}

/** The longest `timeout.totalMs` of the default policy and the rules (a preset's or a rule's own). */
function longestDeadlineMs(options: Pick<WrapFetchOptions, 'policy' | 'endpoints'>): number {
  const base = definePolicy(options.policy);
  const rules = (options.endpoints ?? []).map((rule) => mergePolicy(base, rule.policy).timeout.totalMs);
  return Math.max(base.timeout.totalMs, ...rules);
}

/**
 * What logging one of ky's errors would print: the request (its URL, its headers), ky's options
 * (headers), the response, and the body ky parsed (`data`), which may echo the request's secrets.
 */
const KY_ERROR_HOLDS = ['request', 'options', 'response', 'data'] as const;

/**
 * ky's errors (`HTTPError`, `TimeoutError`) carry the request URL in their message and stack, and the
 * request, the options and the response as own properties, which `console.log(error)` prints: query
 * values and the Authorization header (audit s24). The message and stack are given the redacted URL,
 * as breakwater's own errors are, and those properties stay readable but are no longer enumerable,
 * so that printing, `JSON.stringify` and spreading leave them out.
 */
function redactKyError({ request, error }: BeforeErrorState): Error {
  const url = request.url;
  const shown = redactUrl(url);
  if (shown !== url) {
    error.message = error.message.split(url).join(shown);
    if (typeof error.stack === 'string') error.stack = error.stack.split(url).join(shown);
  }
  for (const name of KY_ERROR_HOLDS) {
    const held = Object.getOwnPropertyDescriptor(error, name);
    if (held?.enumerable && held.configurable)
      Object.defineProperty(error, name, { ...held, enumerable: false });
  }
  return error;
}

/**
 * Keeps a request on breakwater: a `retry` of its own sets only how many `ky.retry()` a hook may force
 * (ky's `shouldRetry` stays false, so ky retries nothing by itself); a `fetch` of its own is refused.
 */
function guardRequest(options: KyOptions, wrapped: WrappedFetch | undefined): void {
  if (options.fetch !== wrapped) {
    throw new TypeError(
      'breakwater: a ky request’s `fetch` option would bypass breakwater; pass the fetch to wrap as breakwaterKy’s `fetch` option',
    );
  }
  const { retry } = options;
  const own: RetryOptions = typeof retry === 'number' ? { limit: retry } : (retry ?? {});
  options.retry = { ...own, shouldRetry: noRetry };
  // The redaction first: a reporter among the caller's own beforeError hooks (Sentry's, say) saw the
  // query values and the Authorization header (review s24 X). A new hooks object: the instance's is
  // shared by every request, and each request's init runs once.
  options.hooks = { ...options.hooks, beforeError: [redactKyError, ...(options.hooks?.beforeError ?? [])] };
}

/**
 * The global fetch as it is at each call (a test's stub, a polyfill installed later), with Bun's
 * `preconnect` kept, as `wrapFetch` keeps that of a fetch it is given.
 */
function globalFetch(): FetchLike {
  const current: FetchLike = (input, init) => globalThis.fetch(input, init);
  return Object.assign(current, preconnectOf(globalThis.fetch));
}

/**
 * Extends a ky instance so that each of its requests goes through `wrapFetch` with these options:
 * per-endpoint retries, server delays, breakers and timeouts are breakwater's.
 *
 * - ky's own retry is turned off (it would multiply attempts): ky's `shouldRetry` answers false, so
 *   only a hook's `ky.retry()` repeats a request (up to `forcedRetries`). A request's own `retry`
 *   option (or `.extend()`'s) cannot turn it back on: it sets only that limit of forced retries.
 * - A request's own `fetch` option (or `.extend()`'s) would bypass breakwater: the request throws a
 *   `TypeError` at once (ky's `init` hooks throw synchronously). Pass the fetch to wrap as `fetch`.
 * - ky's `timeout` defaults to `false`: breakwater's attempt timeout (10 s) and total deadline (30 s)
 *   replace it; a ky timeout would cut breakwater's retries short. Pass `kyOptions.timeout` to keep one.
 *   ky's `totalTimeout`, which also bounds the body read of `.json()` and the other shortcuts, defaults
 *   to the longest `timeout.totalMs` of the policy and the rules for each call a request may make (the
 *   first and each forced retry) plus 5 s for hooks, unless the instance or `kyOptions` sets one;
 *   `false` there is kept (ky's "no total timeout": a stalled body read is then unbounded).
 * - ky's errors get the redacted URL in their message and stack before any `beforeError` hook sees
 *   them, and their `request`, `options`, `response` and `data` stay readable but not enumerable:
 *   printing the error shows no query value or header.
 * - ky's hooks run as usual, once per call: `beforeRequest` before breakwater's first attempt (what it
 *   sets is sent on every attempt), `afterResponse` and `beforeError` on the final response. Retries are
 *   reported by `onEvent`, not by `beforeRetry`.
 * - ky's `HTTPError` (with `throwHttpErrors`, ky's default) is thrown for the final non-2xx response.
 *   breakwater's own errors (`BrokenCircuitError`, `TimeoutError`, ...) pass through ky as they are.
 *
 * - The fetch ky is given (a hook's `options.fetch`) keeps the `preconnect` (Bun's) of the fetch it
 *   wraps, the global one included; the ky instance is not a fetch, and has none.
 *
 * Calling `.extend()` on the result keeps breakwater but not `breakers()`, `isolate()` or `reset()`;
 * ky's `.create()` makes a fresh instance from ky's defaults, without breakwater.
 * Options that drop breakwater's `init` hook (`hooks: replaceOption(...)`) drop these guards with it.
 *
 * @throws ConfigError when the options are invalid (including `kyOptions.retry` or `kyOptions.fetch`).
 */
export function breakwaterKy(options: BreakwaterKyOptions = {}): BreakwaterKyInstance {
  checkOptions(options, KY_OPTIONS);
  const { ky = kyDefault, kyOptions = {}, fetch, forcedRetries = 2, ...wrapOptions } = options;

  let wrapped: WrappedFetch | undefined;
  const built = ky.extend((parent) => {
    const inner: FetchLike = fetch ?? parent.fetch ?? globalFetch();
    wrapped = wrapFetch(inner, wrapOptions);
    return {
      timeout: false,
      ...kyOptions,
      // ky reads the body of `.json()` / `.text()` under `timeout`, off here (it would cut breakwater's
      // retries short): the request, its body read included, is bounded by breakwater's deadlines
      // instead, unless ky is given its own (audit s24: a stalled body hung `.json()`). `false` is one:
      // ky's "no total timeout", the caller's word (session 25: the default replaced an instance's);
      // `undefined` is none (kyOptions' spread it over the instance's bound, and left none).
      totalTimeout:
        kyOptions.totalTimeout ?? parent.totalTimeout ?? requestBoundMs(wrapOptions, forcedRetries),
      fetch: wrapped,
      retry: { limit: forcedRetries, shouldRetry: noRetry },
    };
  });
  // An init hook, because a request's options (or `.extend()`'s) replace the instance's `retry` and
  // `fetch`, while hooks add up: it sees every request's merged options. Added by a second extend,
  // after kyOptions' hooks, whatever their form.
  const instance = built.extend({ hooks: { init: [(merged) => guardRequest(merged, wrapped)] } });
  // ky builds the options (and so the wrapped fetch) when it extends, before this line runs.
  const control = (): WrappedFetch => {
    if (!wrapped) throw new Error('breakwater: the ky instance has not built its fetch yet');
    return wrapped;
  };
  return Object.assign(instance, {
    breakers: () => wrapped?.breakers() ?? [],
    isolate: (key: string) => control().isolate(key),
    reset: (key: string) => control().reset(key),
  });
}
