import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SERVER_DELAY_MS, parseHttpDate, parseRetryAfter } from './retry-after.ts';

// 1994-11-06T08:49:07Z: 30 s before the RFC's example date.
const NOW = Date.UTC(1994, 10, 6, 8, 49, 7);
const RFC_EXAMPLE = Date.UTC(1994, 10, 6, 8, 49, 37);

function headers(init: Record<string, string | string[]>): Headers {
  const h = new Headers();
  for (const [name, value] of Object.entries(init)) {
    for (const v of Array.isArray(value) ? value : [value]) h.append(name, v);
  }
  return h;
}

function retryAfter(value: string | string[], now = NOW): number | undefined {
  return parseRetryAfter(headers({ 'Retry-After': value }), now)?.delayMs;
}

function fixtureHeaders(name: string): Headers {
  const url = new URL(`../../../fixtures/partner-center/${name}`, import.meta.url);
  const fixture = JSON.parse(readFileSync(url, 'utf8')) as { headers: Record<string, string> };
  return headers(fixture.headers);
}

describe('parseRetryAfter: Retry-After delay-seconds', () => {
  it('reads whole seconds as ms', () => {
    expect(parseRetryAfter(headers({ 'Retry-After': '120' }), NOW)).toEqual({
      delayMs: 120_000,
      source: 'retry-after',
    });
    expect(retryAfter('0')).toBe(0);
    expect(retryAfter('007')).toBe(7000);
  });

  it('accepts fractional seconds, rounded up to the ms', () => {
    expect(retryAfter('1.5')).toBe(1500);
    expect(retryAfter('1.1')).toBe(1100);
    expect(retryAfter('0.0001')).toBe(1);
    expect(retryAfter('2.0000')).toBe(2000);
  });

  it('ignores surrounding spaces and tabs', () => {
    // Headers strips these itself; a plain HeadersLike may not.
    const only = (name: string) => (name === 'retry-after' ? ' \t 30 \t' : null);
    const fake = { get: only, has: (name: string) => only(name) !== null };
    expect(parseRetryAfter(fake, NOW)?.delayMs).toBe(30_000);
  });

  it('reports a huge delay as sent, not clamped to the timer limit (2^31-1 ms)', () => {
    // Capping at the policy's maxRetryAfterMs, and keeping timers within their range, is the caller's
    // job; a delay clamped to 24.8 days here was reported, and waited for, as if the server meant it.
    expect(retryAfter('99999999999')).toBe(99_999_999_999_000);
    expect(retryAfter('3000000')).toBe(3_000_000_000);
  });

  it('keeps absurd values finite and whole: at most 2^53-1 ms', () => {
    expect(MAX_SERVER_DELAY_MS).toBe(Number.MAX_SAFE_INTEGER);
    expect(retryAfter('99999999999999999999')).toBe(MAX_SERVER_DELAY_MS);
    expect(retryAfter('9'.repeat(400))).toBe(MAX_SERVER_DELAY_MS);
  });

  it.each([
    '',
    '   ',
    '-1',
    '+5',
    '-0',
    'NaN',
    'Infinity',
    '1e3',
    '0x10',
    '.5',
    '5.',
    '12abc',
    '12 s',
    'soon',
    '1,5x',
    ',',
  ])('gives no hint for %j', (value) => {
    expect(parseRetryAfter(headers({ 'Retry-After': value }), NOW)).toBeUndefined();
  });

  it('takes the largest of comma-joined values (a repeated header), all of which must be valid', () => {
    expect(retryAfter(['120', '120'])).toBe(120_000);
    expect(retryAfter('5, 30, 10')).toBe(30_000);
    expect(retryAfter('5, soon')).toBeUndefined();
    expect(retryAfter(['5', ''])).toBe(5000);
  });

  it('reads the Partner Center gateway throttling response', () => {
    expect(parseRetryAfter(fixtureHeaders('429-gateway-throttled.json'), NOW)).toEqual({
      delayMs: 57_000,
      source: 'retry-after',
    });
  });
});

