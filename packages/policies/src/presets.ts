import { DEFAULT_POLICY } from './defaults.ts';
import { mergePolicy } from './merge.ts';
import type { Policy, PolicyInput } from './types.ts';
import { validatePolicy, validatePolicyInput } from './validate.ts';

/** The host of Partner Center's REST API, the one host the preset's generated headers go to. */
const PARTNER_CENTER_HOSTS = ['api.partnercenter.microsoft.com'];

const PARTNER_CENTER: Policy = mergePolicy(DEFAULT_POLICY, {
  retry: { idempotencyKeyHeaders: ['MS-RequestId', 'Idempotency-Key'] },
  generateHeaders: ['MS-RequestId', 'MS-CorrelationId'],
  generateHeadersHosts: PARTNER_CENTER_HOSTS,
});

/**
 * The policy for Microsoft Partner Center's REST API: the default outcome table and defaults, plus
 * what Partner Center's own rules call for.
 *
 * - Throttling: Partner Center limits calls per tenant and per partner, and answers 429 with
 *   `Retry-After: N` (seconds). The default table already retries 429 after the server's delay, holds
 *   every call to the endpoint key until it elapses, and does not count a 429 against the breaker
 *   (throttled is not broken).
 * - Idempotency: `MS-RequestId` identifies one operation; Partner Center treats a repeated request with
 *   the same id as the same operation. It leads `retry.idempotencyKeyHeaders`, so a request carrying it
 *   is retryable whatever its method, and the same value is sent on every attempt.
 * - `generateHeaders: ['MS-RequestId', 'MS-CorrelationId']`: each call to Partner Center gets a fresh
 *   UUID for either header the caller did not set (the same on every attempt), so POSTs become safely
 *   retryable and every call can be found in Partner Center's logs. Set them yourself to tie calls
 *   together.
 * - `generateHeadersHosts: ['api.partnercenter.microsoft.com']`: only Partner Center deduplicates on
 *   `MS-RequestId`, so the preset, even as the default policy of every endpoint, generates nothing for
 *   any other host, and a POST there without an idempotency key is sent exactly once. Name further
 *   hosts (a sovereign cloud's, a test stand-in) with `generateHeadersHosts`; `null` means every host.
 *
 * Error payloads (`code`, `description`, `isRetryable`, ...) are read by the error rules, not here.
 *
 * @param overrides merged on top: objects merge, arrays replace, `bulkhead: null` removes.
 * @returns a complete, frozen policy, usable as the `policy` of wrapFetch or of an endpoint rule; as a
 *   rule's, what the preset and `overrides` write is laid over the configuration's default policy, as
 *   any rule's policy is (the built-in defaults it was completed with do not replace what that wrote).
 * @throws ConfigError (paths start at `overrides`) for overrides that cannot work.
 */
export function partnerCenter(overrides?: PolicyInput): PolicyInput {
  if (overrides === undefined) return PARTNER_CENTER;
  validatePolicyInput(overrides, 'overrides');
  const policy = mergePolicy(PARTNER_CENTER, overrides);
  validatePolicy(policy, 'overrides');
  return policy;
}
