import {
  ConfigError,
  classify,
  createEndpointResolver,
  type EndpointRule,
  type Policy,
  type PolicyInput,
  type RequestFacts,
  type ResolvedEndpoint,
  type Verdict,
} from '@breakwater/policies';
import {
  type CircuitBreakerPolicy,
  CircuitState,
  BrokenCircuitError as CockatielBrokenCircuit,
  circuitBreaker,
  handleWhenResult,
} from 'cockatiel';
import { HalfOpenBackoff, HttpBreaker } from './breaker.ts';
import { outcomeOfError, outcomeOfResult } from './call-outcome.ts';
import { BrokenCircuitError } from './errors.ts';
import { type BreakwaterEvent, emitter } from './events.ts';
import type { BreakerSnapshot } from './pipeline.ts';

/** The call a breaker guards, as the endpoint rules see it: what it would be as an HTTP request. */
export interface CallTarget {
  /** The HTTP method the call amounts to (`GET` for a read, `POST` for a create, ...). */
  readonly method: string;
  /** The URL the call goes to; only its origin and path pick the endpoint rule. */
  readonly url: string | URL;
  /** Request headers; an idempotency key header (`Idempotency-Key`, `MS-RequestId`) makes a POST retryable. */
  readonly headers?: HeadersInit;
}

/** Options of {@link createEndpointBreakers}: the endpoint configuration of `wrapFetch`. */
export interface EndpointBreakersOptions {
  /** The policy of every endpoint, merged over the built-in defaults. Default: the defaults. */
  readonly policy?: PolicyInput;
  /** Per-endpoint rules, tried in order; the first match wins. Default: none. */
  readonly endpoints?: readonly EndpointRule[];
  /** Receives break, half-open, reset and reject events. Default: none. */
  readonly onEvent?: (event: BreakwaterEvent) => void;
  /** Live endpoint keys kept before idle closed breakers are dropped, least recently used first. Default 1000. */
  readonly maxEndpoints?: number;
}

/** One attempt's result as a breaker saw it. */
export type SettledCall<T> =
  | { readonly ok: true; readonly value: T; readonly verdict: Verdict }
  | { readonly ok: false; readonly error: unknown; readonly verdict: Verdict };

/** Per-endpoint circuit breakers for calls that are not fetch calls (SDK functions, p-retry, cockatiel). */
export interface EndpointBreakers {
  /**
   * Runs `call` once through the breaker of the endpoint `target` resolves to, and settles as `call`
   * does. The outcome is counted by the outcome table: a thrown error carrying a status (an
   * `HttpError`, ky's `HTTPError`, an SDK error with `status` or `statusCode`) is judged by that status,
   * a resolved `Response` by its own, any other value is a success.
   *
   * @throws BrokenCircuitError at once, without calling `call`, while the breaker is open or a probe
   *   is in flight.
   */
  run<T>(target: CallTarget, call: () => PromiseLike<T> | T): Promise<T>;
  /** The endpoint key and merged policy `target` resolves to. */
  resolve(target: CallTarget): ResolvedEndpoint;
  /** A snapshot of every live endpoint's breaker, in the shape of `fetch.breakers()`. */
  breakers(): BreakerSnapshot[];
  /**
   * Like {@link EndpointBreakers.run} but hands back the settled outcome and its verdict instead of
   * rethrowing; for retry loops built on top. Throws only `BrokenCircuitError`.
   */
  attempt<T>(target: CallTarget, call: () => PromiseLike<T> | T): Promise<SettledCall<T>>;
}

/**
 * Builds per-endpoint circuit breakers from the same endpoint rules, opening rule and half-open
 * schedule as `wrapFetch` (cockatiel's CircuitBreakerPolicy driven by breakwater's HttpBreaker), for
 * calls made with something other than fetch.
 *
 * @throws ConfigError when the options are invalid, naming the offending path.
 */