describe('parseRetryAfter: Retry-After HTTP-date', () => {
  it.each([
    ['IMF-fixdate', 'Sun, 06 Nov 1994 08:49:37 GMT'],
    ['RFC 850', 'Sunday, 06-Nov-94 08:49:37 GMT'],
    ['asctime', 'Sun Nov  6 08:49:37 1994'],
    ['asctime, two-digit day', 'Sun Nov 06 08:49:37 1994'],
  ])('reads a future %s date exactly to the ms', (_form, value) => {
    expect(retryAfter(value)).toBe(30_000);
    expect(retryAfter(value, NOW + 1)).toBe(29_999);
  });

  it('gives 0 for a date in the past or now', () => {
    expect(retryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_EXAMPLE)).toBe(0);
    expect(retryAfter('Sun, 06 Nov 1994 08:49:37 GMT', RFC_EXAMPLE + 3_600_000)).toBe(0);
    expect(retryAfter('Thu, 01 Jan 1970 00:00:00 GMT')).toBe(0);
  });

  it('reads the Partner Center 503 with a date', () => {
    const now = Date.UTC(2026, 9, 21, 7, 27, 0, 250);
    expect(parseRetryAfter(fixtureHeaders('503-busy-text.json'), now)).toEqual({
      delayMs: 59_750,
      source: 'retry-after',
    });
  });

  it('does not split a repeated date at the comma inside it', () => {
    expect(retryAfter('Sun, 06 Nov 1994 08:49:37 GMT, Sun, 06 Nov 1994 08:49:47 GMT')).toBe(40_000);
    expect(retryAfter(['Sun, 06 Nov 1994 08:49:37 GMT', '10'])).toBe(30_000);
  });

  it('reports a far-future date as the real delay', () => {
    expect(retryAfter('Fri, 31 Dec 9999 23:59:59 GMT')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59) - NOW);
  });
});

describe('parseRetryAfter: precedence and fall-through', () => {
  const all = {
    'retry-after-ms': '1500',
    'x-ms-retry-after-ms': '2500',
    'Retry-After': '3',
    RateLimit: '"default";r=0;t=4',
  };

  it('prefers the most precise header present', () => {
    expect(parseRetryAfter(headers(all), NOW)).toEqual({ delayMs: 1500, source: 'retry-after-ms' });
    const { 'retry-after-ms': _a, ...noMs } = all;
    expect(parseRetryAfter(headers(noMs), NOW)).toEqual({ delayMs: 2500, source: 'x-ms-retry-after-ms' });
    const { 'x-ms-retry-after-ms': _b, ...onlySeconds } = noMs;
    expect(parseRetryAfter(headers(onlySeconds), NOW)).toEqual({ delayMs: 3000, source: 'retry-after' });
    const { 'Retry-After': _c, ...onlyRateLimit } = onlySeconds;
    expect(parseRetryAfter(headers(onlyRateLimit), NOW)).toEqual({ delayMs: 4000, source: 'ratelimit' });
  });

  it('falls through a garbage header to the next valid one', () => {
    const h = headers({
      ...all,
      'retry-after-ms': 'NaN',
      'x-ms-retry-after-ms': '-5',
      'Retry-After': 'later',
    });
    expect(parseRetryAfter(h, NOW)).toEqual({ delayMs: 4000, source: 'ratelimit' });
    expect(parseRetryAfter(headers({ 'retry-after-ms': '', 'Retry-After': '2' }), NOW)).toEqual({
      delayMs: 2000,
      source: 'retry-after',
    });
  });

  it('gives no hint when no header is present or none is valid', () => {
    expect(parseRetryAfter(headers({}), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after-ms': 'x', 'Retry-After': 'y', RateLimit: 'z' }), NOW)).toBe(
      undefined,
    );
  });

  it('rejects a non-finite now', () => {
    expect(() => parseRetryAfter(headers({}), Number.NaN)).toThrow(RangeError);
  });
});

describe('parseRetryAfter: millisecond headers', () => {
  it('reads milliseconds, rounding a fraction up', () => {
    expect(parseRetryAfter(headers({ 'x-ms-retry-after-ms': '1234.2' }), NOW)).toEqual({
      delayMs: 1235,
      source: 'x-ms-retry-after-ms',
    });
    expect(parseRetryAfter(headers({ 'retry-after-ms': '0' }), NOW)?.delayMs).toBe(0);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '1e9' }), NOW)).toBeUndefined();
    expect(parseRetryAfter(headers({ 'retry-after-ms': '99999999999' }), NOW)?.delayMs).toBe(99_999_999_999);
    expect(parseRetryAfter(headers({ 'retry-after-ms': '9'.repeat(30) }), NOW)?.delayMs).toBe(
      MAX_SERVER_DELAY_MS,
    );
  });
});

