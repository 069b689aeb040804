import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { definePolicy, mergePolicy } from './merge.ts';
import type { PolicyInput } from './types.ts';

describe('mergePolicy', () => {
  it('merges objects key by key, at every depth', () => {
    const policy = mergePolicy(DEFAULT_POLICY, {
      retry: { maxAttempts: 2, backoff: { initialDelayMs: 50 } },
    });
    expect(policy.retry.maxAttempts).toBe(2);
    expect(policy.retry.backoff).toEqual({ ...DEFAULT_POLICY.retry.backoff, initialDelayMs: 50 });
    expect(policy.retry.statuses).toEqual(DEFAULT_POLICY.retry.statuses);
    expect(policy.breaker).toBe(DEFAULT_POLICY.breaker);
  });

  it('replaces arrays rather than concatenating them', () => {
    const policy = mergePolicy(DEFAULT_POLICY, { retry: { statuses: [503] }, permanentStatuses: [] });
    expect(policy.retry.statuses).toEqual([503]);
    expect(policy.permanentStatuses).toEqual([]);
  });

  it('keeps the base value for undefined fields', () => {
    const input = { retry: { maxAttempts: undefined } } as unknown as PolicyInput;
    expect(mergePolicy(DEFAULT_POLICY, input).retry.maxAttempts).toBe(4);
    expect(mergePolicy(DEFAULT_POLICY, undefined)).toEqual(DEFAULT_POLICY);
  });

  it('adds a bulkhead with maxQueued 0, merges one over another and removes it with null', () => {
    const withBulkhead = mergePolicy(DEFAULT_POLICY, { bulkhead: { maxConcurrent: 4 } });
    expect(withBulkhead.bulkhead).toEqual({ maxConcurrent: 4, maxQueued: 0 });
    expect(mergePolicy(withBulkhead, { bulkhead: { maxQueued: 10 } }).bulkhead).toEqual({
      maxConcurrent: 4,
      maxQueued: 10,
    });
    expect(mergePolicy(withBulkhead, { bulkhead: null }).bulkhead).toBeNull();
    expect(mergePolicy(withBulkhead, {}).bulkhead).toEqual({ maxConcurrent: 4, maxQueued: 0 });
  });

  it('returns a deep-frozen policy and leaves the input alone', () => {
    const statuses = [503];
    const input: PolicyInput = { retry: { statuses, backoff: { kind: 'none' } } };
    const policy = mergePolicy(DEFAULT_POLICY, input);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.retry)).toBe(true);
    expect(Object.isFrozen(policy.retry.backoff)).toBe(true);
    expect(Object.isFrozen(policy.retry.statuses)).toBe(true);
    expect(Object.isFrozen(statuses)).toBe(false);
    expect(Object.isFrozen(input)).toBe(false);
    statuses.push(500);
    expect(policy.retry.statuses).toEqual([503]);
  });

  it('raises a limit of the defaults to fit a value written above it, never one of a base it did not build', () => {
    expect(mergePolicy(DEFAULT_POLICY, { timeout: { attemptMs: 40_000 } }).timeout.totalMs).toBe(40_000);
    // A hand-built or JSON-parsed base cannot tell its defaults from what was written: all count as written.
    const parsed = JSON.parse(JSON.stringify(DEFAULT_POLICY)) as typeof DEFAULT_POLICY;
    expect(mergePolicy(parsed, { timeout: { attemptMs: 40_000 } }).timeout).toEqual({
      attemptMs: 40_000,
      totalMs: 30_000,
    });
  });

  it('does not modify or freeze an unfrozen base', () => {
    const base = structuredClone(DEFAULT_POLICY);
    const policy = mergePolicy(base, { timeout: { totalMs: 60_000 } });
    expect(Object.isFrozen(base)).toBe(false);
    expect(Object.isFrozen(base.retry)).toBe(false);
    expect(base.timeout.totalMs).toBe(30_000);
    expect(policy.timeout.totalMs).toBe(60_000);
    expect(Object.isFrozen(mergePolicy(base, undefined).retry)).toBe(true);
  });
});

describe('definePolicy', () => {
  it('returns the defaults when given nothing', () => {
    expect(definePolicy()).toEqual(DEFAULT_POLICY);
  });

  it('merges over the defaults', () => {
    const policy = definePolicy({
      breaker: { consecutiveFailures: 3 },
      timeout: { totalMs: 5_000, attemptMs: 1_000 },
    });
    expect(policy.breaker.consecutiveFailures).toBe(3);
    expect(policy.breaker.failureRatio).toBe(0.5);
    expect(policy.timeout).toEqual({ attemptMs: 1_000, totalMs: 5_000 });
  });

  it('throws ConfigError for a bad field, with paths from policy', () => {
    const error = (() => {
      try {
        definePolicy({ breaker: { failureRatio: 2 } });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).path).toBe('policy.breaker.failureRatio');
  });

  it('throws ConfigError for two written values that conflict', () => {
    expect(() => definePolicy({ breaker: { halfOpenAfterMs: 5_000, maxHalfOpenAfterMs: 1_000 } })).toThrow(
      'policy.breaker.halfOpenAfterMs: 5000 exceeds breaker.maxHalfOpenAfterMs (1000)',
    );
  });
});
