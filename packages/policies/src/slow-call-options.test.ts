/**
 * `breaker.slowCallMs` and `breaker.slowCallRatio` (slow-call breaking, resilience4j's
 * slowCallDurationThreshold and slowCallRateThreshold): off by default, checked when the policy is built.
 */
import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { definePolicy } from './merge.ts';
import type { PolicyInput } from './types.ts';

describe('slow-call options', () => {
  it('are off by default, with resilience4j’s 100 % rate', () => {
    expect(DEFAULT_POLICY.breaker).toMatchObject({ slowCallMs: null, slowCallRatio: 1 });
  });

  it('accept a threshold and a ratio, and null to switch slow-call breaking off again', () => {
    const on = definePolicy({ breaker: { slowCallMs: 2_000, slowCallRatio: 0.5 } });
    expect(on.breaker).toMatchObject({ slowCallMs: 2_000, slowCallRatio: 0.5 });
    expect(definePolicy({ breaker: { slowCallMs: null } }).breaker.slowCallMs).toBeNull();
  });

  it.each<[PolicyInput, string, string]>([
    [{ breaker: { slowCallMs: 0 } }, 'policy.breaker.slowCallMs', 'must be a finite number of ms > 0, got 0'],
    [{ breaker: { slowCallMs: -5 } }, 'policy.breaker.slowCallMs', '> 0'],
    [{ breaker: { slowCallMs: '2s' as unknown as number } }, 'policy.breaker.slowCallMs', '> 0'],
    [{ breaker: { slowCallRatio: 0 } }, 'policy.breaker.slowCallRatio', 'must be a number in (0, 1], got 0'],
    [{ breaker: { slowCallRatio: 50 } }, 'policy.breaker.slowCallRatio', 'in (0, 1]'],
  ])('refuses %j', (input, path, reason) => {
    const error = configError(() => definePolicy(input));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });
});
