import { inspect } from 'node:util';
import * as policies from '@breakwater/policies';
import { describe, expect, it, vi } from 'vitest';
import { fetchWithPolicy } from './cockatiel.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import * as core from './index.ts';
import { readErrorPayload } from './payload.ts';
import { wrapFetch } from './wrap-fetch.ts';

const {
  BreakwaterError,
  BreakwaterTimeoutError,
  BrokenCircuitError,
  BulkheadRejectedError,
  ConfigError,
  HttpError,
  ThrottledError,
  TimeoutError,
} = core;
const KEY = 'orders https://api.example.com';

type Guard = (value: unknown) => boolean;

/** One of each error class, built through its options object, from the given copy of core. */
function oneOfEach(copy: typeof core): Record<string, Error> {
  return {
    ConfigError: new copy.ConfigError({ path: 'policy.retry.maxAttempts', reason: 'must be >= 1, got 0' }),
    HttpError: new copy.HttpError({ response: new Response(null, { status: 404 }), endpoint: KEY }),
    BrokenCircuitError: new copy.BrokenCircuitError({ endpoint: KEY, state: 'open', retryAfterMs: 5000 }),
    BreakwaterTimeoutError: new copy.BreakwaterTimeoutError({
      endpoint: KEY,
      scope: 'attempt',
      timeoutMs: 10,
    }),
    BulkheadRejectedError: new copy.BulkheadRejectedError({ endpoint: KEY, maxConcurrent: 1, maxQueued: 0 }),
    ThrottledError: new copy.ThrottledError({ endpoint: KEY, retryAfterMs: 100 }),
  };
}

/** Each class's guard, by the class's `name`. */
function guardsOf(copy: typeof core): Record<string, Guard> {
  return {
    ConfigError: copy.isConfigError,
    HttpError: copy.isHttpError,
    BrokenCircuitError: copy.isBrokenCircuitError,
    BreakwaterTimeoutError: copy.isTimeoutError,
    BulkheadRejectedError: copy.isBulkheadRejectedError,
    ThrottledError: copy.isThrottledError,
  };
}

/** A second copy of core and policies, as when two versions sit in one dependency tree. */
async function secondCopy(): Promise<typeof core> {
  vi.resetModules();
  const copy = (await import('./index.ts')) as typeof core;
  vi.resetModules();
  return copy;
}

describe('one error family', () => {
  it('every error breakwater throws of its own is a BreakwaterError named after its class', () => {
    for (const [name, error] of Object.entries(oneOfEach(core))) {
      expect(error, name).toBeInstanceOf(BreakwaterError);
      expect(core.isBreakwaterError(error), name).toBe(true);
      expect(error.name).toBe(name);
      expect(error.message.startsWith('breakwater: '), error.message).toBe(true);
    }
  });

  it('carries the endpoint key where it applies, and no endpoint on a configuration error', () => {
    const errors = oneOfEach(core);
    for (const [name, error] of Object.entries(errors)) {
      if (name === 'ConfigError') continue;
      expect((error as InstanceType<typeof BreakwaterError>).endpoint, name).toBe(KEY);
    }
    expect(errors.ConfigError).not.toHaveProperty('endpoint');
    expect(inspect(errors.ConfigError)).not.toContain('endpoint');
  });

  it('each guard recognises its own class only, never a DOMException or a look-alike', () => {
    const errors = oneOfEach(core);
    const guards = guardsOf(core);
    for (const [guardName, guard] of Object.entries(guards)) {
      for (const [name, error] of Object.entries(errors)) {
        expect(guard(error), `${guardName} of ${name}`).toBe(guardName === name);
      }
      expect(guard(new DOMException('t', 'TimeoutError')), guardName).toBe(false);
      expect(guard(Object.assign(new Error('x'), { name: guardName })), guardName).toBe(false);
      expect(guard(null), guardName).toBe(false);
      expect(guard('breakwater: x'), guardName).toBe(false);
    }
    expect(core.isBreakwaterError(new Error('breakwater: x'))).toBe(false);
    expect(core.isBreakwaterError(new DOMException('t', 'TimeoutError'))).toBe(false);
  });

  it('guards work across two installed copies, where instanceof does not', async () => {
    const copy = await secondCopy();
    expect(copy.BreakwaterError).not.toBe(BreakwaterError);
    const foreign = oneOfEach(copy);
    const guards = guardsOf(core);
    for (const [name, error] of Object.entries(foreign)) {
      expect(error, name).not.toBeInstanceOf(BreakwaterError);
      expect(core.isBreakwaterError(error), name).toBe(true);
      for (const [guardName, guard] of Object.entries(guards)) {
        expect(guard(error), `${guardName} of a foreign ${name}`).toBe(guardName === name);
      }
    }
    // And the other way round: the copy's guards recognise this copy's errors.
    const copyGuards = guardsOf(copy);
    for (const [name, error] of Object.entries(oneOfEach(core))) {
      expect(copy.isBreakwaterError(error), name).toBe(true);
      expect(copyGuards[name]?.(error), name).toBe(true);
    }
  });

  it('the family brand is a registered symbol, so a brand-only object from anywhere passes', () => {
    const branded = Object.create({ [Symbol.for('breakwater.BreakwaterError')]: true }) as object;
    expect(core.isBreakwaterError(branded)).toBe(true);
    // An HttpError keeps the brand older copies test for.
    const httpError = oneOfEach(core).HttpError;
    expect(Symbol.for('breakwater.HttpError') in (httpError as object)).toBe(true);
  });

  it('the base class and guards are exported from both packages', () => {
    expect(core.BreakwaterError).toBe(policies.BreakwaterError);
    expect(core.ConfigError).toBe(policies.ConfigError);
    expect(core.isBreakwaterError).toBe(policies.isBreakwaterError);
    expect(core.isConfigError).toBe(policies.isConfigError);
    expect(HttpError.isHttpError(oneOfEach(core).HttpError)).toBe(true);
  });
});

