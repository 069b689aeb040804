import { DEFAULT_POLICY, deepFreeze } from './defaults.ts';
import type { Policy, PolicyInput } from './types.ts';
import { validatePolicy, validatePolicyInput } from './validate.ts';

/**
 * Lays a user's policy over a complete one: objects merge key by key, arrays replace (a status list
 * is a set the user states whole, not an addition), `undefined` keeps the base value, and
 * `bulkhead: null` removes a bulkhead. A bulkhead set over none gets `maxQueued: 0`.
 *
 * Fields that validatePolicy ties together (`attemptMs` <= `totalMs`, `initialDelayMs` and
 * `throttleInitialDelayMs` <= `maxDelayMs`, `halfOpenAfterMs` <= `maxHalfOpenAfterMs`) are fitted so
 * that a value nobody wrote never makes what the user wrote invalid:
 *
 * - a limit written in `input` cuts the base's values under it, written there or not:
 *   `timeout: { totalMs: 5000 }` alone means attempts of at most 5000 ms (the default is 10 000);
 * - a value written in `input` above a limit nobody wrote (the built-in default's) raises the limit:
 *   `timeout: { attemptMs: 40000 }` alone means a deadline of 40 000 ms (the default is 30 000);
 * - a limit that was written, in `input` beside the value or in the base (an outer policy, a preset),
 *   is kept, and the value is left for validation to refuse.
 *
 * A base this module did not build (one parsed from JSON, or written out whole) counts as written.
 * An `input` this module built (a preset, a `definePolicy` result, given as an endpoint rule's policy)
 * brings what was written to build it, not the built-in defaults it was completed with.
 *
 * Neither argument is modified or frozen; the result is a new, deep-frozen policy that shares the
 * base's untouched (already frozen) branches. It does not validate: use {@link definePolicy}, or
 * {@link validatePolicyInput} and {@link validatePolicy}, for user input.
 */
export function mergePolicy(base: Policy, input: PolicyInput | undefined): Policy {
  const given = input === undefined ? undefined : (writtenBy.get(input) ?? input);
  const policy = mergeGiven(base, given);
  // A base not built here (parsed from JSON, written out whole) is written throughout: so is what is
  // built on it, which then carries no record and is laid over another base whole, as before (review
  // s24 X: recording only the input dropped such a base's values wherever the result went).
  const written = base === DEFAULT_POLICY ? {} : writtenBy.get(base);
  if (written === undefined) return policy;
  writtenBy.set(policy, given === undefined ? written : mergeData(written, given));
  return policy;
}

/**
 * What was written to build each policy made here: given as the input of another merge (a preset as
 * an endpoint rule's policy, over the configuration's default), a complete policy brought every
 * built-in default it was completed with, and they replaced what the base wrote (audit s24: a rule
 * with `policy: partnerCenter()` got the 30 s deadline and 4 attempts where the default policy wrote
 * 5 s and 2). Kept beside the frozen policy, keyed by it. A built policy then behaves as what was
 * written to build it would: a limit its merge raised (an `attemptMs` above the unwritten deadline)
 * is not recorded, so `definePolicy(x)` and `x` agree at the top and in a rule (review s24 Y; counting
 * it as written refused a rule's longer attempt under such a top-level policy).
 */
const writtenBy = new WeakMap<object, PolicyInput>();

function mergeGiven(base: Policy, input: PolicyInput | undefined): Policy {
  if (input === undefined) return deepFreeze(ownCopy(base));
  const bulkheadBase = base.bulkhead ?? { maxQueued: 0 };
  const merged = ownCopy({
    retry: mergeRetry(base.retry, input.retry),
    breaker: mergeBounded(base.breaker, input.breaker, BREAKER_BOUNDS),
    timeout: mergeBounded(base.timeout, input.timeout, TIMEOUT_BOUNDS),
    throttle: mergeData(base.throttle, input.throttle),
    retryBudget: mergeData(base.retryBudget, input.retryBudget),
    bulkhead:
      input.bulkhead === undefined
        ? base.bulkhead
        : input.bulkhead === null
          ? null
          : mergeData(bulkheadBase, input.bulkhead),
    permanentStatuses: mergeData(base.permanentStatuses, input.permanentStatuses),
    generateHeaders: mergeData(base.generateHeaders, input.generateHeaders),
    generateHeadersHosts: mergeData(base.generateHeadersHosts, input.generateHeadersHosts),
    resumeDownloads: mergeData(base.resumeDownloads, input.resumeDownloads),
    hedging: mergeData(base.hedging, input.hedging),
  } as Policy);
  return deepFreeze(merged);
}

