import { describe, expect, it } from 'vitest';
import { RateLimiter, RetryAfterLedger } from './throttle.ts';

describe('RateLimiter', () => {
  it('serves up to the limit per sliding second, then refuses for Retry-After seconds', () => {
    const limiter = new RateLimiter(3, 2);
    expect([0, 10, 20].map((t) => limiter.admit(t).throttled)).toEqual([false, false, false]);
    expect(limiter.admit(30)).toEqual({ throttled: true, retryAfterS: 2 });
    // During the penalty every request is refused with the whole seconds left, at least 1.
    expect(limiter.admit(1_100)).toEqual({ throttled: true, retryAfterS: 1 });
    expect(limiter.admit(2_029)).toEqual({ throttled: true, retryAfterS: 1 });
    // After it, the window has emptied.
    expect(limiter.admit(2_030)).toEqual({ throttled: false });
  });

  it('rejects settings that cannot work', () => {
    expect(() => new RateLimiter(0, 1)).toThrow(/perSecond/);
    expect(() => new RateLimiter(5, 0.5)).toThrow(/retryAfterS/);
  });
});

describe('RetryAfterLedger', () => {
  it('counts requests arriving before a given Retry-After elapsed', () => {
    const ledger = new RetryAfterLedger();
    expect(ledger.check(0, 0)).toEqual({ early: false, earlyAfterSeen: false });
    const id = ledger.give(100, 1); // deadline 1 100
    ledger.seen(id, 101);
    expect(ledger.check(500, 499)).toEqual({ early: true, earlyAfterSeen: true });
    expect(ledger.check(1_099, 1_098)).toEqual({ early: true, earlyAfterSeen: true });
    expect(ledger.check(1_100, 1_099)).toEqual({ early: false, earlyAfterSeen: false });
    expect([ledger.early, ledger.earlyAfterSeen]).toEqual([2, 2]);
  });

  it('does not blame the client for requests already sent before it received the 429', () => {
    const ledger = new RetryAfterLedger();
    const id = ledger.give(100, 1);
    ledger.seen(id, 105);
    // Sent at 104 (before receipt), arrives at 106: early by the server's clock, but unknowable.
    expect(ledger.check(106, 104)).toEqual({ early: true, earlyAfterSeen: false });
    // Without a send stamp only the strict count applies.
    expect(ledger.check(107, undefined)).toEqual({ early: true, earlyAfterSeen: false });
    expect([ledger.early, ledger.earlyAfterSeen]).toEqual([2, 0]);
  });

  it('uses the latest deadline the client knew of', () => {
    const ledger = new RetryAfterLedger();
    const a = ledger.give(0, 1); // until 1 000
    const b = ledger.give(500, 2); // until 2 500
    ledger.seen(a, 1);
    expect(ledger.check(1_200, 600).earlyAfterSeen).toBe(false); // only a was known at 600
    ledger.seen(b, 501);
    expect(ledger.check(2_400, 2_399).earlyAfterSeen).toBe(true);
    ledger.seen(b, 502); // repeats and unknown ids are ignored
    ledger.seen(99, 503);
    expect(ledger.check(2_500, 2_499)).toEqual({ early: false, earlyAfterSeen: false });
  });
});