describe('one constructor style: an options object', () => {
  it('ConfigError: { path, reason }; the positional form still works (deprecated)', () => {
    const fromOptions = new ConfigError({ path: 'endpoints[0].match', reason: 'must be a string, got 3' });
    const positional = new ConfigError('endpoints[0].match', 'must be a string, got 3');
    expect(fromOptions.message).toBe('breakwater: endpoints[0].match: must be a string, got 3');
    expect([positional.message, positional.path, positional.reason]).toEqual([
      fromOptions.message,
      fromOptions.path,
      fromOptions.reason,
    ]);
    expect(new ConfigError({ path: '', reason: 'must be an object' }).message).toBe(
      'breakwater: must be an object',
    );
  });

  it('HttpError: { response, payload, ...context }; the positional form still works (deprecated)', () => {
    const response = new Response(null, { status: 409, headers: { 'ms-requestid': 'r-1' } });
    const payload = { code: '800060', description: 'Your order is in progress.' };
    const context = {
      method: 'post',
      url: 'https://api.example.com/orders?token=abc',
      attempts: 2,
      endpoint: KEY,
    };
    const fromOptions = new HttpError({ response, payload, ...context });
    const positional = new HttpError(response, payload, context);
    expect(fromOptions.toJSON()).toEqual(positional.toJSON());
    expect(fromOptions.message).toBe(
      'breakwater: HTTP 409 Conflict: Your order is in progress. (code 800060) [POST https://api.example.com/orders?token=REDACTED]',
    );
    expect([fromOptions.attempts, fromOptions.endpoint, fromOptions.requestId]).toEqual([2, KEY, 'r-1']);
    expect(fromOptions.response).toBe(response);
    expect(() => new HttpError({ response, attempts: 0 })).toThrow(/^breakwater: HttpError: attempts/);
  });
});

describe('BreakwaterTimeoutError', () => {
  it('keeps TimeoutError as a deprecated alias of the class', () => {
    expect(TimeoutError).toBe(BreakwaterTimeoutError);
    const e = new TimeoutError({ endpoint: KEY, scope: 'total', timeoutMs: 50 });
    expect(e).toBeInstanceOf(BreakwaterTimeoutError);
    expect(e.name).toBe('BreakwaterTimeoutError');
  });

  it('is still classified as a timeout, like the DOMException of AbortSignal.timeout()', () => {
    const e = new BreakwaterTimeoutError({ endpoint: KEY, scope: 'attempt', timeoutMs: 50 });
    expect(policies.recognizeError(e)).toEqual({ kind: 'timeout' });
  });
});

describe('cause: carried where there is one, absent where there is none', () => {
  it('an attempt timeout carries the abort reason; refusals carry no cause', async () => {
    vi.useFakeTimers();
    try {
      const stall = fakeFetch(
        (call) =>
          new Promise<Response>((_, reject) =>
            call.signal?.addEventListener('abort', () => reject(call.signal?.reason)),
          ),
      );
      const wrapped = wrapFetch(stall, {
        policy: { retry: { maxAttempts: 1 }, timeout: { attemptMs: 100, totalMs: 1000 } },
      });
      const settled = wrapped('https://api.example.com/x').catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(150);
      const error = await settled;
      expect(core.isTimeoutError(error)).toBe(true);
      expect((error as Error).cause).toBeDefined();
    } finally {
      vi.useRealTimers();
    }
    for (const error of Object.values(oneOfEach(core))) expect('cause' in error, error.name).toBe(false);
  });
});

describe('one message prefix for bad input', () => {
  it('every throw site names breakwater first', async () => {
    const failures = [
      () => wrapFetch('not a fetch' as never),
      () => fetchWithPolicy({} as never, fakeFetch({ status: 200 })),
      () => fetchWithPolicy({ execute: () => undefined } as never, 'not a fetch' as never),
      () => wrapFetch(fakeFetch({ status: 200 }), { maxEndpoints: 0 }),
      () => new BrokenCircuitError({ endpoint: '', state: 'open', retryAfterMs: 1 }),
      () => new BreakwaterTimeoutError({ endpoint: KEY, scope: 'call' as never, timeoutMs: 1 }),
      () => new BulkheadRejectedError({ endpoint: KEY, maxConcurrent: 0, maxQueued: 0 }),
      () => new ThrottledError({ endpoint: KEY, retryAfterMs: Number.NaN }),
      () => new HttpError({ response: new Response(null, { status: 500 }), retryAfterMs: -1 }),
    ];
    for (const fail of failures) {
      expect(fail).toThrow(/^breakwater: /);
    }
    await expect(readErrorPayload(new Response('{}'), -1)).rejects.toThrow(/^breakwater: readErrorPayload: /);
  });
});
