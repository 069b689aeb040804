import { DEFAULT_POLICY, definePolicy, type PolicyInput } from '@breakwater/policies';
import { expect, it } from 'vitest';
import { createEndpointBreakers, type EndpointBreakersOptions } from './call-breakers.ts';
import { type OpenTelemetryOptions, openTelemetry } from './telemetry.ts';
import { type WrapFetchOptions, wrapFetch } from './wrap-fetch.ts';

/**
 * Options are often computed from the environment, `undefined` when unset. Under
 * `exactOptionalPropertyTypes` (this workspace's setting, and many users') an optional member must
 * also accept `undefined` for such code to type-check; at run time `undefined` counts as absent. This
 * file failed the typecheck before the option types said so.
 */
it('an option set to undefined type-checks and counts as absent', async () => {
  const unset: string | undefined = process.env.BREAKWATER_UNSET_FOR_TEST;
  const policy: PolicyInput = {
    retry: { maxAttempts: unset ? Number(unset) : undefined, backoff: { initialDelayMs: undefined } },
    timeout: { attemptMs: undefined, totalMs: undefined },
    breaker: undefined,
    bulkhead: undefined,
    generateHeadersHosts: undefined,
  };
  expect(definePolicy(policy)).toEqual(definePolicy({}));
  expect(definePolicy(policy).retry.maxAttempts).toBe(DEFAULT_POLICY.retry.maxAttempts);

  const seen: string[] = [];
  const options: WrapFetchOptions = {
    policy,
    baseUrl: unset,
    onEvent: undefined,
    maxEndpoints: undefined,
    throwHttpErrors: undefined,
    endpoints: [{ name: 'items', match: '/items', policy: undefined, keyHeader: undefined }],
  };
  const wrapped = wrapFetch(async (input) => {
    seen.push(String(input instanceof Request ? input.url : input));
    return new Response('ok');
  }, options);
  expect((await wrapped('https://api.test/items')).status).toBe(200);
  expect(seen).toEqual(['https://api.test/items']);
  expect(wrapped.breakers().map((b) => b.key)).toEqual(['items https://api.test']);
});

it('so do the options of the breakers the adapters share and of openTelemetry', () => {
  const breakers: EndpointBreakersOptions = {
    policy: undefined,
    endpoints: undefined,
    maxEndpoints: undefined,
  };
  expect(() => createEndpointBreakers(breakers)).not.toThrow();
  const telemetry: OpenTelemetryOptions = { meterProvider: undefined, tracerProvider: undefined };
  expect(() => openTelemetry(telemetry)).not.toThrow();
});