export function createEndpointBreakers(options: EndpointBreakersOptions = {}): EndpointBreakers {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError('options', `must be an object, got ${typeof options}`);
  }
  const { maxEndpoints = 1000, onEvent } = options;
  if (!Number.isSafeInteger(maxEndpoints) || maxEndpoints < 1) {
    throw new ConfigError('maxEndpoints', `must be an integer >= 1, got ${String(maxEndpoints)}`);
  }
  if (onEvent !== undefined && typeof onEvent !== 'function') {
    throw new ConfigError('onEvent', `must be a function, got ${typeof onEvent}`);
  }
  const resolver = createEndpointResolver({
    ...(options.policy !== undefined ? { policy: options.policy } : {}),
    ...(options.endpoints !== undefined ? { endpoints: options.endpoints } : {}),
  });
  const emit = emitter(onEvent);
  const live = new Map<string, CallBreaker>();

  const resolve = (target: CallTarget): ResolvedEndpoint => {
    checkTarget(target);
    return resolver.resolve(target.method.toUpperCase(), target.url, new Headers(target.headers));
  };
  const breakerFor = (target: CallTarget): { breaker: CallBreaker; facts: RequestFacts } => {
    const { key, policy } = resolve(target);
    let breaker = live.get(key);
    if (breaker) live.delete(key);
    else breaker = new CallBreaker(key, policy, emit);
    // Map keeps insertion order: re-inserting marks the key as most recently used.
    live.set(key, breaker);
    for (const [k, b] of live) {
      if (live.size <= maxEndpoints) break;
      if (k !== key && b.evictable) live.delete(k);
    }
    return { breaker, facts: { method: target.method.toUpperCase(), headers: new Headers(target.headers) } };
  };
  const attempt = <T>(target: CallTarget, call: () => PromiseLike<T> | T): Promise<SettledCall<T>> => {
    const { breaker, facts } = breakerFor(target);
    return breaker.attempt(call, facts);
  };

  return {
    resolve,
    attempt,
    async run(target, call) {
      const settled = await attempt(target, call);
      if (settled.ok) return settled.value;
      throw settled.error;
    },
    breakers: () => [...live.values()].map((b) => b.snapshot()),
  };
}

function checkTarget(target: CallTarget): void {
  if (target === null || typeof target !== 'object') {
    throw new TypeError(`breakwater: a call target must be an object { method, url }, got ${typeof target}`);
  }
  if (typeof target.method !== 'string' || target.method === '') {
    throw new TypeError('breakwater: target.method must be a non-empty HTTP method string');
  }
  if (typeof target.url !== 'string' && !(target.url instanceof URL)) {
    throw new TypeError('breakwater: target.url must be an absolute URL string or a URL');
  }
}

/** An ignored outcome leaves cockatiel's breaker as an error it does not count (see pipeline.ts). */
class Ignored {
  readonly settled: SettledCall<unknown>;
  constructor(settled: SettledCall<unknown>) {
    this.settled = settled;
  }
}

/** The breaker of one endpoint key, for calls that are not fetch calls. */
class CallBreaker {
  readonly key: string;
  readonly policy: Policy;
  private readonly emit: (event: BreakwaterEvent) => void;
  private readonly counts: HttpBreaker;
  private readonly breaker: CircuitBreakerPolicy | undefined;
  private openedAt: number | null = null;
  private openForMs = 0;
  private inFlight = 0;

