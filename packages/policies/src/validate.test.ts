import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { mergePolicy } from './merge.ts';
import type { Policy, PolicyInput } from './types.ts';
import {
  boolean,
  checkShape,
  func,
  integerAtLeast,
  validatePolicy,
  validatePolicyInput,
} from './validate.ts';

describe('ConfigError', () => {
  it('reads "breakwater: <path>: <reason>"', () => {
    const error = configError(() =>
      validatePolicyInput({ retry: { maxAttempts: 0 } }, 'endpoints[2].policy'),
    );
    expect(error.message).toBe(
      'breakwater: endpoints[2].policy.retry.maxAttempts: must be an integer >= 1, got 0',
    );
    expect(error.path).toBe('endpoints[2].policy.retry.maxAttempts');
    expect(error.reason).toBe('must be an integer >= 1, got 0');
    expect(error.name).toBe('ConfigError');
    expect(error).toBeInstanceOf(Error);
  });

  it('cuts long strings short in messages', () => {
    const secret = `Bearer ${'x'.repeat(200)}`;
    const error = configError(() => validatePolicyInput({ generateHeaders: [secret] }, 'policy'));
    expect(error.message).not.toContain(secret);
    expect(error.message.length).toBeLessThan(200);
  });
});

describe('validatePolicyInput', () => {
  it('accepts undefined, an empty object and the full default policy', () => {
    expect(() => validatePolicyInput(undefined, 'policy')).not.toThrow();
    expect(() => validatePolicyInput({}, 'policy')).not.toThrow();
    expect(() => validatePolicyInput(DEFAULT_POLICY, 'policy')).not.toThrow();
    expect(() => validatePolicyInput({ bulkhead: null }, 'policy')).not.toThrow();
  });

  it('treats undefined fields as absent', () => {
    expect(() => validatePolicyInput({ retry: { maxAttempts: undefined } }, 'policy')).not.toThrow();
  });

  it.each<[string, unknown, string, string]>([
    ['policy not an object', 42, 'policy', 'must be an object, got 42'],
    ['retry budget ratio 0', { retryBudget: { ratio: 0 } }, 'policy.retryBudget.ratio', 'in (0, 1]'],
    ['retry budget ratio 1.5', { retryBudget: { ratio: 1.5 } }, 'policy.retryBudget.ratio', 'in (0, 1]'],
    [
      'retry budget negative floor',
      { retryBudget: { minRetries: -1 } },
      'policy.retryBudget.minRetries',
      'integer >= 0',
    ],
    ['retry budget window 0', { retryBudget: { windowMs: 0 } }, 'policy.retryBudget.windowMs', '> 0'],
    [
      'throttle release interval negative',
      { throttle: { releaseSpreadMs: -5 } },
      'policy.throttle.releaseSpreadMs',
      '>= 0',
    ],
    ['throttle enabled not boolean', { throttle: { enabled: 'yes' } }, 'policy.throttle.enabled', 'boolean'],
    ['throttle adaptive not boolean', { throttle: { adaptive: 1 } }, 'policy.throttle.adaptive', 'boolean'],
    ['throttle quiet period 0', { throttle: { quietMs: 0 } }, 'policy.throttle.quietMs', '> 0'],
    ['section not an object', { retry: [] }, 'policy.retry', 'must be an object, got an array'],
    [
      'maxAttempts 0',
      { retry: { maxAttempts: 0 } },
      'policy.retry.maxAttempts',
      'must be an integer >= 1, got 0',
    ],
    ['maxAttempts fractional', { retry: { maxAttempts: 2.5 } }, 'policy.retry.maxAttempts', 'integer >= 1'],
    ['maxAttempts as string', { retry: { maxAttempts: '3' } }, 'policy.retry.maxAttempts', "got '3'"],
    [
      'negative delay',
      { retry: { backoff: { initialDelayMs: -1 } } },
      'policy.retry.backoff.initialDelayMs',
      '>= 0, got -1',
    ],
    ['NaN delay', { retry: { maxRetryAfterMs: Number.NaN } }, 'policy.retry.maxRetryAfterMs', 'got NaN'],
    [
      'infinite delay',
      { retry: { backoff: { maxDelayMs: Number.POSITIVE_INFINITY } } },
      'policy.retry.backoff.maxDelayMs',
      'finite',
    ],
    [
      'unknown backoff kind',
      { retry: { backoff: { kind: 'linear' } } },
      'policy.retry.backoff.kind',
      "got 'linear'",
    ],
    [
      'multiplier below 1',
      { retry: { backoff: { multiplier: 0.5 } } },
      'policy.retry.backoff.multiplier',
      '>= 1',
    ],
    [
      'status out of range',
      { retry: { statuses: [503, 600] } },
      'policy.retry.statuses[1]',
      'integer in 100..599, got 600',
    ],
    ['status not an integer', { permanentStatuses: [501.5] }, 'policy.permanentStatuses[0]', '100..599'],
    [
      'statuses not an array',
      { breaker: { failureStatuses: 500 } },
      'policy.breaker.failureStatuses',
      'must be an array',
    ],
    ['boolean expected', { retry: { idempotent: 'yes' } }, 'policy.retry.idempotent', 'must be a boolean'],
    [
      'invalid method',
      { retry: { idempotentMethods: ['GET', 'PO ST'] } },
      'policy.retry.idempotentMethods[1]',
      'valid method name',
    ],
    [
      'invalid header name',
      { retry: { idempotencyKeyHeaders: ['Idempotency Key'] } },
      'policy.retry.idempotencyKeyHeaders[0]',
      'valid header name',
    ],
    [
      'invalid generated header',
      { generateHeaders: ['MS-RequestId:'] },
      'policy.generateHeaders[0]',
      'RFC 9110 token',
    ],
    ['failureRatio 0', { breaker: { failureRatio: 0 } }, 'policy.breaker.failureRatio', 'in (0, 1], got 0'],
    [
      'failureRatio above 1',
      { breaker: { failureRatio: 1.5 } },
      'policy.breaker.failureRatio',
      'in (0, 1], got 1.5',
    ],
    ['minimumCalls 0', { breaker: { minimumCalls: 0 } }, 'policy.breaker.minimumCalls', 'integer >= 1'],
    [
      'consecutiveFailures 0',
      { breaker: { consecutiveFailures: 0 } },
      'policy.breaker.consecutiveFailures',
      'integer >= 1',
    ],
    ['window 0', { breaker: { windowMs: 0 } }, 'policy.breaker.windowMs', '> 0'],
    ['attempt timeout 0', { timeout: { attemptMs: 0 } }, 'policy.timeout.attemptMs', '> 0, got 0'],
    [
      'bulkhead maxConcurrent 0',
      { bulkhead: { maxConcurrent: 0 } },
      'policy.bulkhead.maxConcurrent',
      'integer >= 1',
    ],
    [
      'bulkhead maxQueued negative',
      { bulkhead: { maxConcurrent: 2, maxQueued: -1 } },
      'policy.bulkhead.maxQueued',
      'integer >= 0',
    ],
    ['bulkhead not an object', { bulkhead: 4 }, 'policy.bulkhead', 'must be an object'],
  ])('rejects %s', (_, input, path, reason) => {
    const error = configError(() => validatePolicyInput(input, 'policy'));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });

  it.each<[unknown, string, string]>([
    [
      { retry: { maxAtempts: 3 } },
      'policy.retry.maxAtempts',
      "unknown key 'maxAtempts' (did you mean 'maxAttempts'?)",
    ],
    [{ breakr: {} }, 'policy.breakr', "(did you mean 'breaker'?)"],
    [{ retry: { backoff: { Kind: 'none' } } }, 'policy.retry.backoff.Kind', "(did you mean 'kind'?)"],
    [{ timeout: { totalMS: 1 } }, 'policy.timeout.totalMS', "(did you mean 'totalMs'?)"],
  ])('rejects unknown keys with a suggestion: %j', (input, path, reason) => {
    const error = configError(() => validatePolicyInput(input, 'policy'));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });

  it('lists the known keys after a suggestion too', () => {
    const error = configError(() => validatePolicyInput({ timeout: { totalMS: 1 } }, 'policy'));
    expect(error.reason).toBe(
      "unknown key 'totalMS' (did you mean 'totalMs'?); known keys: attemptMs, totalMs",
    );
  });

  it('lists the known keys when nothing is close', () => {
    const error = configError(() => validatePolicyInput({ timeout: { somethingElse: 1 } }, 'policy'));
    expect(error.reason).toBe("unknown key 'somethingElse'; known keys: attemptMs, totalMs");
  });

  it('names paths from the root when the path is empty', () => {
    expect(configError(() => validatePolicyInput({ retry: { maxAttempts: -1 } }, '')).path).toBe(
      'retry.maxAttempts',
    );
  });
});

