import {
  callMethodProblem,
  classify,
  createEndpointResolver,
  type EndpointRule,
  type Policy,
  type PolicyInput,
  type RequestFacts,
  type ResolvedEndpoint,
  type Verdict,
} from '@breakwater/policies';
import { outcomeOfError, outcomeOfResult } from './call-outcome.ts';
import { shareCallSide } from './call-side.ts';
import { CircuitBreaker } from './circuit-breaker.ts';
import { type BreakwaterEvent, emitter } from './events.ts';
import { type ManualControl, manualControl } from './manual-control.ts';
import { checkOptions, ENDPOINT_OPTIONS, telemetryCheck } from './options.ts';
import { DEFAULT_MAX_ENDPOINTS, EndpointRegistry, EndpointState } from './registry.ts';
import { RetryBudget } from './retry-budget.ts';
import { publish } from './telemetry/diagnostics.ts';
import type { Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
import type { BreakerSnapshot } from './types.ts';

/** The call a breaker guards, as the endpoint rules see it: what it would be as an HTTP request. */
export interface CallTarget {
  /** The HTTP method the call amounts to (`GET` for a read, `POST` for a create, ...). */
  readonly method: string;
  /** The URL the call goes to; only its origin and path pick the endpoint rule. */
  readonly url: string | URL;
  /** Request headers; an idempotency key header (`Idempotency-Key`, `MS-RequestId`) makes a POST retryable. */
  readonly headers?: NonNullable<RequestInit['headers']>;
}

/** Options of {@link createEndpointBreakers}: the endpoint configuration of `wrapFetch`. */
export interface EndpointBreakersOptions {
  /** The policy of every endpoint, merged over the built-in defaults. Default: the defaults. */
  readonly policy?: PolicyInput | undefined;
  /** Per-endpoint rules, tried in order; the first match wins. Default: none. */
  readonly endpoints?: readonly EndpointRule[] | undefined;
  /**
   * Receives break, half-open, reset, isolate and reject events, and the retry and give-up events of
   * the adapters' calls through these breakers. Default: none.
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
   * OpenTelemetry metrics: `openTelemetry()` from `@breakwater/core/telemetry`, as `wrapFetch` takes
   * it. These calls are not fetch calls, so there is no attempt span or duration histogram: the
   * per-key gauges from the first call, and the breakers' events (break, half-open, reset, isolate,
   * reject) in the events counter and as span events on the caller's span. Default: none.
   */
  readonly telemetry?: Telemetry | undefined;
}

/** `createEndpointBreakers`' options: the endpoint configuration, and `telemetry`. */
const BREAKERS_OPTIONS = { ...ENDPOINT_OPTIONS, telemetry: telemetryCheck };

/** One attempt's result as a breaker saw it. */
export type SettledCall<T> =
  | { readonly ok: true; readonly value: T; readonly verdict: Verdict }
  | { readonly ok: false; readonly error: unknown; readonly verdict: Verdict };

/**
 * Per-endpoint circuit breakers for calls that are not fetch calls (SDK functions, p-retry, cockatiel),
 * with the same manual control (`isolate`, `reset`) as a wrapped fetch's.
 */
export interface EndpointBreakers extends ManualControl {
  /**
   * Runs `call` once through the breaker of the endpoint `target` resolves to, and settles as `call`
   * does. The outcome is counted by the outcome table: a thrown error carrying a status (an
   * `HttpError`, ky's `HTTPError`, an SDK error with `status` or `statusCode`) is judged by that status,
   * a resolved `Response` by its own, any other value is a success.
   *
   * @throws BrokenCircuitError at once, without calling `call`, while the breaker is open, isolated
   *   by hand or a probe is in flight.
   */
  run<T>(target: CallTarget, call: () => PromiseLike<T> | T): Promise<T>;
  /** The endpoint key and merged policy `target` resolves to. */
  resolve(target: CallTarget): ResolvedEndpoint;
  /**
   * A snapshot of every live endpoint's breaker (and of every key isolated before its first call), in
   * the shape of `fetch.breakers()`.
   */
  breakers(): BreakerSnapshot[];
  /**
   * Like {@link EndpointBreakers.run} but hands back the settled outcome and its verdict instead of
   * rethrowing; for retry loops built on top. Throws only `BrokenCircuitError`.
   */
  attempt<T>(target: CallTarget, call: () => PromiseLike<T> | T): Promise<SettledCall<T>>;
}

/**
 * Builds per-endpoint circuit breakers from the same endpoint rules, opening rule and half-open
 * schedule as `wrapFetch` (cockatiel's CircuitBreakerPolicy driven by breakwater's OpeningRule), for
 * calls made with something other than fetch.
 *
 * @throws ConfigError when the options are invalid, naming the offending path.
 */
export function createEndpointBreakers(options: EndpointBreakersOptions = {}): EndpointBreakers {
  checkOptions(options, BREAKERS_OPTIONS);
  const { onEvent, maxEndpoints = DEFAULT_MAX_ENDPOINTS } = options;
  const resolver = createEndpointResolver({
    ...(options.policy !== undefined ? { policy: options.policy } : {}),
    ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
  });
  const toListener = emitter(onEvent);
  // Held by the breakers (as `breakers()`), so that telemetry's weak hold on it ends with them.
  const snapshots = (): BreakerSnapshot[] => registry.snapshots();
  // Bound at the first call or event, as a wrapped fetch reads the global meter at its first call: an
  // SDK registered after the breakers are built is used, and the gauges exist from the first call.
  let telemetry: TelemetryHooks | undefined;
  const bound = () => (telemetry ??= options.telemetry?.bind(snapshots));
  const emit = (event: BreakwaterEvent) => {
    toListener(event);
    publish(event);
    bound()?.event(event);
  };
  const registry = new EndpointRegistry(maxEndpoints, (key, policy) => new CallBreaker(key, policy, emit));

  const resolve = (target: CallTarget): ResolvedEndpoint => {
    checkTarget(target);
    return resolver.resolve(target.method.toUpperCase(), target.url, new Headers(target.headers));
  };
  const attempt = <T>(target: CallTarget, call: () => PromiseLike<T> | T): Promise<SettledCall<T>> => {
    const { key, policy } = resolve(target);
    bound();
    const facts: RequestFacts = { method: target.method.toUpperCase(), headers: new Headers(target.headers) };
    return registry.get(key, policy).attempt(call, facts);
  };

  const breakers: EndpointBreakers = {
    resolve,
    attempt,
    async run(target, call) {
      const settled = await attempt(target, call);
      if (settled.ok) return settled.value;
      throw settled.error;
    },
    breakers: snapshots,
    ...manualControl(registry, resolver, emit),
  };
  shareCallSide(breakers, {
    budgetOf: (key, policy) => registry.get(key, policy).budget,
    refusedUntil: (key) => registry.find(key)?.breaker.refusedUntil(),
    emit,
  });
  return breakers;
}

/**
 * Methods already found valid: each call's target is checked, and the check (a token scan, and for an
 * unknown method a did-you-mean over the registry) need not run again for the few methods an app uses.
 * Bounded, so that methods made up per call cannot grow it.
 */
const checkedMethods = new Set<string>();
const MAX_CHECKED_METHODS = 64;

function checkTarget(target: CallTarget): void {
  if (target === null || typeof target !== 'object') {
    throw new TypeError(`breakwater: a call target must be an object { method, url }, got ${typeof target}`);
  }
  if (typeof target.method !== 'string' || target.method === '') {
    throw new TypeError('breakwater: target.method must be a non-empty HTTP method string');
  }
  if (!checkedMethods.has(target.method)) {
    const problem = callMethodProblem(target.method);
    if (problem !== undefined) throw new TypeError(`breakwater: target.method: ${problem}`);
    if (checkedMethods.size < MAX_CHECKED_METHODS) checkedMethods.add(target.method);
  }
  if (typeof target.url !== 'string' && !(target.url instanceof URL)) {
    throw new TypeError('breakwater: target.url must be an absolute URL string or a URL');
  }
}

/** The breaker of one endpoint key, for calls that are not fetch calls, and its retry budget. */
class CallBreaker extends EndpointState {
  readonly policy: Policy;
  readonly budget: RetryBudget;

  constructor(key: string, policy: Policy, emit: (event: BreakwaterEvent) => void) {
    const budget = new RetryBudget(policy.retryBudget);
    super(key, new CircuitBreaker(key, policy.breaker, emit), () => ({
      throttledUntil: null,
      waiting: 0,
      retryBudgetLeft: policy.retryBudget.enabled ? budget.left() : null,
    }));
    this.policy = policy;
    this.budget = budget;
  }

  attempt<T>(call: () => PromiseLike<T> | T, facts: RequestFacts): Promise<SettledCall<T>> {
    return this.track(() => this.breaker.execute((count) => this.settle(call, facts).then(count)));
  }

  private async settle<T>(call: () => PromiseLike<T> | T, facts: RequestFacts): Promise<SettledCall<T>> {
    const context = { now: Date.now() };
    try {
      const value = await call();
      return { ok: true, value, verdict: classify(outcomeOfResult(value), facts, this.policy, context) };
    } catch (error) {
      return { ok: false, error, verdict: classify(outcomeOfError(error), facts, this.policy, context) };
    }
  }
}
