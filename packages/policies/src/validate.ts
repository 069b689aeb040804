import { BACKOFF_KINDS, isBackoffKind } from './backoff.ts';
import { describeValue, refuse as fail, joinPath } from './config-error.ts';
import { closest } from './did-you-mean.ts';
import { isFetchManagedHeader, isSecretHeader } from './headers.ts';
import { methodProblem } from './methods.ts';
import { isToken } from './token.ts';
import type { Policy } from './types.ts';

/**
 * Checks one value and throws a ConfigError naming `path` when it cannot work. `undefined` never
 * reaches a check: an absent key means "keep the outer value" (or the option's default). `required`
 * is true when every key of the object being checked must be present (a merged policy).
 */
export type Check = (value: unknown, path: string, required: boolean) => void;

/** The keys an object may hold, each with its check or nested shape; any other key is refused. */
export interface Shape {
  readonly [key: string]: Check | Shape;
}

/** Checks a boolean. */
export const boolean: Check = (value, path) => {
  if (typeof value !== 'boolean') fail(path, `must be a boolean, got ${describeValue(value)}`);
};

/** Checks a function (a callback option: a listener, a random source, a veto). */
export const func: Check = (value, path) => {
  if (typeof value !== 'function') fail(path, `must be a function, got ${describeValue(value)}`);
};

/**
 * Checks an integer (a safe one: a count beyond 2^53 is a typo, and loses precision) of at least `min`.
 */
export const integerAtLeast =
  (min: number): Check =>
  (value, path) => {
    if (!Number.isSafeInteger(value) || (value as number) < min) {
      fail(path, `must be an integer >= ${min}, got ${describeValue(value)}`);
    }
  };

/** Accepts any value: a key the shape knows whose value is checked elsewhere (by the code it is passed to). */
export const checkedElsewhere: Check = () => {};

/** A delay in ms: finite and >= 0 (JSON cannot carry Infinity, and "wait forever" is never meant). */
const delay: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(path, `must be a finite number of ms >= 0, got ${describeValue(value)}`);
  }
};

/** A duration that must elapse before something can happen at all: a 0 ms timeout fails every call. */
const positiveDuration: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(path, `must be a finite number of ms > 0, got ${describeValue(value)}`);
  }
};

const multiplier: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    fail(path, `must be a finite number >= 1 (delays must not shrink), got ${describeValue(value)}`);
  }
};

const ratio: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    fail(path, `must be a number in (0, 1], got ${describeValue(value)}`);
  }
};

const backoffKind: Check = (value, path) => {
  if (!isBackoffKind(value)) {
    fail(
      path,
      `must be one of ${BACKOFF_KINDS.map((k) => `'${k}'`).join(', ')}, got ${describeValue(value)}`,
    );
  }
};

const listOf =
  (item: Check): Check =>
  (value, path) => {
    if (!Array.isArray(value)) fail(path, `must be an array, got ${describeValue(value)}`);
    (value as unknown[]).forEach((element, i) => {
      item(element, `${path}[${i}]`, true);
    });
  };

const status: Check = (value, path) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 100 || value > 599) {
    fail(path, `must be an HTTP status, an integer in 100..599, got ${describeValue(value)}`);
  }
};

const tokenOf =
  (what: string): Check =>
  (value, path) => {
    if (typeof value !== 'string' || !isToken(value)) {
      fail(path, `must be a valid ${what} (an RFC 9110 token), got ${describeValue(value)}`);
    }
  };

/** A status, but no 2xx: `why` says why a success cannot be one, after the refused status. */
const notSuccess =
  (why: string): Check =>
  (value, path, required) => {
    status(value, path, required);
    if ((value as number) >= 200 && (value as number) <= 299) fail(path, `${value as number} ${why}`);
  };

/** A status worth another attempt: a 2xx is the success a retry would be after. */
const retryStatus = notSuccess('cannot be retried: a 2xx response is a success and is never retried');

