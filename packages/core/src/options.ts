import {
  type Check,
  checkedElsewhere,
  describeNotObject,
  describeValue,
  func,
  integerAtLeast,
  refuse,
  type Shape,
} from '@breakwater/policies';

// Entry points check their options with policies' `checkOptions`; re-exported for core's modules.
export { checkOptions } from '@breakwater/policies';

/** The endpoint configuration that `wrapFetch` and `createEndpointBreakers` share. */
export const ENDPOINT_OPTIONS: Shape = {
  policy: checkedElsewhere,
  endpoints: checkedElsewhere,
  onEvent: func,
  maxEndpoints: integerAtLeast(1),
};

/** The `telemetry` option: what `openTelemetry()` returns, an object with a `bind` function. */
export const telemetryCheck: Check = (value, path) => {
  if (typeof value !== 'object' || typeof (value as { bind?: unknown } | null)?.bind !== 'function') {
    refuse(path, `must be openTelemetry()'s, got ${describeValue(value)}`);
  }
};

/** The `store` option: a store such as `redisStore()` returns (what `BreakwaterStore` describes). */
export const storeCheck: Check = (value, path) => {
  if (typeof (value as { attach?: unknown } | null)?.attach !== 'function') {
    refuse(path, `must be a store such as redisStore() returns, got ${describeNotObject(value)}`);
  }
};
