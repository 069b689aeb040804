import { BreakwaterError, isBreakwaterError } from '@breakwater/policies';

/**
 * The errors breakwater throws itself, as opposed to `HttpError` (a server's answer). Each extends
 * `BreakwaterError`, names the endpoint key (rule name plus origin, never a path or query, so safe to
 * log) and the numbers that explain it; only a timeout has an underlying error to carry as `cause`.
 * Each has a guard (`isTimeoutError`, ...) that also recognises an error from another copy of
 * breakwater, where `instanceof` fails.
 */

/** Why a circuit refused a call. */
export interface BrokenCircuitErrorOptions {
  /** Endpoint key. */
  readonly endpoint: string;
  /**
   * `open`: waiting before the next probe. `half-open`: a probe is in flight and holds the only slot.
   * `isolated`: held open by hand (`fetch.isolate(key)`) until `fetch.reset(key)`.
   */
  readonly state: BrokenCircuitState;
  /**
   * How long to wait before calling again, in ms: see {@link BrokenCircuitError.retryAfterMs}.
   * `Infinity` for a circuit isolated by hand (no probe). Rounded up, and at least 1 (a probe time
   * just past, 0 or below, counts as 1 ms); `NaN` is refused with a RangeError.
   */
  readonly retryAfterMs: number;
}

/** Why a circuit refuses calls: see {@link BrokenCircuitErrorOptions.state}. */
export type BrokenCircuitState = 'open' | 'half-open' | 'isolated';

const WHY: Readonly<Record<BrokenCircuitState, string>> = {
  open: 'open',
  'half-open': 'half-open (a probe is in flight)',
  isolated: 'isolated by hand',
};

/**
 * Thrown at once, without making the call, while an endpoint's circuit breaker refuses calls: open,
 * half-open with its probe in flight, or isolated by hand.
 */
export class BrokenCircuitError extends BreakwaterError {
  override readonly name = 'BrokenCircuitError';
  declare readonly endpoint: string;
  readonly state: BrokenCircuitState;
  /**
   * How long to wait before calling again, in ms (rounded up; at least 1, as a wait of 0 would send a
   * client that honours it straight back to be refused again):
   * - `open`: the time until the next probe may run (with a shared store, once due, what is left of
   *   the probe lease another instance holds);
   * - `half-open`: the current half-open interval, the wait that preceded the probe in flight:
   *   `breaker.halfOpenAfterMs` (default 5 000 ms), doubled after each failed probe in a row up to
   *   `breaker.maxHalfOpenAfterMs` (default 60 000 ms). The probe's end is unknown (a probe may take
   *   the whole attempt timeout, and outside `wrapFetch` nothing bounds it); were it to fail, no call
   *   would go for at least that long, while 0 would bring a client that honours it straight back;
   * - `isolated`: `Infinity`, until reset by hand (`null` once serialised as JSON: read `state`).
   */
  readonly retryAfterMs: number;