/**
 * A status that marks the upstream failing (the breaker's) or over its rate (the gate's): a 2xx is a
 * success, and as a breaker failure it opened the breaker on healthy answers (audit s24).
 */
const failingStatus = notSuccess('is a success: a 2xx response never counts as a failure or a throttle');

/** A method name, with the rule of methods.ts: typos and lower-case custom methods are refused. */
const method: Check = (value, path, required) => {
  tokenOf('method name')(value, path, required);
  const problem = methodProblem(value as string);
  if (problem !== undefined) fail(path, problem);
};

/**
 * A header breakwater sets to a fresh UUID: neither a credential (a random value there is at best
 * useless and at worst replaces the caller's) nor a header fetch sets or refuses itself.
 */
const generatedHeader: Check = (value, path, required) => {
  tokenOf('header name')(value, path, required);
  const name = value as string;
  if (isSecretHeader(name)) {
    fail(path, `'${name}' carries credentials; breakwater never generates a credential header`);
  }
  if (isFetchManagedHeader(name)) {
    fail(path, `'${name}' cannot be generated: fetch manages it (a forbidden request header)`);
  }
};

/** A host name as a URL carries it (`api.example.com`, `127.0.0.1`, `[::1]`): no scheme, port or path. */
const hostName: Check = (value, path) => {
  const problem = `must be a host name such as 'api.example.com' (no scheme, port or path), got ${describeValue(value)}`;
  if (typeof value !== 'string' || value === '' || !URL.canParse(`http://${value}/`)) fail(path, problem);
  // The URL parser takes a '*' as a host, which no request has: generated headers went nowhere.
  if (value.includes('*')) {
    fail(
      path,
      `must be a host name, not a pattern, got ${describeValue(value)}: list each host, or set null for every host`,
    );
  }
  const url = new URL(`http://${value}/`);
  // An internationalized name is kept in its ASCII form (the one URLs carry): nothing else may change.
  const asWritten = /[^\0-\x7f]/.test(value) ? !/[\s/?#@:\\%]/.test(value) : url.host === value.toLowerCase();
  if (!asWritten || url.port !== '') fail(path, problem);
};

/** `null` = every host. */
const hostNames: Check = (value, path, required) => {
  if (value !== null) listOf(hostName)(value, path, required);
};

const statuses = listOf(status);
const retryStatuses = listOf(retryStatus);
const failingStatuses = listOf(failingStatus);
const methods = listOf(method);
const headerNames = listOf(tokenOf('header name'));

const BACKOFF: Shape = {
  kind: backoffKind,
  initialDelayMs: delay,
  multiplier,
  maxDelayMs: delay,
  throttleInitialDelayMs: delay,
};

const RETRY: Shape = {
  maxAttempts: integerAtLeast(1),
  backoff: BACKOFF,
  maxRetryAfterMs: delay,
  statuses: retryStatuses,
  networkErrors: boolean,
  timeouts: boolean,
  idempotentMethods: methods,
  idempotencyKeyHeaders: headerNames,
  idempotent: boolean,
  retryAnyMethodStatuses: retryStatuses,
};

const BREAKER: Shape = {
  enabled: boolean,
  failureStatuses: failingStatuses,
  networkErrors: boolean,
  timeouts: boolean,
  consecutiveFailures: integerAtLeast(1),
  failureRatio: ratio,
  minimumCalls: integerAtLeast(1),
  windowMs: positiveDuration,
  // 0 would send a probe the moment the breaker opens: an open breaker that never holds anything back.
  halfOpenAfterMs: positiveDuration,
  maxHalfOpenAfterMs: positiveDuration,
  // `null` is "no slow-call breaking"; 0 would make every call slow.
  slowCallMs: (value, path, required) => {
    if (value !== null) positiveDuration(value, path, required);
  },
  slowCallRatio: ratio,
};

const TIMEOUT: Shape = { attemptMs: positiveDuration, totalMs: positiveDuration };

const THROTTLE: Shape = {
  enabled: boolean,
  statuses: failingStatuses,
  releaseSpreadMs: delay,
  rateLimitHeaders: boolean,
  adaptive: boolean,
  // 0 would drop the rate the moment it is set: an adaptive mode that never paces anything.
  quietMs: positiveDuration,
};

const RETRY_BUDGET: Shape = {
  enabled: boolean,
  ratio,
  minRetries: integerAtLeast(0),
  windowMs: positiveDuration,
};

const BULKHEAD: Shape = { maxConcurrent: integerAtLeast(1), maxQueued: integerAtLeast(0) };

// A bulkhead set only in part over "no bulkhead" has no maxConcurrent to fall back on: the merged
// policy must name it.
const bulkhead: Check = (value, path, required) => {
  if (value !== null) checkObject(value, BULKHEAD, path, required);
};

/** Hedged attempts beside the first: gRPC caps a hedged call at 5 attempts; 10 in all is already a storm. */
const hedgedAttempts: Check = (value, path, required) => {
  integerAtLeast(1)(value, path, required);
  if ((value as number) > 9)
    fail(path, `must be at most 9 (10 attempts in flight at once), got ${value as number}`);
};

const HEDGING: Shape = { enabled: boolean, maxHedgedAttempts: hedgedAttempts, delayMs: delay };

const POLICY: Shape = {
  retry: RETRY,
  breaker: BREAKER,
  timeout: TIMEOUT,
  throttle: THROTTLE,
  retryBudget: RETRY_BUDGET,
  bulkhead,
  permanentStatuses: statuses,
  generateHeaders: listOf(generatedHeader),
  generateHeadersHosts: hostNames,
  resumeDownloads: boolean,
  hedging: HEDGING,
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Throws for a key the shape does not know, suggesting the nearest known one (typos are the usual
 * cause) and listing the known keys.
 */
export function rejectUnknownKeys(
  value: Record<string, unknown>,
  known: readonly string[],
  path: string,
  shape?: Shape,
): void {
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const suggestion = closest(key, known) ?? (shape && oneLevelDown(key, shape));
    fail(
      joinPath(path, key),
      `unknown key '${key}'${suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`}; known keys: ${known.join(', ')}`,
    );
  }
}

/**
 * `key` as a key of one of `shape`'s sections (`retry.maxAttempts` for `policy: { maxAttempts }`): a
 * key written one level too high got only the list of this level's keys (audit s24).
 */
function oneLevelDown(key: string, shape: Shape): string | undefined {
  for (const [section, rule] of Object.entries(shape)) {
    if (typeof rule !== 'function' && Object.hasOwn(rule, key)) return `${section}.${key}`;
  }
  return undefined;
}

function checkObject(value: unknown, shape: Shape, path: string, required: boolean): void {
  if (!isPlainObject(value)) fail(path, `must be an object, got ${describeValue(value)}`);
  const object = value as Record<string, unknown>;
  rejectUnknownKeys(object, Object.keys(shape), path, shape);
  for (const [key, rule] of Object.entries(shape)) {
    const child = object[key];
    const childPath = joinPath(path, key);
    if (child === undefined) {
      if (required) fail(childPath, 'is required');
      continue;
    }
    if (typeof rule === 'function') rule(child, childPath, required);
    else checkObject(child, rule, childPath, required);
  }
}

/**
 * How an option that must be an object (a client, a store, the options themselves) is named when it is
 * not: a string there is most likely a connection URL, whose password must not reach the message.
 */
export function describeNotObject(value: unknown): string {
  return typeof value === 'string' ? 'a string' : describeValue(value);
}

/**
 * Checks the options object of an entry point against its table: an object (else refused at the path
 * `options`), then {@link checkShape}, which names each option from the root (`maxEndpoints`).
 *
 * @throws ConfigError naming the first offending option.
 */
export function checkOptions(options: unknown, shape: Shape): void {
  if (options === null || typeof options !== 'object') {
    fail('options', `must be an object, got ${describeNotObject(options)}`);
  }
  checkShape(options, shape, '');
}

/**
 * Checks an object against a {@link Shape}: an object (not an array or `null`), no key the shape does
 * not know (the nearest known key suggested, the known keys listed), and each key's check or nested
 * shape applied to its value; an `undefined` value counts as absent and is not checked. Rules that tie
 * two keys together are the caller's, after this.
 *
 * @param path where the object sits, prefixed to every error path; `''` for the root, whose keys are
 *   then named alone (`maxEndpoints`, not `.maxEndpoints`).
 * @throws ConfigError naming the first offending path.
 */
export function checkShape(value: unknown, shape: Shape, path: string): void {
  checkObject(value, shape, path, false);
}

/**
 * Checks what a user wrote as a policy (a `PolicyInput`: any part of a policy) field by field: unknown
 * keys at any level (with the nearest known key suggested), wrong types, negative or non-finite delays,
 * `maxAttempts` below 1, statuses outside 100..599, `failureRatio` outside (0, 1], invalid header or
 * method names, and so on. `undefined` fields are treated as absent. Checks that involve two fields
 * need the merged policy: see {@link validatePolicy}.
 *
 * @param input the value to check; `undefined` is accepted (nothing to merge).
 * @param path where the value sits, prefixed to every error path (e.g. `policy` or `endpoints[2].policy`).
 * @throws ConfigError naming the first offending field.
 */
export function validatePolicyInput(input: unknown, path: string): void {
  if (input === undefined) return;
  checkObject(input, POLICY, path, false);
}

/**
 * Checks a complete, merged policy: every field present and valid (as {@link validatePolicyInput}),
 * then the rules that tie two fields together, which only the merged result can answer (an endpoint
 * may set `timeout.attemptMs` while the total deadline comes from the default policy):
 *
 * - `timeout.attemptMs` must not exceed `timeout.totalMs`;
 * - `retry.backoff.initialDelayMs` and `retry.backoff.throttleInitialDelayMs` must not exceed
 *   `retry.backoff.maxDelayMs`;
 * - `breaker.halfOpenAfterMs` must not exceed `breaker.maxHalfOpenAfterMs`.
 *
 * `mergePolicy` fits a default nobody wrote to what was written, so in a merged policy these
 * fail only for two values both written (the path names the value, which was written in the input
 * being merged), never because of a built-in default.
 *
 * @param path where the policy sits, prefixed to every error path.
 * @throws ConfigError naming the offending field and the field it conflicts with.
 */
export function validatePolicy(policy: Policy, path: string): void {
  checkObject(policy, POLICY, path, true);
  const { retry, breaker, timeout } = policy;
  const conflict = (field: string, value: number, other: string, otherValue: number, why: string): void => {
    if (value > otherValue) {
      fail(joinPath(path, field), `${value} exceeds ${other} (${otherValue}): ${why}`);
    }
  };
  conflict(
    'timeout.attemptMs',
    timeout.attemptMs,
    'timeout.totalMs',
    timeout.totalMs,
    'one attempt cannot outlast the whole call',
  );
  conflict(
    'retry.backoff.initialDelayMs',
    retry.backoff.initialDelayMs,
    'retry.backoff.maxDelayMs',
    retry.backoff.maxDelayMs,
    'the first delay would already be capped',
  );
  conflict(
    'retry.backoff.throttleInitialDelayMs',
    retry.backoff.throttleInitialDelayMs,
    'retry.backoff.maxDelayMs',
    retry.backoff.maxDelayMs,
    'the first throttling delay would already be capped',
  );
  conflict(
    'breaker.halfOpenAfterMs',
    breaker.halfOpenAfterMs,
    'breaker.maxHalfOpenAfterMs',
    breaker.maxHalfOpenAfterMs,
    'the first wait would already be above its cap',
  );
}