/**
 * Builds a complete policy from what a user wrote, over the built-in {@link DEFAULT_POLICY}: checks
 * the input, merges it (see {@link mergePolicy}) and checks the result. Error paths start at `policy`,
 * e.g. `policy.breaker.failureRatio`.
 *
 * @param input any part of a policy; omitted = the built-in defaults.
 * @throws ConfigError for the first field that cannot work.
 */
export function definePolicy(input?: PolicyInput): Policy {
  validatePolicyInput(input, 'policy');
  const policy = mergePolicy(DEFAULT_POLICY, input);
  validatePolicy(policy, 'policy');
  return policy;
}

/** Fields of one policy section that must not exceed one other field of it, the limit. */
interface Bounds {
  readonly values: readonly string[];
  readonly limit: string;
}

const TIMEOUT_BOUNDS: Bounds = { values: ['attemptMs'], limit: 'totalMs' };
const BACKOFF_BOUNDS: Bounds = { values: ['initialDelayMs', 'throttleInitialDelayMs'], limit: 'maxDelayMs' };
const BREAKER_BOUNDS: Bounds = { values: ['halfOpenAfterMs'], limit: 'maxHalfOpenAfterMs' };

/**
 * Whether the limit of a section built here was written by someone (an input, a preset). A merged
 * policy is plain frozen data, so the answer lives beside it, keyed by the section object itself:
 * frozen sections are shared as they are by later merges, so the answer travels with them.
 */
const limitWritten = new WeakMap<object, boolean>();
limitWritten.set(DEFAULT_POLICY.timeout, false);
limitWritten.set(DEFAULT_POLICY.retry.backoff, false);
limitWritten.set(DEFAULT_POLICY.breaker, false);

function mergeRetry(base: Policy['retry'], over: PolicyInput['retry']): Policy['retry'] {
  const merged = mergeData(base, over);
  if (over?.backoff === undefined) return merged;
  return { ...merged, backoff: mergeBounded(base.backoff, over.backoff, BACKOFF_BOUNDS) };
}

/**
 * Merges one section and fits its bounded fields (see {@link mergePolicy}): what the user wrote is
 * the number they mean, a default is only a default, so the default yields rather than make the
 * configuration fail. A written limit is a promise (a deadline, a cap) and is never raised silently.
 */
function mergeBounded<T extends object>(base: T, over: unknown, bounds: Bounds): T {
  if (!isPlainObject(over)) return mergeData(base, over);
  // A whole section of a policy built here (a preset passed as input) brings its own answer.
  if (limitWritten.has(over)) return over as T;
  const fitted: Record<string, unknown> = { ...(mergeData(base, over) as Record<string, unknown>) };
  const { limit } = bounds;
  const limitHere = over[limit] !== undefined;
  const written = limitHere || (limitWritten.get(base) ?? true);
  for (const field of bounds.values) {
    const value = fitted[field];
    const max = fitted[limit];
    if (typeof value !== 'number' || typeof max !== 'number' || value <= max) continue;
    const valueHere = over[field] !== undefined;
    if (limitHere && !valueHere) fitted[field] = max;
    else if (valueHere && !written) fitted[limit] = value;
  }
  // Frozen here so that the final copy shares this object, and the answer keyed by it stays reachable.
  const section = deepFreeze(fitted);
  limitWritten.set(section, written);
  return section as T;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A copy of plain data, sharing only frozen branches (the frozen default policy stays shared). */
function ownCopy<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) return value.map(ownCopy) as T;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, ownCopy(v)])) as T;
}

/** Plain-data merge with the rules above. Arrays are copied so that freezing never reaches the caller's. */
function mergeData<T>(base: T, over: unknown): T {
  if (over === undefined) return base;
  if (Array.isArray(over)) return [...over] as T;
  if (isPlainObject(over) && isPlainObject(base)) {
    const result: Record<string, unknown> = { ...base };
    for (const [key, value] of Object.entries(over)) {
      if (value !== undefined) result[key] = mergeData(base[key], value);
    }
    return result as T;
  }
  if (isPlainObject(over)) return mergeData({}, over) as T;
  return over as T;
}
