import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRateLimit } from './rate-limit-headers.ts';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const spent = (headers: Record<string, string>) => parseRateLimit(new Headers(headers), NOW);

describe('parseRateLimit: RateLimit (draft-ietf-httpapi-ratelimit-headers)', () => {
  it.each([
    ['"default";r=0;t=2', 2_000],
    ['default;r=0;t=30', 30_000],
    ['"default";r=0;t=0', 0],
    // Several policies: spent while ANY says r=0; the longest reset among the spent ones.
    ['"burst";r=5;t=1, "daily";r=0;t=3600', 3_600_000],
    ['"burst";r=0;t=1, "daily";r=0;t=60', 60_000],
    ['"a";r=0;t=2;pk=:cHJvamVjdDEyMw==:', 2_000],
  ])('%s is spent for %d ms', (field, resetMs) => {
    expect(spent({ RateLimit: field })).toEqual({ resetMs, form: 'ratelimit' });
  });

  it('is not spent while every policy has units left', () => {
    expect(spent({ RateLimit: '"default";r=1;t=2, "daily";r=50;t=100' })).toBeUndefined();
  });

  it("uses RateLimit-Policy's window w when t is missing, matching the policy by name", () => {
    const policy = '"burst";q=10;w=1, "daily";q=1000;w=86400';
    expect(spent({ RateLimit: '"daily";r=0', 'RateLimit-Policy': policy })).toEqual({
      resetMs: 86_400_000,
      form: 'ratelimit',
      fromWindow: true,
    });
    // A stated reset that is as long wins over a window, which only bounds the reset.
    expect(spent({ RateLimit: '"daily";r=0, "burst";r=0;t=86400', 'RateLimit-Policy': policy })).toEqual({
      resetMs: 86_400_000,
      form: 'ratelimit',
    });
    expect(spent({ RateLimit: '"other";r=0', 'RateLimit-Policy': policy })).toBeUndefined();
    expect(spent({ RateLimit: '"daily";r=0' })).toBeUndefined();
  });

  it('a valid RateLimit with units left answers; older forms are not read then', () => {
    const headers = {
      RateLimit: '"default";r=3;t=2',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': '9',
    };
    expect(spent(headers)).toBeUndefined();
  });

  it.each([
    '"default";r=-1;t=2',
    '"default";r=0;t=-2',
    '"default";r=0.5;t=2',
    '"default";r=0;t=1.5',
    '"default";r=0;t="2"',
    '"default";r=0;t=1000000000',
    '"default";t=2',
    '"default";r=0;t=2,',
    'garbage ;;; r=0',
    '',
  ])('ignores the garbage field %j (falls through to the older forms)', (field) => {
    expect(spent({ RateLimit: field })).toBeUndefined();
    expect(spent({ RateLimit: field, 'RateLimit-Remaining': '0', 'RateLimit-Reset': '4' })).toEqual({
      resetMs: 4_000,
      form: 'ratelimit-reset',
    });
  });
});

