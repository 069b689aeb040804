/**
 * @breakwater/core/telemetry: OpenTelemetry traces and metrics for `wrapFetch`, and the names of the
 * `diagnostics_channel` channels every wrapped fetch publishes on. Needs `@opentelemetry/api` (an
 * optional peer dependency of @breakwater/core).
 *
 * ```ts
 * import { wrapFetch } from '@breakwater/core';
 * import { openTelemetry } from '@breakwater/core/telemetry';
 * const fetch2 = wrapFetch(fetch, { telemetry: openTelemetry() });
 * ```
 */
export { channelName } from './telemetry/diagnostics.ts';
export type { AttemptEnd, CallEnd, RequestLike, Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
export { BREAKER_STATE_VALUES } from './telemetry/metrics.ts';
export {
  INSTRUMENTATION_SCOPE,
  type OpenTelemetryOptions,
  openTelemetry,
} from './telemetry/open-telemetry.ts';
