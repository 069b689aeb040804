/**
 * What a wrapped fetch tells a telemetry implementation. Only types: core reaches telemetry through
 * these hooks, so `@opentelemetry/api` (an optional peer) is imported by `@breakwater/core/telemetry`
 * alone and costs nothing to a bundle that does not import it.
 */
import type { BreakwaterEvent } from '../events.ts';
import type { BreakerSnapshot } from '../types.ts';

/**
 * The `telemetry` option of `wrapFetch`: made by `openTelemetry()` from `@breakwater/core/telemetry`.
 * Its members are breakwater's wiring; implement it yourself only to feed another telemetry system.
 */
export interface Telemetry {
  /**
   * Called once by each `wrapFetch` that takes this telemetry, with the live endpoints of that wrapped
   * fetch (read by the gauges); returns the hooks the wrapped fetch calls.
   */
  bind(endpoints: () => readonly BreakerSnapshot[]): TelemetryHooks;
}

/** A request as telemetry reads it: its method and URL (whose query values it never records). */
export interface RequestLike {
  readonly method: string;
  /** The request's URL, made when first read: a per-call path reads `target` instead. */
  readonly url: URL;
  /**
   * The URL object when one was made already, else its href: reading it makes no URL object.
   * Default: `url`.
   */
  readonly target?: URL | string | undefined;
  /** The attempts sent for it so far (hedges and retries included). Default: unknown, counted 0. */
  readonly attempts?: number | undefined;
}

/** How one physical attempt ended: the status of its Response, or the kind of its error. */
export interface AttemptEnd {
  readonly response?: { readonly status: number } | undefined;
  /** `errorKind`: `timeout`, `network`, `abort` or `unknown`, when the attempt threw. */
  readonly verdict: { readonly errorKind?: string | undefined };
}

/** How one call ended: the attempts sent and the last attempt's outcome. */
export interface CallEnd {
  readonly attempts: number;
  readonly result: { readonly response?: { readonly status: number } | undefined; readonly error?: unknown };
}

/** The calls a wrapped fetch makes into its telemetry. None may throw (see `openTelemetry`). */
export interface TelemetryHooks {
  /**
   * Whether anything would record a call starting now. Asked once per call: `false` spares that call
   * the `attempt`, `gate` and `call` hooks (and the closures they take), which would record nothing
   * (`openTelemetry()` with no SDK registered). Events still go to {@link TelemetryHooks.event}.
   * Default (absent): every call is observed.
   */
  active?(): boolean;
  /** Every event of the wrapped fetch, as `onEvent` receives it, in the call's async context. */
  event(event: BreakwaterEvent): void;
  /**
   * A physical attempt of `key` starts now; the function returned is called once when it ends.
   * `startedAt`: `performance.now()` as the wrapped fetch read it at the attempt's start, so that the
   * hook need not read the clock again (a read is ~50 ns, on every attempt). Default: now.
   */
  attempt(key: string, request: RequestLike, attempt: number, startedAt?: number): (end: AttemptEnd) => void;
  /**
   * Runs `pass`, a call of `key` passing its throttle gate, and settles as it does; `held` says
   * whether the gate made the call wait. A gate that lets the call through at once answers in the same
   * turn (not a promise), and so should the hook when it has nothing to record: the healthy path then
   * awaits nothing here.
   */
  gate<T extends { readonly held: boolean }>(key: string, pass: () => T | Promise<T>): T | Promise<T>;
  /**
   * Runs one call of `key` (`run`: from reaching its pipeline to its end, queue and waits included),
   * measures it and settles as `run` does: with its end, or its error.
   */
  call<T extends CallEnd>(key: string, request: RequestLike, run: () => Promise<T>): Promise<T>;
}