describe('parseRateLimit: RateLimit-Remaining and RateLimit-Reset (drafts up to -06)', () => {
  it('reads a spent quota and the delta-seconds reset, names case-insensitive', () => {
    expect(spent({ 'ratelimit-remaining': '0', 'RATELIMIT-RESET': '7' })).toEqual({
      resetMs: 7_000,
      form: 'ratelimit-reset',
    });
    expect(spent({ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1.1' })?.resetMs).toBe(1_100);
    expect(spent({ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1.0001' })?.resetMs).toBe(1_001);
  });

  it('a comma-joined repeat counts: the fewest remaining, the latest reset', () => {
    expect(spent({ 'RateLimit-Remaining': '4, 0', 'RateLimit-Reset': '3, 9' })?.resetMs).toBe(9_000);
    expect(spent({ 'RateLimit-Remaining': '4, 2', 'RateLimit-Reset': '3' })).toBeUndefined();
  });

  it.each([
    [{ 'RateLimit-Remaining': '5', 'RateLimit-Reset': '3' }],
    [{ 'RateLimit-Remaining': '0' }],
    [{ 'RateLimit-Reset': '3' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '-3' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': 'soon' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': 'NaN' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': 'Infinity' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1e3' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '3, x' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1700000000' }],
    [{ 'RateLimit-Remaining': '-1', 'RateLimit-Reset': '3' }],
    [{ 'RateLimit-Remaining': 'none', 'RateLimit-Reset': '3' }],
    [{ 'RateLimit-Remaining': '0.0', 'RateLimit-Reset': '3' }],
  ])('%j: not spent, or unusable', (headers) => {
    expect(spent(headers)).toBeUndefined();
  });
});

describe('parseRateLimit: X-RateLimit-Remaining and X-RateLimit-Reset (legacy)', () => {
  const legacy = (reset: string) => spent({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': reset });

  it('below 10^9 the reset is delta seconds', () => {
    expect(legacy('42')).toEqual({ resetMs: 42_000, form: 'x-ratelimit-reset' });
    expect(legacy('0.25')?.resetMs).toBe(250);
    expect(legacy('999999999')?.resetMs).toBe(999_999_999_000);
  });

  it('from 10^9 to 10^11 it is epoch seconds (GitHub), in the past meaning already reset', () => {
    expect(legacy(String(NOW / 1000 + 30))?.resetMs).toBe(30_000);
    expect(legacy(`${NOW / 1000 + 2}.5`)?.resetMs).toBe(2_500);
    expect(legacy(String(NOW / 1000 - 30))?.resetMs).toBe(0);
    expect(legacy('1000000000')?.resetMs).toBe(0);
  });

  it('from 10^12 to 10^14 it is epoch ms; the gap between the two and anything beyond is ignored', () => {
    expect(legacy(String(NOW + 1_500))?.resetMs).toBe(1_500);
    expect(legacy(String(NOW - 1_500))?.resetMs).toBe(0);
    expect(legacy('500000000000')).toBeUndefined();
    expect(legacy('100000000000000')).toBeUndefined();
    expect(legacy('1'.repeat(400))).toBeUndefined();
  });

  it('units left, garbage, or a missing reset: nothing', () => {
    expect(spent({ 'X-RateLimit-Remaining': '12', 'X-RateLimit-Reset': '42' })).toBeUndefined();
    expect(spent({ 'X-RateLimit-Remaining': '0' })).toBeUndefined();
    expect(legacy('-5')).toBeUndefined();
    expect(legacy('')).toBeUndefined();
    expect(legacy('tomorrow')).toBeUndefined();
  });

  it('garbage in a newer form does not hide a valid legacy pair', () => {
    const headers = { 'RateLimit-Remaining': 'x', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '5' };
    expect(spent(headers)?.resetMs).toBe(5_000);
  });
});

describe('parseRateLimit: any input', () => {
  const names = [
    'ratelimit',
    'ratelimit-policy',
    'ratelimit-remaining',
    'ratelimit-reset',
    'x-ratelimit-remaining',
    'x-ratelimit-reset',
  ];
  const value = fc.oneof(
    fc.string(),
    fc.integer().map(String),
    fc.double().map(String),
    fc.constantFrom('"default";r=0;t=2', 'a;r=0, b;r=1;t=9', '0', '1e400', '-0', '1700000000'),
  );

  it('never throws, and a spent quota has a whole, finite, non-negative reset', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...names), value), (record) => {
        const headers = new Headers();
        for (const [name, v] of Object.entries(record)) {
          // Headers refuses control characters; a server cannot send them either.
          if (/^[^\0\r\n]*$/.test(v)) headers.set(name, v);
        }
        const result = parseRateLimit(headers, NOW);
        if (result === undefined) return;
        expect(Number.isInteger(result.resetMs)).toBe(true);
        expect(result.resetMs).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('refuses a now that is not a finite number', () => {
    expect(() => parseRateLimit(new Headers(), Number.NaN)).toThrow(/breakwater: parseRateLimit: now/);
  });
});