describe('validatePolicy', () => {
  const policy = (input: PolicyInput): Policy => mergePolicy(DEFAULT_POLICY, input);

  it('accepts the default policy', () => {
    expect(() => validatePolicy(DEFAULT_POLICY, 'policy')).not.toThrow();
  });

  it.each<[string, PolicyInput, string, string]>([
    [
      'attempt timeout above the deadline',
      { timeout: { attemptMs: 40_000, totalMs: 30_000 } },
      'policy.timeout.attemptMs',
      'exceeds timeout.totalMs (30000)',
    ],
    [
      'initial delay above the cap',
      { retry: { backoff: { initialDelayMs: 5_000, maxDelayMs: 1_000 } } },
      'policy.retry.backoff.initialDelayMs',
      'exceeds retry.backoff.maxDelayMs (1000)',
    ],
    [
      'throttle delay above the cap',
      { retry: { backoff: { maxDelayMs: 500, throttleInitialDelayMs: 1_000 } } },
      'policy.retry.backoff.throttleInitialDelayMs',
      'exceeds retry.backoff.maxDelayMs (500)',
    ],
    [
      'half-open wait above its cap',
      { breaker: { halfOpenAfterMs: 120_000, maxHalfOpenAfterMs: 60_000 } },
      'policy.breaker.halfOpenAfterMs',
      'exceeds breaker.maxHalfOpenAfterMs (60000)',
    ],
    [
      'bulkhead without maxConcurrent',
      { bulkhead: { maxQueued: 3 } },
      'policy.bulkhead.maxConcurrent',
      'is required',
    ],
  ])('rejects %s', (_, input, path, reason) => {
    const error = configError(() => validatePolicy(policy(input), 'policy'));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });

  it('rejects a policy with a field missing', () => {
    const { timeout, ...rest } = DEFAULT_POLICY;
    const broken = { ...rest, timeout: { attemptMs: timeout.attemptMs } } as unknown as Policy;
    const error = configError(() => validatePolicy(broken, 'policy'));
    expect(error.path).toBe('policy.timeout.totalMs');
    expect(error.reason).toBe('is required');
  });

  it('checks fields as validatePolicyInput does', () => {
    const broken = { ...DEFAULT_POLICY, permanentStatuses: [42] } as Policy;
    expect(configError(() => validatePolicy(broken, 'p')).path).toBe('p.permanentStatuses[0]');
  });
});

