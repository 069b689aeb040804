/**
 * breakwater as the overhead section's paired lanes configure it (one endpoint rule per route, no
 * onEvent): the telemetry lanes and the Redis lane differ from it in one option only, so each pairs
 * with the lane without it.
 */
import { type WrapFetchOptions, wrapFetch } from '@breakwater/core';
import type { ClientContext } from './client.ts';

/** breakwater with `extra` (a telemetry, a store) and nothing else set. */
export function breakwaterOff(
  context: ClientContext,
  telemetry?: WrapFetchOptions['telemetry'],
  extra: Pick<WrapFetchOptions, 'store'> = {},
) {
  return wrapFetch(context.fetch, {
    endpoints: context.routes.map((r) => ({
      name: r.name,
      match: r.match,
      policy: { timeout: { attemptMs: context.attemptTimeoutMs } },
    })),
    ...(telemetry ? { telemetry } : {}),
    ...extra,
  });
}

/** A lane with no breaker state to show. */
export const NO_BREAKERS = { breakers: () => [], transitions: () => [], events: () => ({}), close() {} };
