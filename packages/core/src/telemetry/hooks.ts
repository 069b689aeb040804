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

/**
 * The calls a wrapped fetch makes into its telemetry. None should throw (`openTelemetry`'s catch inside);
 * what one throws is ignored, and the call goes on as it would without telemetry.
 */
export interface TelemetryHooks {
  /**
   * Whether anything would record a call starting now. Asked once per call: `false` spares that call
   * the `attempt`, `gateWait` and `callEnded` hooks, which would record nothing
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
   * A call of `key` is kept waiting at its throttle gate: `pass` settles when the gate lets it by (or
   * refuses it), and `held` then says whether the gate held it. Returns a promise that settles as
   * `pass` does; the call waits on `pass`, not on it, so one that rejects with the hook's own error or
   * never settles changes nothing of the call (its rejection is ignored). Not called for a call the
   * gate lets through in the same turn (the healthy path): that held nothing, and the call takes no
   * hook, closure or await for it.
   */
  gateWait<T extends { readonly held: boolean }>(key: string, pass: Promise<T>): Promise<T>;
  /**
   * One call of `key` ended: it reached its pipeline at `startedAt` (`performance.now()` as the wrapped
   * fetch read it), queue and waits included, and ends now. `end`: its attempts and outcome; undefined
   * for a call that rejected, with `error` what it rejected with (its caller's abort, thrown during an
   * attempt or a wait, says its attempts nowhere else than `request.attempts`). Called by the wrapped
   * fetch once its own await of the call is over; what it throws is ignored.
   */
  callEnded(
    key: string,
    request: RequestLike,
    startedAt: number,
    end: CallEnd | undefined,
    error?: unknown,
  ): void;
}