describe('parseRetryAfter: RateLimit', () => {
  const rateLimit = (value: string, extra: Record<string, string> = {}) =>
    parseRetryAfter(headers({ RateLimit: value, ...extra }), NOW)?.delayMs;

  it('reads t= of an exhausted quota policy', () => {
    expect(rateLimit('"default";r=0;t=30')).toBe(30_000);
    expect(rateLimit('"default";t=30;r=0')).toBe(30_000);
    expect(rateLimit('"default"; r=0; t=30')).toBe(30_000);
  });

  it('takes the largest t among exhausted policies and ignores policies with units left', () => {
    expect(rateLimit('"day";r=0;t=3600, "minute";r=0;t=30')).toBe(3_600_000);
    expect(rateLimit('"day";r=100;t=3600, "minute";r=0;t=30')).toBe(30_000);
    expect(rateLimit('"default";r=5;t=30')).toBeUndefined();
    expect(rateLimit('"default";t=30')).toBeUndefined();
  });

  it('parses other structured-field members without tripping', () => {
    expect(rateLimit('quota;r=0;t=10;pk=:cHsdsRa894==:;q=?1;x="a \\"b\\"", ("a" b);z=1.5')).toBe(10_000);
  });

  it.each([
    '"default";r=0;t=-5',
    '"default";r=0;t=abc',
    '"default";r=0;t=',
    '"default";r=0;t=30,',
    '"default" r=0 t=30',
    '"default";R=0;t=30',
    '"unterminated;r=0;t=30',
    't=30',
  ])('gives no hint for the malformed field %j', (value) => {
    expect(rateLimit(value)).toBeUndefined();
  });

  it('falls back to the older RateLimit-Reset header (seconds)', () => {
    expect(parseRetryAfter(headers({ 'RateLimit-Reset': '30' }), NOW)).toEqual({
      delayMs: 30_000,
      source: 'ratelimit',
    });
    expect(rateLimit('garbage', { 'RateLimit-Reset': '12' })).toBe(12_000);
    expect(rateLimit('"default";r=0;t=5', { 'RateLimit-Reset': '12' })).toBe(5000);
    expect(
      parseRetryAfter(headers({ 'RateLimit-Reset': '30', 'RateLimit-Remaining': '0' }), NOW)?.delayMs,
    ).toBe(30_000);
    expect(parseRetryAfter(headers({ 'RateLimit-Reset': '30', 'RateLimit-Remaining': '7' }), NOW)).toBe(
      undefined,
    );
    expect(parseRetryAfter(headers({ 'RateLimit-Reset': 'tomorrow' }), NOW)).toBeUndefined();
  });
});

describe('parseRetryAfter: properties', () => {
  it('never returns NaN, a negative, a fraction or more than the ceiling, whatever the headers', () => {
    const value = fc.oneof(
      fc.string(),
      fc.stringMatching(/^[0-9., -]{0,20}$/),
      fc.nat().map(String),
      fc.double().map(String),
      fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
    );
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom(
            'retry-after-ms',
            'x-ms-retry-after-ms',
            'retry-after',
            'ratelimit',
            'ratelimit-reset',
          ),
          value,
        ),
        fc.oneof(
          fc.constant(NOW),
          fc.integer(),
          fc.maxSafeInteger(),
          fc.maxSafeInteger().map((n) => -n),
        ),
        (init, now) => {
          let h: Headers;
          try {
            h = headers(init);
          } catch {
            return; // values Headers itself refuses (control characters)
          }
          const result = parseRetryAfter(h, now);
          if (result === undefined) return;
          expect(Number.isInteger(result.delayMs)).toBe(true);
          expect(result.delayMs).toBeGreaterThanOrEqual(0);
          expect(result.delayMs).toBeLessThanOrEqual(MAX_SERVER_DELAY_MS);
        },
      ),
      { seed: 20_241_124 },
    );
  });

  it('reads back any whole number of seconds it is given', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2_000_000 }), (seconds) => {
        expect(retryAfter(String(seconds))).toBe(seconds * 1000);
      }),
      { seed: 7 },
    );
  });
});

