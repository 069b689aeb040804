/**
 * The root of breakwater's error family. It lives here rather than in core because `ConfigError`
 * does, and core depends on this package, never the reverse.
 */

/** What every breakwater error may carry besides its message. */
export interface BreakwaterErrorOptions {
  /** The endpoint key the error is about (rule name plus origin, so safe to log). Default: none. */
  readonly endpoint?: string | undefined;
  /** The underlying error. Default: none (the error has no `cause` property). */
  readonly cause?: unknown;
}

/** Every breakwater message starts with it, so a log line says where it came from. */
const MESSAGE_PREFIX = 'breakwater: ';

/**
 * A registered symbol rather than a private one: two installed copies of breakwater (two versions in
 * one dependency tree) each have their own classes, so `instanceof` fails across them, but they share
 * `Symbol.for` keys.
 */
const BRAND = Symbol.for('breakwater.BreakwaterError');

/**
 * The base of every error breakwater throws of its own (`ConfigError`, `HttpError`, `BrokenCircuitError`,
 * `BreakwaterTimeoutError`, `BulkheadRejectedError`, `ThrottledError`). Its message starts with
 * `breakwater: `; `endpoint` names the endpoint key where the error is about one (undefined otherwise).
 * Test for it with {@link isBreakwaterError}, which also recognises errors from another copy of breakwater.
 */
export class BreakwaterError extends Error {
  override readonly name: string = 'BreakwaterError';
  /** The endpoint key (rule name plus origin, never a path or query); undefined when none applies. */
  declare readonly endpoint: string | undefined;

  /** @param message The message without the `breakwater: ` prefix, which is added here. */
  constructor(message: string, options: BreakwaterErrorOptions = {}) {
    super(MESSAGE_PREFIX + message, options.cause === undefined ? undefined : { cause: options.cause });
    // Set only when known, so that an error about no endpoint (a ConfigError) does not print one.
    if (options.endpoint !== undefined) this.endpoint = options.endpoint;
  }

  /**
   * What `JSON.stringify` prints: the error's own fields with its `name` and `message` (an Error's
   * `message` is not enumerable, so a JSON log line would otherwise say nothing readable).
   */
  toJSON(): Record<string, unknown> {
    return { ...Object.fromEntries(Object.entries(this)), message: this.message };
  }

  static {
    Object.defineProperty(BreakwaterError.prototype, BRAND, { value: true });
  }
}

/**
 * True for any breakwater error, including one created by another copy of breakwater, where
 * `instanceof BreakwaterError` fails.
 */
export function isBreakwaterError(value: unknown): value is BreakwaterError {
  return value instanceof BreakwaterError || (typeof value === 'object' && value !== null && BRAND in value);
}
