/**
 * A policy built here (a preset, a definePolicy result) given as an endpoint rule's policy is laid over
 * the configuration's default policy with what was written to build it: the built-in defaults it was
 * completed with no longer replace what the default policy wrote (audit s24).
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from './defaults.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy, mergePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';
import type { Policy, PolicyInput } from './types.ts';

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

describe('what a built policy carries, and what it does not (review s24 X)', () => {
  /** A complete policy as a team ships it in JSON: not built here, so written throughout. */
  const shipped = (): Policy =>
    JSON.parse(
      JSON.stringify({
        ...DEFAULT_POLICY,
        retry: { ...DEFAULT_POLICY.retry, maxAttempts: 7 },
        timeout: { totalMs: 60_000, attemptMs: 20_000 },
      }),
    ) as Policy;

  it('a policy merged over one not built here keeps all of that base, as a rule or at the top', () => {
    const tweaked = mergePolicy(shipped(), { retryBudget: { ratio: 0.2 } });
    const rule = ruleOver(tweaked);
    expect([rule.retry.maxAttempts, rule.timeout.totalMs, rule.retryBudget.ratio]).toEqual([7, 60_000, 0.2]);
    const top = createEndpointResolver({ policy: tweaked }).resolve('GET', PC).policy;
    expect([top.retry.maxAttempts, top.timeout.totalMs]).toEqual([7, 60_000]);
    expect(definePolicy(tweaked).retry.maxAttempts).toBe(7);
  });

  it('a built policy behaves as what was written to build it, at the top and in a rule (review s24 Y)', () => {
    const written: PolicyInput = { timeout: { attemptMs: 40_000 } };
    // In a rule under a written 5 s deadline: refused, as the same input written there is.
    for (const policy of [written, definePolicy(written)]) {
      expect(() => ruleOver(policy)).toThrow(/endpoints\[0\]\.policy\.timeout\.attemptMs/);
    }
    // At the top, with a rule's longer attempt: the deadline its merge raised is raised again.
    for (const policy of [written, definePolicy(written)]) {
      const rule = createEndpointResolver({
        policy,
        endpoints: [
          {
            name: 'pc',
            match: 'https://api.partnercenter.microsoft.com/*',
            policy: { timeout: { attemptMs: 60_000 } },
          },
        ],
      }).resolve('GET', PC).policy;
      expect(rule.timeout).toEqual({ attemptMs: 60_000, totalMs: 60_000 });
    }
  });
});