describe('parseHttpDate', () => {
  it('reads the three RFC 9110 forms to the same instant', () => {
    expect(parseHttpDate('Sun, 06 Nov 1994 08:49:37 GMT')).toBe(RFC_EXAMPLE);
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT')).toBe(RFC_EXAMPLE);
    expect(parseHttpDate('Sun Nov  6 08:49:37 1994')).toBe(RFC_EXAMPLE);
  });

  it('agrees with Date.UTC across years, months and leap days', () => {
    expect(parseHttpDate('Thu, 01 Jan 1970 00:00:00 GMT')).toBe(0);
    expect(parseHttpDate('Thu, 29 Feb 2024 23:59:59 GMT')).toBe(Date.UTC(2024, 1, 29, 23, 59, 59));
    expect(parseHttpDate('Tue, 29 Feb 2000 12:00:00 GMT')).toBe(Date.UTC(2000, 1, 29, 12));
    expect(parseHttpDate('Fri, 31 Dec 1999 23:59:59 GMT')).toBe(Date.UTC(1999, 11, 31, 23, 59, 59));
    expect(parseHttpDate('Mon, 01 Jan 0001 00:00:00 GMT')).toBe(-62_135_596_800_000);
    fc.assert(
      fc.property(
        fc.date({ min: new Date(0), max: new Date(Date.UTC(9999, 11, 31)), noInvalidDate: true }),
        (d) => {
          const whole = Math.floor(d.getTime() / 1000) * 1000;
          expect(parseHttpDate(d.toUTCString())).toBe(whole);
        },
      ),
      { seed: 42 },
    );
  });

  it('rolls a leap second over to the next minute', () => {
    expect(parseHttpDate('Sat, 31 Dec 2016 23:59:60 GMT')).toBe(Date.UTC(2017, 0, 1));
  });

  it('reads a two-digit RFC 850 year relative to now when given, never more than 50 years ahead', () => {
    const in2025 = Date.UTC(2025, 5, 1);
    expect(parseHttpDate('Monday, 01-Jan-75 00:00:00 GMT', in2025)).toBe(Date.UTC(2075, 0, 1));
    expect(parseHttpDate('Thursday, 01-Jan-76 00:00:00 GMT', in2025)).toBe(Date.UTC(1976, 0, 1));
    expect(parseHttpDate('Friday, 01-Jan-99 00:00:00 GMT', Date.UTC(2090, 0, 1))).toBe(Date.UTC(2099, 0, 1));
    // Without now: the fixed RFC 6265 pivot.
    expect(parseHttpDate('Monday, 01-Jan-69 00:00:00 GMT')).toBe(Date.UTC(2069, 0, 1));
    expect(parseHttpDate('Thursday, 01-Jan-70 00:00:00 GMT')).toBe(0);
  });

  it.each([
    '',
    'garbage',
    '1994-11-06T08:49:37Z',
    '784111777',
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37',
    'Sun, 06 Nov 1994 08:49:37 GMT junk',
    ' Sun, 06 Nov 1994 08:49:37 GMT',
    'sun, 06 nov 1994 08:49:37 gmt',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sun,06 Nov 1994 08:49:37 GMT',
    'Sunday, 06 Nov 1994 08:49:37 GMT',
    'Sun, 06-Nov-94 08:49:37 GMT',
    'Sunday, 06-Nov-1994 08:49:37 GMT',
    'Sun Nov 6 08:49:37 1994',
    'Sun Nov  6 08:49:37 1994 GMT',
    'Sun, 31 Nov 1994 08:49:37 GMT',
    'Sun, 29 Feb 1900 08:49:37 GMT',
    'Sun, 00 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 06 Nov 1994 08:49:61 GMT',
    'Sun, 06 Foo 1994 08:49:37 GMT',
  ])('rejects %j', (value) => {
    expect(parseHttpDate(value)).toBeUndefined();
  });
});
