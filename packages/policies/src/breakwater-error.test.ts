import { describe, expect, it, vi } from 'vitest';
import { backoffDelay } from './backoff.ts';
import { BreakwaterError, isBreakwaterError } from './breakwater-error.ts';
import { classify } from './classify.ts';
import { ConfigError, isConfigError } from './config-error.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { createEndpointResolver } from './endpoint.ts';
import { parseRetryAfter } from './retry-after.ts';

const GET = { method: 'GET', headers: new Headers() };

describe('BreakwaterError', () => {
  it('prefixes its message, carries an endpoint and a cause only when given', () => {
    const cause = new Error('low-level');
    const e = new BreakwaterError('something broke', { endpoint: 'orders https://api.example.com', cause });
    expect(e.message).toBe('breakwater: something broke');
    expect(e.endpoint).toBe('orders https://api.example.com');
    expect(e.cause).toBe(cause);
    const bare = new BreakwaterError('no context');
    expect('endpoint' in bare).toBe(false);
    expect('cause' in bare).toBe(false);
  });

  it('ConfigError is one, and both guards work across two copies of the package', async () => {
    const error = new ConfigError({ path: 'policy.retry', reason: 'must be an object, got 3' });
    expect(error).toBeInstanceOf(BreakwaterError);
    expect([isBreakwaterError(error), isConfigError(error)]).toEqual([true, true]);

    vi.resetModules();
    const copy = await import('./config-error.ts');
    vi.resetModules();
    const foreign = new copy.ConfigError({ path: 'policy.retry', reason: 'must be an object, got 3' });
    expect(foreign).not.toBeInstanceOf(ConfigError);
    expect(foreign).not.toBeInstanceOf(BreakwaterError);
    expect([isBreakwaterError(foreign), isConfigError(foreign)]).toEqual([true, true]);
    expect(copy.isConfigError(error)).toBe(true);

    expect(isConfigError(new BreakwaterError('x'))).toBe(false);
    expect(isConfigError(Object.assign(new Error('x'), { name: 'ConfigError' }))).toBe(false);
    expect(isBreakwaterError(new Error('breakwater: x'))).toBe(false);
  });

  it('every throw site of policies starts its message with "breakwater: "', () => {
    const resolver = createEndpointResolver({});
    const failures = [
      () =>
        classify({ kind: 'response', status: 1000, headers: new Headers() }, GET, DEFAULT_POLICY, { now: 0 }),
      () => classify({ kind: 'nothing' } as never, GET, DEFAULT_POLICY, { now: 0 }),
      () => classify({ kind: 'error', error: new Error('x') }, GET, DEFAULT_POLICY, { now: Number.NaN }),
      () =>
        backoffDelay(
          DEFAULT_POLICY.retry.backoff,
          { retry: 0, previousDelayMs: undefined, throttled: false },
          Math.random,
        ),
      () =>
        backoffDelay(
          { ...DEFAULT_POLICY.retry.backoff, multiplier: 0 },
          { retry: 1, previousDelayMs: undefined, throttled: false },
          Math.random,
        ),
      () => parseRetryAfter(new Headers(), Number.NaN),
      () => resolver.resolve('NOT A METHOD', 'https://api.example.com/'),
      () => resolver.resolve('GET', '/relative'),
      () => createEndpointResolver({ endpoints: 'none' } as never),
    ];
    for (const fail of failures) expect(fail).toThrow(/^breakwater: /);
  });
});
