import { describe, expect, it } from 'vitest';
import { ConfigError } from './config-error.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';

describe('partnerCenter', () => {
  it('keeps the default outcome table and defaults', () => {
    const preset = partnerCenter();
    expect(preset.retry?.statuses).toEqual(DEFAULT_POLICY.retry.statuses);
    expect(preset.retry?.maxAttempts).toBe(4);
    expect(preset.breaker).toEqual(DEFAULT_POLICY.breaker);
    expect(preset.timeout).toEqual(DEFAULT_POLICY.timeout);
    expect(preset.permanentStatuses).toEqual([501]);
    expect(preset.bulkhead).toBeNull();
  });

  it('puts MS-RequestId first among the idempotency key headers', () => {
    expect(partnerCenter().retry?.idempotencyKeyHeaders).toEqual(['MS-RequestId', 'Idempotency-Key']);
  });

  it('generates MS-RequestId and MS-CorrelationId', () => {
    expect(partnerCenter().generateHeaders).toEqual(['MS-RequestId', 'MS-CorrelationId']);
  });

  it('merges overrides on top: objects merge, arrays replace, null removes', () => {
    const preset = partnerCenter({
      retry: { maxAttempts: 6, backoff: { initialDelayMs: 500 } },
      generateHeaders: ['MS-RequestId'],
      bulkhead: { maxConcurrent: 8 },
    });
    expect(preset.retry?.maxAttempts).toBe(6);
    expect(preset.retry?.backoff?.initialDelayMs).toBe(500);
    expect(preset.retry?.backoff?.maxDelayMs).toBe(30_000);
    expect(preset.retry?.idempotencyKeyHeaders).toEqual(['MS-RequestId', 'Idempotency-Key']);
    expect(preset.generateHeaders).toEqual(['MS-RequestId']);
    expect(preset.bulkhead).toEqual({ maxConcurrent: 8, maxQueued: 0 });
    expect(partnerCenter({ bulkhead: null }).bulkhead).toBeNull();
  });

  it('is a valid policy input for definePolicy and for endpoint configurations', () => {
    expect(definePolicy(partnerCenter()).generateHeaders).toEqual(['MS-RequestId', 'MS-CorrelationId']);
    const resolver = createEndpointResolver({
      policy: partnerCenter(),
      endpoints: [
        { name: 'customers', match: 'GET https://api.partnercenter.microsoft.com/v1/customers/*' },
        { name: 'orders', match: 'POST */v1/customers/:id/orders', policy: { retry: { idempotent: true } } },
      ],
    });
    const orders = resolver.resolve('POST', 'https://api.partnercenter.microsoft.com/v1/customers/c1/orders');
    expect(orders.key).toBe('orders https://api.partnercenter.microsoft.com');
    expect(orders.policy.retry.idempotencyKeyHeaders[0]).toBe('MS-RequestId');
    expect(orders.policy.retry.idempotent).toBe(true);
  });

  it('survives a JSON round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(partnerCenter()))).toEqual(partnerCenter());
  });

  it('rejects bad overrides with paths from overrides', () => {
    expect(() => partnerCenter({ retry: { maxAttempts: 0 } })).toThrow(ConfigError);
    expect(() => partnerCenter({ retry: { maxAttempts: 0 } })).toThrow(
      'overrides.retry.maxAttempts: must be an integer >= 1, got 0',
    );
    expect(() => partnerCenter({ timeout: { attemptMs: 60_000, totalMs: 30_000 } })).toThrow(
      'overrides.timeout.attemptMs: 60000 exceeds timeout.totalMs (30000)',
    );
  });
});
