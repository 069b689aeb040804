/**
 * The errors breakwater throws itself, as opposed to `HttpError` (a server's answer). Each names the
 * endpoint key (rule name plus origin, never a path or query, so safe to log) and the numbers that
 * explain it, and carries the underlying error as `cause` where there is one.
 */

/** Why a circuit refused a call. */
export interface BrokenCircuitErrorOptions {
  /** Endpoint key. */
  readonly endpoint: string;
  /** `open`: waiting before the next probe. `half-open`: a probe is in flight and holds the only slot. */
  readonly state: 'open' | 'half-open';
  /** Time until the next probe may run, in ms; `Infinity` while the circuit is isolated by hand. */
  readonly retryAfterMs: number;
  /** The failure that last opened the circuit, when known. */
  readonly cause?: unknown;
}

/** Thrown at once, without calling fetch, while an endpoint's circuit breaker is open. */
export class BrokenCircuitError extends Error {
  override readonly name = 'BrokenCircuitError';
  readonly endpoint: string;
  readonly state: 'open' | 'half-open';
  /** Time until the next probe may run, in ms (rounded up; never negative). */
  readonly retryAfterMs: number;

  constructor(options: BrokenCircuitErrorOptions) {
    const endpoint = checkEndpoint(options.endpoint, 'BrokenCircuitError');
    if (options.state !== 'open' && options.state !== 'half-open') {
      throw new TypeError(
        `BrokenCircuitError: state must be 'open' or 'half-open', got ${String(options.state)}`,
      );
    }
    const retryAfterMs = checkRemainingMs(options.retryAfterMs, 'BrokenCircuitError', 'retryAfterMs', true);
    const wait = Number.isFinite(retryAfterMs) ? `next probe in ${retryAfterMs} ms` : 'isolated until reset';
    const why = options.state === 'open' ? 'open' : 'half-open (a probe is in flight)';
    super(`Circuit for endpoint "${endpoint}" is ${why}; ${wait}`, causeOption(options));
    this.endpoint = endpoint;
    this.state = options.state;
    this.retryAfterMs = retryAfterMs;
  }
}

/** Which deadline expired. */
export type TimeoutScope = 'attempt' | 'total';

export interface TimeoutErrorOptions {
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
  /** The abort reason or low-level error, when there is one. */
  readonly cause?: unknown;
}

/**
 * A breakwater deadline expired. Its `name` is `'TimeoutError'`, the name of the `DOMException` that
 * `AbortSignal.timeout()` produces, so existing `err.name === 'TimeoutError'` checks keep working.
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly scope: TimeoutScope;
  readonly timeoutMs: number;
  readonly endpoint: string;
  readonly attempts: number;

  constructor(options: TimeoutErrorOptions) {
    const endpoint = checkEndpoint(options.endpoint, 'TimeoutError');
    if (options.scope !== 'attempt' && options.scope !== 'total') {
      throw new TypeError(`TimeoutError: scope must be 'attempt' or 'total', got ${String(options.scope)}`);
    }
    const timeoutMs = checkNonNegative(options.timeoutMs, 'TimeoutError', 'timeoutMs');
    const attempts = checkCount(
      options.attempts ?? 1,
      'TimeoutError',
      'attempts',
      options.scope === 'total' ? 0 : 1,
    );
    const what =
      options.scope === 'attempt'
        ? `Attempt ${attempts}`
        : `Call (${attempts === 0 ? 'before any attempt' : plural(attempts, 'attempt')})`;
    super(`${what} to endpoint "${endpoint}" timed out after ${timeoutMs} ms`, causeOption(options));
    this.scope = options.scope;
    this.timeoutMs = timeoutMs;
    this.endpoint = endpoint;
    this.attempts = attempts;
  }
}

export interface BulkheadRejectedErrorOptions {
  /** Endpoint key. */
  readonly endpoint: string;
  /** The bulkhead's concurrency limit. */
  readonly maxConcurrent: number;
  /** The bulkhead's queue limit. */
  readonly maxQueued: number;
  readonly cause?: unknown;
}

/** Thrown at once when an endpoint's bulkhead has no free slot and a full queue. */
export class BulkheadRejectedError extends Error {
  override readonly name = 'BulkheadRejectedError';
  readonly endpoint: string;
  readonly maxConcurrent: number;
  readonly maxQueued: number;

  constructor(options: BulkheadRejectedErrorOptions) {
    const endpoint = checkEndpoint(options.endpoint, 'BulkheadRejectedError');
    const maxConcurrent = checkCount(options.maxConcurrent, 'BulkheadRejectedError', 'maxConcurrent', 1);
    const maxQueued = checkCount(options.maxQueued, 'BulkheadRejectedError', 'maxQueued', 0);
    super(
      `Bulkhead for endpoint "${endpoint}" is full: ${maxConcurrent} running, ${maxQueued} queued`,
      causeOption(options),
    );
    this.endpoint = endpoint;
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
  }
}

export interface ThrottledErrorOptions {
  /** Endpoint key. */
  readonly endpoint: string;
  /** Time left of the server-given delay, in ms. */
  readonly retryAfterMs: number;
  /** The throttled response's error (usually an `HttpError` for the 429), when known. */
  readonly cause?: unknown;
}

/**
 * Thrown when a call would go to an endpoint still inside a server-given delay (a 429's Retry-After)
 * and cannot wait for it (the delay exceeds the call's deadline or the retry cap).
 */
export class ThrottledError extends Error {
  override readonly name = 'ThrottledError';
  readonly endpoint: string;
  /** Time left of the server's delay, in ms (rounded up; never negative). */
  readonly retryAfterMs: number;

  constructor(options: ThrottledErrorOptions) {
    const endpoint = checkEndpoint(options.endpoint, 'ThrottledError');
    const retryAfterMs = checkRemainingMs(options.retryAfterMs, 'ThrottledError', 'retryAfterMs', false);
    super(
      `Endpoint "${endpoint}" is throttled by the server for another ${retryAfterMs} ms`,
      causeOption(options),
    );
    this.endpoint = endpoint;
    this.retryAfterMs = retryAfterMs;
  }
}

function causeOption(options: { readonly cause?: unknown }): ErrorOptions | undefined {
  return 'cause' in options && options.cause !== undefined ? { cause: options.cause } : undefined;
}

function checkEndpoint(endpoint: unknown, where: string): string {
  if (typeof endpoint !== 'string' || endpoint === '') {
    throw new TypeError(`${where}: endpoint must be a non-empty endpoint key string, got ${typeof endpoint}`);
  }
  return endpoint;
}

/**
 * A remaining time: computed from a clock, so a slightly negative value (the moment has just passed)
 * means 0, and fractions round up so that waiting that long is always enough.
 */
function checkRemainingMs(value: unknown, where: string, name: string, allowInfinity: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value) || (!allowInfinity && !Number.isFinite(value))) {
    throw new RangeError(`${where}: ${name} must be a number of ms, got ${String(value)}`);
  }
  if (value === Number.POSITIVE_INFINITY) return value;
  return Math.max(0, Math.ceil(value));
}

function checkNonNegative(value: unknown, where: string, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${where}: ${name} must be a finite number >= 0, got ${String(value)}`);
  }
  return value;
}

function checkCount(value: unknown, where: string, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new RangeError(`${where}: ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return value;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