  constructor(options: BrokenCircuitErrorOptions) {
    const endpoint = checkEndpoint(options.endpoint, 'BrokenCircuitError');
    if (!Object.hasOwn(WHY, String(options.state))) {
      throw new TypeError(
        `breakwater: BrokenCircuitError: state must be 'open', 'half-open' or 'isolated', got ${String(options.state)}`,
      );
    }
    const retryAfterMs = checkWaitMs(options.retryAfterMs, 'BrokenCircuitError', 'retryAfterMs', true);
    const wait = waitOf(options.state, retryAfterMs);
    super(`circuit for endpoint "${endpoint}" is ${WHY[options.state]}; ${wait}`, { endpoint });
    this.state = options.state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** The second half of a BrokenCircuitError's message: when to call again. */
function waitOf(state: BrokenCircuitState, retryAfterMs: number): string {
  if (state === 'isolated') return 'every call is refused until it is reset';
  if (!Number.isFinite(retryAfterMs)) return 'isolated until reset';
  // A probe is out: the next one may never come (it succeeds), so name the wait, not a probe.
  return state === 'half-open' ? `retry in ${retryAfterMs} ms` : `next probe in ${retryAfterMs} ms`;
}

/** True for a {@link BrokenCircuitError}, including one created by another copy of breakwater. */
export function isBrokenCircuitError(value: unknown): value is BrokenCircuitError {
  return value instanceof BrokenCircuitError || isFamilyMember(value, 'BrokenCircuitError');
}

/** Which deadline expired. */
export type TimeoutScope = 'attempt' | 'total';

export interface BreakwaterTimeoutErrorOptions {
  /** `attempt`: one attempt ran out of time. `total`: the call's deadline (every attempt and wait) passed. */
  readonly scope: TimeoutScope;
  /** The limit that expired, in ms. */
  readonly timeoutMs: number;
  /** Endpoint key. */
  readonly endpoint: string;
  /**
   * Attempts made, the timed-out one included. Default 1. 0 only for scope `total`: the deadline
   * passed before a first attempt (the call was queued at the bulkhead).
   */
  readonly attempts?: number;
  /** The abort reason or low-level error, when there is one. Default: none. */
  readonly cause?: unknown;
}

/**
 * A breakwater deadline expired. Its `name` is `'BreakwaterTimeoutError'`, not `'TimeoutError'`: that
 * is the name of the `DOMException` that `AbortSignal.timeout()` and a fetch's own signal produce, and
 * a breakwater deadline must not be mistaken for one (or the reverse). Test for it with
 * {@link isTimeoutError} or `instanceof`, not by name.
 */
export class BreakwaterTimeoutError extends BreakwaterError {
  override readonly name = 'BreakwaterTimeoutError';
  declare readonly endpoint: string;
  readonly scope: TimeoutScope;
  readonly timeoutMs: number;
  readonly attempts: number;

  constructor(options: BreakwaterTimeoutErrorOptions) {
    const where = 'BreakwaterTimeoutError';
    const endpoint = checkEndpoint(options.endpoint, where);
    if (options.scope !== 'attempt' && options.scope !== 'total') {
      throw new TypeError(
        `breakwater: ${where}: scope must be 'attempt' or 'total', got ${String(options.scope)}`,
      );
    }
    const timeoutMs = checkNonNegative(options.timeoutMs, where, 'timeoutMs');
    const attempts = checkCount(options.attempts ?? 1, where, 'attempts', options.scope === 'total' ? 0 : 1);
    const what =
      options.scope === 'attempt'
        ? `attempt ${attempts}`
        : `call (${attempts === 0 ? 'before any attempt' : plural(attempts, 'attempt')})`;
    super(`${what} to endpoint "${endpoint}" timed out after ${timeoutMs} ms`, {
      endpoint,
      cause: options.cause,
    });
    this.scope = options.scope;
    this.timeoutMs = timeoutMs;
    this.attempts = attempts;
  }
}

/**
 * True for a {@link BreakwaterTimeoutError} (a breakwater deadline), including one created by another
 * copy of breakwater. False for the `DOMException` named `TimeoutError` of `AbortSignal.timeout()`.
 */
export function isTimeoutError(value: unknown): value is BreakwaterTimeoutError {
  return value instanceof BreakwaterTimeoutError || isFamilyMember(value, 'BreakwaterTimeoutError');
}

/** @deprecated Renamed {@link BreakwaterTimeoutError}, whose `name` no DOMException shares. */
export const TimeoutError = BreakwaterTimeoutError;
/** @deprecated Renamed {@link BreakwaterTimeoutError}. */
export type TimeoutError = BreakwaterTimeoutError;
/** @deprecated Renamed {@link BreakwaterTimeoutErrorOptions}. */
export type TimeoutErrorOptions = BreakwaterTimeoutErrorOptions;

export interface BulkheadRejectedErrorOptions {
  /** Endpoint key. */
  readonly endpoint: string;
  /** The bulkhead's concurrency limit. */
  readonly maxConcurrent: number;
  /** The bulkhead's queue limit. */
  readonly maxQueued: number;
}

/** Thrown at once when an endpoint's bulkhead has no free slot and a full queue. */
export class BulkheadRejectedError extends BreakwaterError {
  override readonly name = 'BulkheadRejectedError';
  declare readonly endpoint: string;
  readonly maxConcurrent: number;
  readonly maxQueued: number;

  constructor(options: BulkheadRejectedErrorOptions) {
    const where = 'BulkheadRejectedError';
    const endpoint = checkEndpoint(options.endpoint, where);
    const maxConcurrent = checkCount(options.maxConcurrent, where, 'maxConcurrent', 1);
    const maxQueued = checkCount(options.maxQueued, where, 'maxQueued', 0);
    super(`bulkhead for endpoint "${endpoint}" is full: ${maxConcurrent} running, ${maxQueued} queued`, {
      endpoint,
    });
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
  }
}

/** True for a {@link BulkheadRejectedError}, including one created by another copy of breakwater. */
export function isBulkheadRejectedError(value: unknown): value is BulkheadRejectedError {
  return value instanceof BulkheadRejectedError || isFamilyMember(value, 'BulkheadRejectedError');
}

export interface ThrottledErrorOptions {
  /** Endpoint key. */
  readonly endpoint: string;
  /**
   * Time left of the server-given delay, in ms. Rounded up, and at least 1 (a delay just ended, 0 or
   * below, counts as 1 ms, as for {@link BrokenCircuitErrorOptions.retryAfterMs}); `NaN` and
   * `Infinity` are refused with a RangeError (a server's delay always ends).
   */
  readonly retryAfterMs: number;
}

/**
 * Thrown when a call would go to an endpoint still inside a server-given delay (a 429's Retry-After)
 * and cannot wait for it (the delay exceeds the call's deadline or the retry cap).
 */
export class ThrottledError extends BreakwaterError {
  override readonly name = 'ThrottledError';
  declare readonly endpoint: string;
  /**
   * Time left of the server's delay, in ms (rounded up; at least 1, as a wait of 0 would send a client
   * that honours it straight back to be refused again).
   */
  readonly retryAfterMs: number;

  constructor(options: ThrottledErrorOptions) {
    const endpoint = checkEndpoint(options.endpoint, 'ThrottledError');
    const retryAfterMs = checkWaitMs(options.retryAfterMs, 'ThrottledError', 'retryAfterMs', false);
    super(`endpoint "${endpoint}" is throttled by the server for another ${retryAfterMs} ms`, { endpoint });
    this.retryAfterMs = retryAfterMs;
  }
}

/** True for a {@link ThrottledError}, including one created by another copy of breakwater. */
export function isThrottledError(value: unknown): value is ThrottledError {
  return value instanceof ThrottledError || isFamilyMember(value, 'ThrottledError');
}

/**
 * An error from another copy of breakwater: `instanceof` fails across copies, but the family's
 * registered brand does not, and within the family each class has its own `name`.
 */
function isFamilyMember(value: unknown, name: string): boolean {
  return isBreakwaterError(value) && value.name === name;
}

function checkEndpoint(endpoint: unknown, where: string): string {
  if (typeof endpoint !== 'string' || endpoint === '') {
    throw new TypeError(
      `breakwater: ${where}: endpoint must be a non-empty endpoint key string, got ${typeof endpoint}`,
    );
  }
  return endpoint;
}

/**
 * The wait a refusal tells its caller. It is computed from a clock, so a value at or below 0 (the
 * moment has just passed) is the last millisecond, and 0 would send a client that honours it straight
 * back to be refused again, in a loop: at least 1 ms, as breakwater's own hints (circuit-breaker.ts).
 * Fractions round up so that waiting that long is always enough. `Infinity` only where a refusal can
 * last until a reset by hand (`endless`).
 */
function checkWaitMs(value: unknown, where: string, name: string, endless: boolean): number {
  const infinite = value === Number.POSITIVE_INFINITY;
  if (typeof value !== 'number' || Number.isNaN(value) || (infinite && !endless)) {
    const kind = endless ? 'a number of ms' : 'a finite number of ms';
    throw new RangeError(`breakwater: ${where}: ${name} must be ${kind}, got ${String(value)}`);
  }
  return infinite ? value : Math.max(1, Math.ceil(value));
}

function checkNonNegative(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`breakwater: ${where}: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

/** For the error classes of this package: `HttpError` checks its `attempts` the same way. */
export function checkCount(value: unknown, where: string, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`breakwater: ${where}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
