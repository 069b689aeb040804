import { BreakwaterError, isBreakwaterError } from './breakwater-error.ts';

/** Where a configuration value is wrong, and why. */
export interface ConfigErrorOptions {
  /**
   * Where the offending value sits, e.g. `policy.breaker.failureRatio` or `endpoints[2].match`; `''`
   * for the configuration as a whole.
   */
  readonly path: string;
  /** What is wrong with it, without the path, e.g. `must be an integer >= 1, got 0`. */
  readonly reason: string;
}

/**
 * A configuration value that cannot work. Thrown when a policy or an endpoint configuration is built,
 * never per request, so a bad configuration fails at start-up rather than on the first call.
 *
 * The message is `"breakwater: <path>: <reason>"`, e.g.
 * `breakwater: endpoints[2].policy.retry.maxAttempts: must be an integer >= 1, got 0`. It never carries
 * a URL's query string or header values: configurations get logged, and those may hold secrets.
 */
export class ConfigError extends BreakwaterError {
  override readonly name = 'ConfigError';
  /** Where the offending value sits, e.g. `policy.breaker.failureRatio` or `endpoints[2].match`. */
  readonly path: string;
  /** What is wrong with it, without the path. */
  readonly reason: string;

  constructor(options: ConfigErrorOptions);
  /** @deprecated Pass an options object: `new ConfigError({ path, reason })`. */
  constructor(path: string, reason: string);
  constructor(pathOrOptions: ConfigErrorOptions | string, positionalReason?: string) {
    const { path, reason } = configErrorOptions(pathOrOptions, positionalReason);
    super(path === '' ? reason : `${path}: ${reason}`);
    this.path = path;
    this.reason = reason;
  }
}

function configErrorOptions(pathOrOptions: ConfigErrorOptions | string, reason?: string): ConfigErrorOptions {
  return typeof pathOrOptions === 'string' ? { path: pathOrOptions, reason: reason ?? '' } : pathOrOptions;
}

/** Throws the {@link ConfigError} for `path`: a validator's refusal in one statement. */
export function refuse(path: string, reason: string): never {
  throw new ConfigError({ path, reason });
}

/** True for a {@link ConfigError}, including one created by another copy of breakwater. */
export function isConfigError(value: unknown): value is ConfigError {
  // Across copies of breakwater: the family's brand, then the class's own name.
  return value instanceof ConfigError || (isBreakwaterError(value) && value.name === 'ConfigError');
}

/** Joins a property onto a path: `join('policy', 'retry')` is `policy.retry`; the root has no dot. */
export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/**
 * Describes a bad value for a message: numbers and booleans as written, strings quoted and cut short
 * (a misplaced token must not end up in a log), anything else by its type. A string is shown up to 32
 * characters and no further than its first space, `:`, `=`, `@`, `?` or `#` after any scheme, where a
 * secret's part may start: a URL's `user:password@` or query, a header line's value (`X-Api-Key:
 * sk_live_…`, `Authorization: Bearer …`) given where a name or a function belongs (audit s24); a
 * string longer than 20 characters with none of them (a token given alone) only up to 8.
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
      return quotedStart(value);
    case 'undefined':
      return 'undefined';
    case 'object':
      return 'an object';
    default:
      return `a ${typeof value}`;
  }
}

/** Where a string stops being shown: a secret's part may follow any of these. */
const SECRET_MAY_FOLLOW = /[\s:=@?#]/;

function quotedStart(text: string): string {
  // After a scheme (a URL's `https://` says nothing secret), and from the second character (a value
  // that starts with one, a `:param`, is shown, not emptied).
  const scheme = SCHEME_PREFIX.exec(text)?.[0] ?? '';
  // A URL with userinfo (`https://:pw@…`, a token as the user name): nothing past its scheme.
  if (scheme !== '' && /^[^/?#]*@/.test(text.slice(scheme.length))) return `'${scheme}...'`;
  const from = scheme.length > 0 ? scheme.length : 1;
  const after = text.slice(from).search(SECRET_MAY_FOLLOW);
  // A long run without any of them is most likely a token itself (`ghp_…`): only its first characters.
  const longest = after === -1 && text.length > 20 ? 8 : 32;
  const shown = (after === -1 ? text : text.slice(0, from + after)).slice(0, longest);
  return shown.length < text.length ? `'${shown}...'` : `'${shown}'`;
}

/** A URL's scheme (captured) and its `//`; endpoint patterns read it too. */
export const SCHEME_PREFIX = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
