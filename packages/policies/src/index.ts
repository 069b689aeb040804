/**
 * @breakwater/policies: the pure HTTP rules behind breakwater, with no I/O, timers or dependencies.
 *
 * - What to do with an outcome: {@link classify} applies the default outcome table (or an endpoint's
 *   own) to a response or error, using {@link parseRetryAfter} for server delays
 *   ({@link parseRateLimit} reads a spent quota from RateLimit headers for the throttle gate), {@link recognizeError}
 *   for thrown errors and {@link isIdempotent} for whether a request may be repeated.
 * - How long to wait: {@link backoffDelay}; whether to retry at all: {@link nextStep}, the one retry
 *   decision of core's loop and its cockatiel and p-retry adapters.
 * - Which policy applies: {@link definePolicy} and {@link mergePolicy} build policies over
 *   {@link DEFAULT_POLICY}; {@link createEndpointResolver} maps (method, URL) to an endpoint key and
 *   policy; {@link partnerCenter} is the preset for Microsoft Partner Center.
 * - Bad configuration throws {@link ConfigError} when it is built, naming the offending field. Every
 *   error breakwater throws of its own extends {@link BreakwaterError} ({@link isBreakwaterError}).
 *   Policies are checked against a table of {@link Shape}s; {@link checkShape} and its checks
 *   ({@link boolean}, {@link func}, {@link integerAtLeast}) check core's options the same way.
 */
export { BACKOFF_KINDS, type BackoffState, backoffDelay, isBackoffKind } from './backoff.ts';
export { BreakwaterError, type BreakwaterErrorOptions, isBreakwaterError } from './breakwater-error.ts';
export { classify } from './classify.ts';
export {
  ConfigError,
  type ConfigErrorOptions,
  describeValue,
  isConfigError,
  refuse,
} from './config-error.ts';
export { DEFAULT_POLICY } from './defaults.ts';
export {
  type CompiledPattern,
  createEndpointResolver,
  type EndpointResolver,
  matchesPattern,
  type PathSegment,
  parseMatch,
} from './endpoint.ts';
export { type RecognizedError, recognizeError } from './fetch-errors.ts';
export { isFetchManagedHeader, isSecretHeader } from './headers.ts';
export { isIdempotent, isIdempotentAtOnce } from './idempotency.ts';
export { secretValueHash } from './keyed-hash.ts';
export { definePolicy, mergePolicy } from './merge.ts';
export { callMethodProblem } from './methods.ts';
export {
  type NextStep,
  nextStep,
  type RetryDecision,
  type RetryFacts,
  type StopReason,
} from './next-step.ts';
export { partnerCenter } from './presets.ts';
export { parseRateLimit, type QuotaSpent } from './rate-limit-headers.ts';
export { parseHttpDate, parseRetryAfter, type ServerDelay } from './retry-after.ts';
export { MAX_TIMER_MS } from './timer-limit.ts';
export { isToken, TOKEN_CHAR } from './token.ts';
export type * from './types.ts';
export { memoizableUrl } from './url-memo.ts';
export {
  boolean,
  type Check,
  checkedElsewhere,
  checkOptions,
  checkShape,
  describeNotObject,
  func,
  integerAtLeast,
  type Shape,
  validatePolicy,
  validatePolicyInput,
} from './validate.ts';