describe('checkShape', () => {
  const shape = { flag: boolean, listener: func, count: integerAtLeast(0), nested: { on: boolean } };

  it('accepts absent and undefined keys and valid values', () => {
    expect(() => checkShape({}, shape, '')).not.toThrow();
    expect(() =>
      checkShape(
        { flag: true, listener: () => {}, count: 0, nested: { on: false }, other: undefined },
        {
          ...shape,
          other: boolean,
        },
        '',
      ),
    ).not.toThrow();
  });

  it.each<[unknown, string, string]>([
    [{ flag: 'yes' }, 'flag', "must be a boolean, got 'yes'"],
    [{ listener: 1 }, 'listener', 'must be a function, got 1'],
    [{ count: -1 }, 'count', 'must be an integer >= 0, got -1'],
    [{ count: 2 ** 53 }, 'count', 'must be an integer >= 0'],
    [{ nested: { on: 1 } }, 'nested.on', 'must be a boolean, got 1'],
    [{ nested: [] }, 'nested', 'must be an object, got an array'],
    [
      { cont: 1 },
      'cont',
      "unknown key 'cont' (did you mean 'count'?); known keys: flag, listener, count, nested",
    ],
    [[], '', 'must be an object, got an array'],
  ])('refuses %j at its path', (value, path, reason) => {
    const error = configError(() => checkShape(value, shape, ''));
    expect(error.path).toBe(path);
    expect(error.reason).toContain(reason);
  });

  it('prefixes the given path', () => {
    expect(configError(() => checkShape({ flag: 0 }, shape, 'options')).path).toBe('options.flag');
  });
});
