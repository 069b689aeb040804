import { describe, expect, it } from 'vitest';
import { RateLimiter, RetryAfterLedger, TokenBucket } from './throttle.ts';

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

describe('TokenBucket', () => {
  it('starts full, refills at its rate up to its burst, and answers the whole seconds to the next token', () => {
    const bucket = new TokenBucket(20, 2);
    expect([0, 0].map((t) => bucket.admit(t).throttled)).toEqual([false, false]);
    // 50 ms per token: 10 ms in, the next token is 40 ms away, told as 1 s (rounded up).
    expect(bucket.admit(10)).toEqual({ throttled: true, retryAfterS: 1 });
    expect(bucket.admit(50)).toEqual({ throttled: false });
    expect(bucket.admit(60)).toEqual({ throttled: true, retryAfterS: 1 });
    // A long rest refills no more than the burst.
    expect([10_000, 10_000, 10_000].map((t) => bucket.admit(t).throttled)).toEqual([false, false, true]);
  });

  it('rounds a slow rate up to the whole seconds until the next token', () => {
    const bucket = new TokenBucket(0.25, 1);
    expect(bucket.admit(0)).toEqual({ throttled: false });
    expect(bucket.admit(500)).toEqual({ throttled: true, retryAfterS: 4 });
    expect(bucket.admit(1_100)).toEqual({ throttled: true, retryAfterS: 3 });
  });

  it('rejects settings that cannot work', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(/perSecond/);
    expect(() => new TokenBucket(10, 0)).toThrow(/burst/);
  });
});

describe('RetryAfterLedger', () => {
  it('counts a cool-down for each window announced while none was running', () => {
    const ledger = new RetryAfterLedger();
    ledger.give(0, 1); // until 1 000: opens a cool-down
    ledger.give(400, 1); // inside it: extends it
    ledger.give(1_399, 1); // still inside (until 1 400)
    expect(ledger.coolDowns).toBe(1);
    ledger.give(2_399, 1); // the windows ran out at 2 399: a new one
    expect(ledger.coolDowns).toBe(2);
  });

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
