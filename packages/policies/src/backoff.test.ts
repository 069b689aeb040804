import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BackoffState, backoffDelay } from './backoff.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import type { BackoffKind, BackoffPolicy } from './types.ts';

const DEFAULT = DEFAULT_POLICY.retry.backoff;

function policy(overrides: Partial<BackoffPolicy> = {}): BackoffPolicy {
  return { ...DEFAULT, ...overrides };
}

function state(retry: number, previousDelayMs?: number, throttled = false): BackoffState {
  return { retry, previousDelayMs, throttled };
}

const always = (r: number) => () => r;

/** A deterministic source in [0, 1) (mulberry32), so property runs replay exactly. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe("backoffDelay 'none'", () => {
  const none = policy({ kind: 'none' });

  it('waits exactly base * multiplier^(retry-1), capped at maxDelayMs', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((retry) => backoffDelay(none, state(retry), Math.random));
    expect(waits).toEqual([200, 400, 800, 1600, 3200, 6400, 12_800, 25_600, 30_000]);
  });

  it('uses the throttle base after a 429 without a delay header', () => {
    expect(backoffDelay(none, state(1, undefined, true), Math.random)).toBe(1000);
    expect(backoffDelay(none, state(3, undefined, true), Math.random)).toBe(4000);
  });

  it('rounds to whole ms and stays constant with multiplier 1', () => {
    expect(backoffDelay(policy({ kind: 'none', multiplier: 1.1 }), state(2), Math.random)).toBe(220);
    expect(
      backoffDelay(policy({ kind: 'none', multiplier: 1.5, initialDelayMs: 1 }), state(2), Math.random),
    ).toBe(2);
    expect(backoffDelay(policy({ kind: 'none', multiplier: 1 }), state(50), Math.random)).toBe(200);
  });

  it('does not overflow for huge retry numbers', () => {
    expect(backoffDelay(none, state(10_000), Math.random)).toBe(30_000);
    expect(backoffDelay(none, state(Number.MAX_SAFE_INTEGER), Math.random)).toBe(30_000);
    expect(backoffDelay(policy({ kind: 'none', initialDelayMs: 0 }), state(1e9), Math.random)).toBe(0);
  });
});

describe("backoffDelay 'full-jitter'", () => {
  const full = policy({ kind: 'full-jitter' });

  it('scales the capped exponential delay by the random draw', () => {
    expect(backoffDelay(full, state(1), always(0))).toBe(0);
    expect(backoffDelay(full, state(1), always(0.5))).toBe(100);
    expect(backoffDelay(full, state(3), always(0.25))).toBe(200);
    expect(backoffDelay(full, state(100), always(0.5))).toBe(15_000);
    expect(backoffDelay(full, state(100), always(0.999_999_9))).toBe(30_000);
  });
});

describe("backoffDelay 'decorrelated-jitter' (default)", () => {
  it('is the default kind', () => {
    expect(DEFAULT.kind).toBe('decorrelated-jitter');
  });

  it('draws the first wait between base and 3 * base', () => {
    expect(backoffDelay(DEFAULT, state(1), always(0))).toBe(200);
    expect(backoffDelay(DEFAULT, state(1), always(0.5))).toBe(400);
    expect(backoffDelay(DEFAULT, state(1), always(0.999_999))).toBe(600);
  });

  it('draws later waits between base and 3 * the previous wait, capped', () => {
    expect(backoffDelay(DEFAULT, state(2, 1000), always(0))).toBe(200);
    expect(backoffDelay(DEFAULT, state(2, 1000), always(0.5))).toBe(1600);
    expect(backoffDelay(DEFAULT, state(5, 20_000), always(0.9))).toBe(27_020);
    expect(backoffDelay(DEFAULT, state(5, 20_000), always(1))).toBe(30_000);
  });

  it('honours the multiplier: the bound is 1.5 * multiplier * previous wait', () => {
    expect(backoffDelay(policy({ multiplier: 4 }), state(2, 1000), always(1))).toBe(6000);
    expect(backoffDelay(policy({ multiplier: 1 }), state(2, 1000), always(1))).toBe(1500);
  });

  it('uses the throttle base after a 429 without a delay header', () => {
    expect(backoffDelay(DEFAULT, state(1, undefined, true), always(0))).toBe(1000);
    expect(backoffDelay(DEFAULT, state(1, undefined, true), always(0.5))).toBe(2000);
  });

  it('counts a previous wait below the base (e.g. a 0 ms server delay) as the base', () => {
    expect(backoffDelay(DEFAULT, state(2, 0), always(0.5))).toBe(400);
    expect(backoffDelay(DEFAULT, state(2, -50), always(0.5))).toBe(400);
  });

  it('assumes the un-jittered previous wait when it is unknown after the first retry', () => {
    // retry 4 without a previous wait: prev = 200 * 2^2 = 800, so the bound is 2400.
    expect(backoffDelay(DEFAULT, state(4), always(1))).toBe(2400);
    expect(backoffDelay(DEFAULT, state(4, Number.NaN), always(1))).toBe(2400);
  });

  it('never exceeds the cap, even after a long server delay', () => {
    expect(backoffDelay(DEFAULT, state(2, 3_600_000), always(1))).toBe(30_000);
    expect(backoffDelay(DEFAULT, state(2, Number.POSITIVE_INFINITY), always(1))).toBe(30_000);
    expect(backoffDelay(policy({ maxDelayMs: 50 }), state(1), always(0))).toBe(50);
  });
});

describe('backoffDelay input checks', () => {
  it.each<[string, Partial<BackoffPolicy>]>([
    ['kind', { kind: 'linear' as BackoffKind }],
    ['initialDelayMs', { initialDelayMs: -1 }],
    ['initialDelayMs', { initialDelayMs: Number.NaN }],
    ['throttleInitialDelayMs', { throttleInitialDelayMs: Number.POSITIVE_INFINITY }],
    ['maxDelayMs', { maxDelayMs: Number.POSITIVE_INFINITY }],
    ['maxDelayMs', { maxDelayMs: -5 }],
    ['multiplier', { multiplier: 0.5 }],
    ['multiplier', { multiplier: Number.NaN }],
  ])('rejects a bad %s with a RangeError naming it', (field, overrides) => {
    expect(() => backoffDelay(policy(overrides), state(1), Math.random)).toThrow(
      new RegExp(`backoff\\.${field}`),
    );
    expect(() => backoffDelay(policy(overrides), state(1), Math.random)).toThrow(RangeError);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects retry %s', (retry) => {
    expect(() => backoffDelay(DEFAULT, state(retry), Math.random)).toThrow(/state\.retry/);
  });

  it('clamps a random source that strays outside [0, 1]', () => {
    expect(backoffDelay(DEFAULT, state(1), always(Number.NaN))).toBe(200);
    expect(backoffDelay(DEFAULT, state(1), always(-3))).toBe(200);
    expect(backoffDelay(DEFAULT, state(1), always(7))).toBe(600);
    expect(backoffDelay(policy({ kind: 'full-jitter' }), state(1), always(7))).toBe(200);
  });
});

describe('backoffDelay properties', () => {
  const finiteMs = fc.double({ min: 0, max: 1e9, noNaN: true });
  const policies = fc.record({
    kind: fc.constantFrom<BackoffKind>('decorrelated-jitter', 'full-jitter', 'none'),
    initialDelayMs: finiteMs,
    multiplier: fc.double({ min: 1, max: 1e6, noNaN: true }),
    maxDelayMs: finiteMs,
    throttleInitialDelayMs: finiteMs,
  });
  const states = fc.record({
    retry: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
    previousDelayMs: fc.option(fc.double(), { nil: undefined }),
    throttled: fc.boolean(),
  });
  const runs = { seed: 1_124, numRuns: 500 };

  it('is an integer in [0, maxDelayMs]: never NaN, negative or above the cap', () => {
    fc.assert(
      fc.property(policies, states, fc.integer(), (p, s, seed) => {
        const delay = backoffDelay(p, s, seeded(seed));
        expect(Number.isInteger(delay)).toBe(true);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(p.maxDelayMs);
      }),
      runs,
    );
  });

  it('is deterministic for a given random source', () => {
    fc.assert(
      fc.property(policies, states, fc.integer(), (p, s, seed) => {
        expect(backoffDelay(p, s, seeded(seed))).toBe(backoffDelay(p, s, seeded(seed)));
      }),
      runs,
    );
  });

  it("'none' never shrinks from one retry to the next", () => {
    fc.assert(
      fc.property(policies, fc.integer({ min: 1, max: 2000 }), fc.boolean(), (p, retry, throttled) => {
        const none = { ...p, kind: 'none' as const };
        const here = backoffDelay(none, state(retry, undefined, throttled), Math.random);
        const next = backoffDelay(none, state(retry + 1, undefined, throttled), Math.random);
        expect(next).toBeGreaterThanOrEqual(here);
      }),
      runs,
    );
  });

  it("'decorrelated-jitter' never waits less than the base (when the cap allows it)", () => {
    fc.assert(
      fc.property(policies, states, fc.integer(), (p, s, seed) => {
        const base = s.throttled ? p.throttleInitialDelayMs : p.initialDelayMs;
        const delay = backoffDelay({ ...p, kind: 'decorrelated-jitter' }, s, seeded(seed));
        expect(delay).toBeGreaterThanOrEqual(Math.min(Math.round(base), Math.floor(p.maxDelayMs)));
      }),
      runs,
    );
  });
});
