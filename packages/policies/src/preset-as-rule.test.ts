/**
 * A policy built here (a preset, a definePolicy result) given as an endpoint rule's policy is laid over
 * the configuration's default policy with what was written to build it: the built-in defaults it was
 * completed with no longer replace what the default policy wrote (audit s24).
 */
import { describe, expect, it } from 'vitest';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';
import type { PolicyInput } from './types.ts';

const PC = 'https://api.partnercenter.microsoft.com/v1/customers';

function ruleOver(policy: PolicyInput) {
  return createEndpointResolver({
    policy: { timeout: { totalMs: 5000 }, retry: { maxAttempts: 2 } },
    endpoints: [{ name: 'pc', match: 'https://api.partnercenter.microsoft.com/*', policy }],
  }).resolve('GET', PC).policy;
}

describe('a built policy as a rule policy keeps what the default policy wrote', () => {
  it.each<[string, () => PolicyInput]>([
    ['partnerCenter()', () => partnerCenter()],
    ['partnerCenter({ retryBudget })', () => partnerCenter({ retryBudget: { ratio: 0.1 } })],
    ['definePolicy({ hedging })', () => definePolicy({ hedging: { enabled: true } })],
  ])('%s: the written 5 s deadline and 2 attempts stay', (_, preset) => {
    const policy = ruleOver(preset());
    expect(policy.timeout.totalMs).toBe(5000);
    expect(policy.retry.maxAttempts).toBe(2);
  });

  it('and adds what the preset and its overrides write', () => {
    const policy = ruleOver(partnerCenter({ retryBudget: { ratio: 0.1 } }));
    expect(policy.generateHeaders).toEqual(['MS-RequestId', 'MS-CorrelationId']);
    expect(policy.retry.idempotencyKeyHeaders[0]).toBe('MS-RequestId');
    expect(policy.retryBudget.ratio).toBe(0.1);
  });

  it('as the default policy, a preset gives what it gave before', () => {
    expect(createEndpointResolver({ policy: partnerCenter() }).resolve('GET', PC).policy).toEqual(
      partnerCenter(),
    );
  });
});
