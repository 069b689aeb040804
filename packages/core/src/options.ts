import {
  type Check,
  checkedElsewhere,
  checkShape,
  describeValue,
  func,
  integerAtLeast,
  refuse,
  type Shape,
} from '@breakwater/policies';

/**
 * Checks the options object of an entry point against its table: an object (else refused at the path
 * `options`), then policies' {@link checkShape}, which names each option from the root (`maxEndpoints`)
 * and refuses unknown keys with the known ones listed. `policy` and `endpoints` are left to the
 * endpoint resolver, which checks them with their full paths.
 *
 * @throws ConfigError naming the first offending option.
 */
export function checkOptions(options: unknown, shape: Shape): void {
  if (options === null || typeof options !== 'object') {
    refuse('options', `must be an object, got ${describeValue(options)}`);
  }
  checkShape(options, shape, '');
}

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
    refuse(path, `must be a store such as redisStore() returns, got ${describeValue(value)}`);
  }
};
