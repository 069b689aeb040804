/**
 * @breakwater/core: the runtime. `wrapFetch(fetch, options)` returns a function with fetch's exact
 * signature that retries what is worth retrying, fails fast on client errors and opens a circuit breaker
 * per endpoint when an upstream keeps failing, all configured per endpoint (see @breakwater/policies).
 * `createEndpointBreakers` gives the same per-endpoint breakers to calls that are not fetch calls.
 */
export {
  BreakwaterError,
  type BreakwaterErrorOptions,
  ConfigError,
  type ConfigErrorOptions,
  isBreakwaterError,
  isConfigError,
} from '@breakwater/policies';
export {
  type CallTarget,
  createEndpointBreakers,
  type EndpointBreakers,
  type EndpointBreakersOptions,
  type SettledCall,
} from './call-breakers.ts';
export {
  BreakwaterTimeoutError,
  type BreakwaterTimeoutErrorOptions,
  BrokenCircuitError,
  type BrokenCircuitErrorOptions,
  type BrokenCircuitState,
  BulkheadRejectedError,
  type BulkheadRejectedErrorOptions,
  isBrokenCircuitError,
  isBulkheadRejectedError,
  isThrottledError,
  isTimeoutError,
  ThrottledError,
  type ThrottledErrorOptions,
  TimeoutError,
  type TimeoutErrorOptions,
  type TimeoutScope,
} from './errors.ts';
export type {
  AttemptEvent,
  BreakEvent,
  BreakwaterEvent,
  GateOpenEvent,
  GiveUpEvent,
  GiveUpReason,
  HalfOpenEvent,
  HedgeEvent,
  IsolateEvent,
  RateChangeEvent,
  RejectEvent,
  ResetEvent,
  ResumeEvent,
  RetryEvent,
  StoreStatusEvent,
  ThrottledEvent,
  TimeoutEvent,
} from './events.ts';
export { fleetRunOpens } from './fleet-runs.ts';
export { HttpError, type HttpErrorContext, type HttpErrorOptions, isHttpError } from './http-error.ts';
export type { ManualControl } from './manual-control.ts';
export { PROBE_WAIT_MS } from './paced-release.ts';
export { type ErrorPayload, parseErrorPayload, readErrorPayload } from './payload.ts';
export { isSecretHeader, redactHeaders, redactUrl } from './redact.ts';
export { DEFAULT_MAX_ENDPOINTS } from './registry.ts';
export type {
  BreakwaterStore,
  FleetCounter,
  FleetCounts,
  GateProbe,
  RateCut,
  StoreClosure,
  StoreListener,
} from './store.ts';
export type {
  AnyFetch,
  BreakerSnapshot,
  BreakerState,
  FetchLike,
  ResponseLike,
  ThrottlePhase,
} from './types.ts';
export {
  type InitOf,
  type WrapFetchOptions,
  type WrappedCalls,
  type WrappedFetch,
  type WrappedMembers,
  wrapFetch,
} from './wrap-fetch.ts';
export { type AuthChallenge, parseWwwAuthenticate } from './www-authenticate.ts';
