import { DEFAULT_POLICY, deepFreeze } from './defaults.ts';
import type { Policy, PolicyInput, TimeoutPolicy } from './types.ts';
import { validatePolicy, validatePolicyInput } from './validate.ts';

/**
 * Lays a user's policy over a complete one: objects merge key by key, arrays replace (a status list
 * is a set the user states whole, not an addition), `undefined` keeps the base value, and
 * `bulkhead: null` removes a bulkhead. A bulkhead set over none gets `maxQueued: 0`.
 *
 * A `timeout.totalMs` set without `timeout.attemptMs` cuts the base's attempt timeout to fit inside
 * it, so `timeout: { totalMs: 5000 }` alone means attempts of at most 5000 ms (the default is 10 000).
 * An `attemptMs` set beside it, or over a base deadline, is kept as written, for validation to judge.
 *
 * Neither argument is modified or frozen; the result is a new, deep-frozen policy that shares the
 * base's untouched (already frozen) branches. It does not validate: use {@link definePolicy}, or
 * {@link validatePolicyInput} and {@link validatePolicy}, for user input.
 */
export function mergePolicy(base: Policy, input: PolicyInput | undefined): Policy {
  if (input === undefined) return deepFreeze(ownCopy(base));
  const bulkheadBase = base.bulkhead ?? { maxQueued: 0 };
  const merged = ownCopy({
    retry: mergeData(base.retry, input.retry),
    breaker: mergeData(base.breaker, input.breaker),
    timeout: mergeTimeout(base.timeout, input.timeout),
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

/**
 * The deadline a user writes is the number they mean; an attempt timeout they did not write at the same
 * level (the default's, or the outer policy's) is only a default, so it yields to the deadline rather
 * than make the configuration fail.
 */
function mergeTimeout(base: TimeoutPolicy, over: PolicyInput['timeout']): TimeoutPolicy {
  const merged = mergeData(base, over);
  const totalMs = over?.totalMs;
  if (over?.attemptMs !== undefined || typeof totalMs !== 'number' || merged.attemptMs <= totalMs)
    return merged;
  return { ...merged, attemptMs: totalMs };
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
