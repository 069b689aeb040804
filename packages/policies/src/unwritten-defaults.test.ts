/**
 * Issue 9 item 13, follow-up: a default nobody wrote adapts to fit what the user wrote, for every pair
 * of fields validatePolicy ties together (attemptMs <= totalMs, initialDelayMs and
 * throttleInitialDelayMs <= maxDelayMs, halfOpenAfterMs <= maxHalfOpenAfterMs). Only two values that
 * were both written (by the user, a preset or an outer policy) can conflict, and the error names the
 * one written last.
 */
import { describe, expect, it } from 'vitest';
import { configError, policyBuilders } from './config-error.test-util.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';
import type { EndpointsConfig, Policy, PolicyInput } from './types.ts';

describe.each(policyBuilders)('a default the user did not write fits what they wrote (%s)', (_, build) => {
  it('retry.backoff.maxDelayMs: 500 cuts the default throttling delay (1000) to 500', () => {
    expect(build({ retry: { backoff: { maxDelayMs: 500 } } }).retry.backoff).toMatchObject({
      initialDelayMs: 200,
      throttleInitialDelayMs: 500,
      maxDelayMs: 500,
    });
  });

  it('a cap below both default first delays cuts both', () => {
    expect(build({ retry: { backoff: { maxDelayMs: 100 } } }).retry.backoff).toMatchObject({
      initialDelayMs: 100,
      throttleInitialDelayMs: 100,
      maxDelayMs: 100,
    });
  });

  it('a first delay above the default cap (30 000) raises the cap to it', () => {
    expect(build({ retry: { backoff: { initialDelayMs: 40_000 } } }).retry.backoff).toMatchObject({
      initialDelayMs: 40_000,
      throttleInitialDelayMs: 1_000,
      maxDelayMs: 40_000,
    });
    expect(
      build({ retry: { backoff: { initialDelayMs: 40_000, throttleInitialDelayMs: 50_000 } } }).retry.backoff
        .maxDelayMs,
    ).toBe(50_000);
  });

  it('breaker.maxHalfOpenAfterMs: 1000 cuts the default first wait (5000) to 1000', () => {
    expect(build({ breaker: { maxHalfOpenAfterMs: 1_000 } }).breaker).toMatchObject({
      halfOpenAfterMs: 1_000,
      maxHalfOpenAfterMs: 1_000,
    });
  });

  it('breaker.halfOpenAfterMs: 120000 raises the default cap (60 000) to it', () => {
    expect(build({ breaker: { halfOpenAfterMs: 120_000 } }).breaker).toMatchObject({
      halfOpenAfterMs: 120_000,
      maxHalfOpenAfterMs: 120_000,
    });
  });

  it('timeout.totalMs: 5000 cuts the default attempt timeout (10 000) to 5000', () => {
    expect(build({ timeout: { totalMs: 5_000 } }).timeout).toEqual({ attemptMs: 5_000, totalMs: 5_000 });
    // Above the default attempt timeout, the attempt timeout is kept.
    expect(build({ timeout: { totalMs: 60_000 } }).timeout).toEqual({ attemptMs: 10_000, totalMs: 60_000 });
  });

  it('timeout.attemptMs: 40000 raises the default deadline (30 000) to it', () => {
    expect(build({ timeout: { attemptMs: 40_000 } }).timeout).toEqual({
      attemptMs: 40_000,
      totalMs: 40_000,
    });
    // Inside the default deadline, the deadline is kept.
    expect(build({ timeout: { attemptMs: 20_000 } }).timeout).toEqual({
      attemptMs: 20_000,
      totalMs: 30_000,
    });
  });
});

describe('two values the user wrote side by side still conflict, naming the one written', () => {
  it.each<[PolicyInput, string, string]>([
    [
      { retry: { backoff: { maxDelayMs: 500, throttleInitialDelayMs: 1_000 } } },
      'policy.retry.backoff.throttleInitialDelayMs',
      '1000 exceeds retry.backoff.maxDelayMs (500)',
    ],
    [
      { retry: { backoff: { maxDelayMs: 500, initialDelayMs: 800 } } },
      'policy.retry.backoff.initialDelayMs',
      '800 exceeds retry.backoff.maxDelayMs (500)',
    ],
    [
      { breaker: { halfOpenAfterMs: 5_000, maxHalfOpenAfterMs: 1_000 } },
      'policy.breaker.halfOpenAfterMs',
      '5000 exceeds breaker.maxHalfOpenAfterMs (1000)',
    ],
    [
      { timeout: { attemptMs: 40_000, totalMs: 30_000 } },
      'policy.timeout.attemptMs',
      '40000 exceeds timeout.totalMs (30000)',
    ],
  ])('refuses %j', (input, path, reason) => {
    const error = configError(() => definePolicy(input));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });
});

describe('in endpoint rules: a limit written above (default policy or preset) is honoured', () => {
  const resolve = (config: EndpointsConfig): Policy =>
    createEndpointResolver(config).resolve('GET', 'https://api.example.com/x').policy;
  const rule = (policy: PolicyInput) => ({ name: 'a', match: '/x', policy });

  it('a rule attempt timeout above a deadline nobody wrote raises that rule`s deadline only', () => {
    const endpoints = [rule({ timeout: { attemptMs: 40_000 } })];
    for (const config of [
      { endpoints },
      { policy: partnerCenter(), endpoints },
      { policy: { retry: { maxAttempts: 2 } }, endpoints },
    ]) {
      expect(resolve(config).timeout).toEqual({ attemptMs: 40_000, totalMs: 40_000 });
      const elsewhere = createEndpointResolver(config).resolve('GET', 'https://api.example.com/y');
      expect(elsewhere.policy.timeout.totalMs).toBe(30_000);
    }
  });

  it('a deadline raised to fit an outer attempt timeout was not written: a rule may raise it again', () => {
    const config = {
      policy: { timeout: { attemptMs: 40_000 } },
      endpoints: [rule({ timeout: { attemptMs: 50_000 } })],
    };
    expect(resolve(config).timeout).toEqual({ attemptMs: 50_000, totalMs: 50_000 });
  });

  it('a rule first delay above a cap the default policy wrote is refused, naming the rule', () => {
    const error = configError(() =>
      createEndpointResolver({
        policy: { breaker: { maxHalfOpenAfterMs: 1_000 } },
        endpoints: [rule({ breaker: { halfOpenAfterMs: 5_000 } })],
      }),
    );
    expect(error.path).toBe('endpoints[0].policy.breaker.halfOpenAfterMs');
    expect(error.reason).toContain('5000 exceeds breaker.maxHalfOpenAfterMs (1000)');
  });

  it('a cap a preset wrote is honoured too', () => {
    const error = configError(() =>
      createEndpointResolver({
        policy: partnerCenter({ retry: { backoff: { maxDelayMs: 2_000 } } }),
        endpoints: [rule({ retry: { backoff: { initialDelayMs: 5_000 } } })],
      }),
    );
    expect(error.path).toBe('endpoints[0].policy.retry.backoff.initialDelayMs');
    expect(error.reason).toContain('5000 exceeds retry.backoff.maxDelayMs (2000)');
  });

  it('a cap written in a rule cuts the first delays it inherits, written above or not', () => {
    const config = {
      policy: { retry: { backoff: { throttleInitialDelayMs: 2_000 } } },
      endpoints: [rule({ retry: { backoff: { maxDelayMs: 500 } } })],
    };
    expect(resolve(config).retry.backoff).toMatchObject({
      initialDelayMs: 200,
      throttleInitialDelayMs: 500,
      maxDelayMs: 500,
    });
  });
});
