import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from './defaults.ts';
import { isIdempotent } from './idempotency.ts';
import type { RetryPolicy } from './types.ts';

const retry = DEFAULT_POLICY.retry;

function request(method: string, headers: Record<string, string> = {}) {
  return { method, headers: new Headers(headers) };
}

describe('isIdempotent', () => {
  it.each(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'])('%s is idempotent by default', (method) => {
    expect(isIdempotent(request(method), retry)).toBe(true);
  });

  it.each(['POST', 'PATCH', 'CONNECT'])('%s without a key is not', (method) => {
    expect(isIdempotent(request(method), retry)).toBe(false);
  });

  it('compares methods case-insensitively, both ways', () => {
    expect(isIdempotent(request('get'), retry)).toBe(true);
    const custom: RetryPolicy = { ...retry, idempotentMethods: ['report'] };
    expect(isIdempotent(request('REPORT'), custom)).toBe(true);
  });

  it.each(['Idempotency-Key', 'idempotency-key', 'MS-RequestId'])(
    'a POST carrying %s is idempotent',
    (name) => {
      expect(isIdempotent(request('POST', { [name]: '7f3b1a52-2c1d-4c55-9a39-0b6c1f0f8e21' }), retry)).toBe(
        true,
      );
    },
  );

  it('a blank key does not count', () => {
    expect(isIdempotent(request('POST', { 'Idempotency-Key': '' }), retry)).toBe(false);
    expect(isIdempotent(request('POST', { 'Idempotency-Key': '   ' }), retry)).toBe(false);
  });

  it('only the configured key headers count', () => {
    const custom: RetryPolicy = { ...retry, idempotencyKeyHeaders: ['X-Request-Key'] };
    expect(isIdempotent(request('POST', { 'Idempotency-Key': 'k' }), custom)).toBe(false);
    expect(isIdempotent(request('POST', { 'X-Request-Key': 'k' }), custom)).toBe(true);
  });

  it('an endpoint that opts in makes every method idempotent', () => {
    expect(isIdempotent(request('POST'), { ...retry, idempotent: true })).toBe(true);
  });

  it('an empty method list makes only keyed requests idempotent', () => {
    const custom: RetryPolicy = { ...retry, idempotentMethods: [] };
    expect(isIdempotent(request('GET'), custom)).toBe(false);
    expect(isIdempotent(request('GET', { 'MS-RequestId': 'r' }), custom)).toBe(true);
  });
});
