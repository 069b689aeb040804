/**
 * A configuration value that cannot work. Thrown when a policy or an endpoint configuration is built,
 * never per request, so a bad configuration fails at start-up rather than on the first call.
 *
 * The message is `"<path>: <reason>"`, e.g.
 * `endpoints[2].policy.retry.maxAttempts: must be an integer >= 1, got 0`. It never carries a URL's
 * query string or header values: configurations get logged, and those may hold secrets.
 */
export class ConfigError extends Error {
  /** Where the offending value sits, e.g. `policy.breaker.failureRatio` or `endpoints[2].match`. */
  readonly path: string;
  /** What is wrong with it, without the path. */
  readonly reason: string;

  constructor(path: string, reason: string) {
    super(path === '' ? reason : `${path}: ${reason}`);
    this.name = 'ConfigError';
    this.path = path;
    this.reason = reason;
  }
}

/** Joins a property onto a path: `join('policy', 'retry')` is `policy.retry`; the root has no dot. */
export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Describes a bad value for a message: numbers and booleans as written, strings quoted and cut short
 * (a misplaced token must not end up whole in a log), anything else by its type.
 */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'number':
      return Number.isNaN(value) ? 'NaN' : String(value);
    case 'boolean':
      return String(value);
    case 'string':
      return value.length > 32 ? `'${value.slice(0, 32)}...'` : `'${value}'`;
    case 'undefined':
      return 'undefined';
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}