  constructor(key: string, policy: Policy, emit: (event: BreakwaterEvent) => void) {
    this.key = key;
    this.policy = policy;
    this.emit = emit;
    this.counts = new HttpBreaker(policy.breaker);
    if (!policy.breaker.enabled) return;
    const breaker = circuitBreaker(
      handleWhenResult((r) => (r as SettledCall<unknown>).verdict.breaker === 'failure'),
      {
        breaker: this.counts,
        halfOpenAfter: new HalfOpenBackoff(policy.breaker, (ms) => {
          this.openForMs = ms;
        }),
      },
    );
    breaker.onBreak(() => {
      this.openedAt = Date.now();
      emit({ type: 'break', key, at: this.openedAt, nextProbeAt: this.openedAt + this.openForMs });
    });
    breaker.onHalfOpen(() => emit({ type: 'half-open', key, at: Date.now() }));
    breaker.onReset(() => {
      this.openedAt = null;
      emit({ type: 'reset', key, at: Date.now() });
    });
    this.breaker = breaker;
  }

  get evictable(): boolean {
    return this.inFlight === 0 && (this.breaker === undefined || this.breaker.state === CircuitState.Closed);
  }

  snapshot(): BreakerSnapshot {
    const { calls, failures, consecutive } = this.counts.counts();
    const state = this.breaker?.state ?? CircuitState.Closed;
    const open = state === CircuitState.Open;
    return {
      key: this.key,
      state: open ? 'open' : state === CircuitState.HalfOpen ? 'half-open' : 'closed',
      enabled: this.breaker !== undefined,
      failures,
      calls,
      failureRatio: calls === 0 ? 0 : failures / calls,
      consecutiveFailures: consecutive,
      openedAt: state === CircuitState.Closed ? null : this.openedAt,
      nextProbeAt: open && this.openedAt !== null ? this.openedAt + this.openForMs : null,
      inFlight: this.inFlight,
      throttledUntil: null,
      waiting: 0,
      retryBudgetLeft: null,
    };
  }

  async attempt<T>(call: () => PromiseLike<T> | T, facts: RequestFacts): Promise<SettledCall<T>> {
    this.inFlight++;
    try {
      const breaker = this.breaker;
      if (!breaker) return await this.settle(call, facts, false);
      // Calls that arrive while a probe is in flight fail fast rather than queue behind it (as wrapFetch).
      if (breaker.state === CircuitState.HalfOpen) throw this.reject('half-open');
      const probe = breaker.state === CircuitState.Open;
      try {
        return (await breaker.execute(() => this.settle(call, facts, probe))) as SettledCall<T>;
      } catch (error) {
        if (error instanceof Ignored) return error.settled as SettledCall<T>;
        if (error instanceof CockatielBrokenCircuit) throw this.reject('circuit-open');
        throw error;
      }
    } finally {
      this.inFlight--;
    }
  }

  private async settle<T>(
    call: () => PromiseLike<T> | T,
    facts: RequestFacts,
    probe: boolean,
  ): Promise<SettledCall<T>> {
    let settled: SettledCall<T>;
    const context = { now: Date.now() };
    try {
      const value = await call();
      settled = { ok: true, value, verdict: classify(outcomeOfResult(value), facts, this.policy, context) };
    } catch (error) {
      settled = { ok: false, error, verdict: classify(outcomeOfError(error), facts, this.policy, context) };
    }
    if (settled.verdict.breaker !== 'ignore') return settled;
    // A probe that tells nothing about the upstream (an abort, an unknown error) must not close the
    // breaker: it counts as a failure, so the breaker waits again (as wrapFetch does).
    const { reason } = settled.verdict;
    if (probe && (reason === 'aborted' || reason === 'unknown-error')) {
      return { ...settled, verdict: { ...settled.verdict, breaker: 'failure' } };
    }
    throw new Ignored(settled);
  }

  private reject(cause: 'circuit-open' | 'half-open'): BrokenCircuitError {
    const { nextProbeAt } = this.snapshot();
    const retryAfterMs = nextProbeAt === null ? 0 : Math.max(0, nextProbeAt - Date.now());
    this.emit({ type: 'reject', key: this.key, at: Date.now(), cause, retryAfterMs });
    return new BrokenCircuitError({
      endpoint: this.key,
      retryAfterMs,
      state: cause === 'half-open' ? 'half-open' : 'open',
    });
  }
}
