import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  isTimeoutError,
  ThrottledError,
  TimeoutError,
} from './errors.ts';

const KEY = 'customers https://api.partnercenter.microsoft.com';

describe('BrokenCircuitError', () => {
  it('names the endpoint, state and time to the next probe', () => {
    const e = new BrokenCircuitError({ endpoint: KEY, state: 'open', retryAfterMs: 4_999.2 });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('BrokenCircuitError');
    expect(e.endpoint).toBe(KEY);
    expect(e.state).toBe('open');
    expect(e.retryAfterMs).toBe(5_000);
    expect('cause' in e).toBe(false);
    expect(e.message).toBe(`breakwater: circuit for endpoint "${KEY}" is open; next probe in 5000 ms`);
    expect(e.stack?.startsWith('BrokenCircuitError:')).toBe(true);
  });

  it('describes a half-open circuit, clamps a past probe time to 1 ms, and has no cause by default', () => {
    const e = new BrokenCircuitError({ endpoint: KEY, state: 'half-open', retryAfterMs: -3 });
    expect(e.retryAfterMs).toBe(1);
    expect(e.message).toContain('half-open (a probe is in flight); retry in 1 ms');
    expect('cause' in e).toBe(false);
  });

  it('never tells a wait of 0, which would send a client that honours it straight back: at least 1 ms', () => {
    const waits = [0, -0, -0.5, 0.2, -Number.MAX_VALUE].map(
      (retryAfterMs) => new BrokenCircuitError({ endpoint: KEY, state: 'open', retryAfterMs }),
    );
    expect(waits.map((e) => e.retryAfterMs)).toEqual([1, 1, 1, 1, 1]);
    expect(waits.map((e) => e.message.endsWith('next probe in 1 ms'))).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it('accepts an isolated circuit (Infinity)', () => {
    const e = new BrokenCircuitError({
      endpoint: KEY,
      state: 'open',
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    expect(e.message).toContain('isolated until reset');
  });

  it('rejects bad input clearly', () => {
    expect(() => new BrokenCircuitError({ endpoint: '', state: 'open', retryAfterMs: 1 })).toThrow(
      /endpoint/,
    );
    expect(
      () => new BrokenCircuitError({ endpoint: KEY, state: 'closed' as 'open', retryAfterMs: 1 }),
    ).toThrow(/state/);
    expect(() => new BrokenCircuitError({ endpoint: KEY, state: 'open', retryAfterMs: Number.NaN })).toThrow(
      new RangeError('breakwater: BrokenCircuitError: retryAfterMs must be a number of ms, got NaN'),
    );
  });
});

describe('TimeoutError', () => {
  it('cannot be mistaken for the DOMException of AbortSignal.timeout() (or the reverse)', () => {
    const native = AbortSignal.abort(new DOMException('t', 'TimeoutError')).reason as Error;
    const e = new TimeoutError({ scope: 'attempt', timeoutMs: 10_000, endpoint: KEY });
    expect(e.name).toBe('BreakwaterTimeoutError');
    expect(native.name).not.toBe(e.name);
    expect(isTimeoutError(e)).toBe(true);
    expect(isTimeoutError(native)).toBe(false);
    expect(e).toBeInstanceOf(Error);
    expect(e.attempts).toBe(1);
    expect(e.message).toBe(`breakwater: attempt 1 to endpoint "${KEY}" timed out after 10000 ms`);
  });

  it('describes a total deadline with its attempts and keeps the cause', () => {
    const cause = new DOMException('signal timed out', 'TimeoutError');
    const e = new TimeoutError({ scope: 'total', timeoutMs: 30_000, endpoint: KEY, attempts: 3, cause });
    expect(e.scope).toBe('total');
    expect(e.timeoutMs).toBe(30_000);
    expect(e.cause).toBe(cause);
    expect(e.message).toBe(`breakwater: call (3 attempts) to endpoint "${KEY}" timed out after 30000 ms`);
  });

  it('rejects bad input clearly', () => {
    expect(() => new TimeoutError({ scope: 'call' as 'total', timeoutMs: 1, endpoint: KEY })).toThrow(
      /scope/,
    );
    expect(() => new TimeoutError({ scope: 'total', timeoutMs: -1, endpoint: KEY })).toThrow(/timeoutMs/);
    expect(() => new TimeoutError({ scope: 'attempt', timeoutMs: 1, endpoint: KEY, attempts: 0 })).toThrow(
      /attempts/,
    );
    expect(() => new TimeoutError({ scope: 'total', timeoutMs: 1, endpoint: KEY, attempts: -1 })).toThrow(
      /attempts/,
    );
  });

  it('describes a deadline that passed before any attempt (a call queued at the bulkhead)', () => {
    const e = new TimeoutError({ scope: 'total', timeoutMs: 1500, endpoint: KEY, attempts: 0 });
    expect(e.attempts).toBe(0);
    expect(e.message).toBe(
      `breakwater: call (before any attempt) to endpoint "${KEY}" timed out after 1500 ms`,
    );
  });
});

describe('BulkheadRejectedError', () => {
  it('names the endpoint and the limits', () => {
    const e = new BulkheadRejectedError({ endpoint: KEY, maxConcurrent: 8, maxQueued: 0 });
    expect(e.name).toBe('BulkheadRejectedError');
    expect([e.endpoint, e.maxConcurrent, e.maxQueued]).toEqual([KEY, 8, 0]);
    expect(e.message).toBe(`breakwater: bulkhead for endpoint "${KEY}" is full: 8 running, 0 queued`);
  });

  it('rejects bad limits', () => {
    expect(() => new BulkheadRejectedError({ endpoint: KEY, maxConcurrent: 0, maxQueued: 0 })).toThrow(
      /maxConcurrent/,
    );
    expect(() => new BulkheadRejectedError({ endpoint: KEY, maxConcurrent: 1, maxQueued: 1.5 })).toThrow(
      /maxQueued/,
    );
  });
});

describe('ThrottledError', () => {
  it('names the endpoint and the remaining delay', () => {
    const e = new ThrottledError({ endpoint: KEY, retryAfterMs: 56_000.4 });
    expect(e.name).toBe('ThrottledError');
    expect(e.retryAfterMs).toBe(56_001);
    expect(e.message).toBe(`breakwater: endpoint "${KEY}" is throttled by the server for another 56001 ms`);
  });

  it('rejects a delay that is not a finite number', () => {
    expect(() => new ThrottledError({ endpoint: KEY, retryAfterMs: Number.POSITIVE_INFINITY })).toThrow(
      RangeError,
    );
  });

  it('never tells a wait of 0, which would send a client that honours it straight back: at least 1 ms', () => {
    const waits = [0, -0, -0.5, 0.2, -Number.MAX_VALUE, Number.NEGATIVE_INFINITY].map(
      (retryAfterMs) => new ThrottledError({ endpoint: KEY, retryAfterMs }),
    );
    expect(waits.map((e) => e.retryAfterMs)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(new Set(waits.map((e) => e.message))).toEqual(
      new Set([`breakwater: endpoint "${KEY}" is throttled by the server for another 1 ms`]),
    );
  });

  it('refuses NaN and Infinity with a RangeError that names the field: a server delay always ends', () => {
    for (const retryAfterMs of [Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new ThrottledError({ endpoint: KEY, retryAfterMs })).toThrow(
        new RangeError(
          `breakwater: ThrottledError: retryAfterMs must be a finite number of ms, got ${retryAfterMs}`,
        ),
      );
    }
  });
});

describe('the waits refusals tell', () => {
  it('are the same for a circuit and a throttle gate given the same time left', () => {
    const given = [Number.NEGATIVE_INFINITY, -1, 0, 0.2, 1, 1.5, 59_999.01];
    const circuit = given.map(
      (ms) => new BrokenCircuitError({ endpoint: KEY, state: 'open', retryAfterMs: ms }),
    );
    const gate = given.map((ms) => new ThrottledError({ endpoint: KEY, retryAfterMs: ms }));
    expect(gate.map((e) => e.retryAfterMs)).toEqual(circuit.map((e) => e.retryAfterMs));
    expect(circuit.map((e) => e.retryAfterMs)).toEqual([1, 1, 1, 1, 1, 2, 60_000]);
  });
});
