import { EPOCH_SECONDS_FROM } from './rate-limit-headers.ts';
import { isCount, parseStructuredList } from './structured-field.ts';
import type { HeadersLike } from './types.ts';

/**
 * The largest delay `parseRetryAfter` returns: `Number.MAX_SAFE_INTEGER` ms (about 285 000 years), so
 * that an absurd value stays a finite whole number (and survives JSON). It is deliberately not the
 * timer limit (2^31-1 ms, 24.8 days): the delay reported is what the server asked for, and deciding
 * how long to actually wait (at most the policy's `maxRetryAfterMs`) is the caller's job, as is never
 * handing a timer more than it can hold.
 */
export const MAX_SERVER_DELAY_MS = Number.MAX_SAFE_INTEGER;

/** A delay the server asked for. */
export interface ServerDelay {
  /**
   * Whole ms the server asked to wait, in [0, MAX_SERVER_DELAY_MS]: may exceed what a timer can hold
   * (2^31-1 ms), so cap it before waiting. Never NaN.
   */
  readonly delayMs: number;
  /** The header it came from (`ratelimit` covers both `RateLimit` and `RateLimit-Reset`). */
  readonly source: 'retry-after-ms' | 'x-ms-retry-after-ms' | 'retry-after' | 'ratelimit';
}

/**
 * The server-directed delay in `headers`, or `undefined` when there is no usable hint (the backoff then
 * applies). Headers are read in this order, most precise first; a header that is absent or malformed
 * falls through to the next, so a garbage value never hides a valid one:
 *
 * 1. `retry-after-ms`, then `x-ms-retry-after-ms` (Azure SDK): milliseconds, fractions rounded up.
 * 2. `Retry-After` (RFC 9110): delay-seconds or an HTTP-date in any of its three forms; a date in the
 *    past means 0. Fractional seconds (`1.5`) are accepted and rounded up to the ms: RFC 9110 allows only
 *    integers, but the intent is unambiguous and rejecting it would swap a clear server hint for a
 *    guessed backoff that may well be shorter, which a throttled server is least likely to welcome.
 * 3. `RateLimit` (draft-ietf-httpapi-ratelimit-headers): the largest `t=` among quota policies whose
 *    `r=` is 0 (a quota with units left is no reason to wait), e.g. `"default";r=0;t=30`; then the
 *    older draft's `RateLimit-Reset: 30` (seconds), unless `RateLimit-Remaining` says units are left.
 *    Both are delta seconds: a value of 10^9 (31 years) or more is an epoch sent by mistake, garbage,
 *    as `parseRateLimit` reads it too.
 *
 * A header repeated by an intermediary arrives comma-joined (`120, 120`): every member must be valid and
 * the largest wins, so that every hint is honoured. Values above MAX_SERVER_DELAY_MS (2^53-1) are reported
 * as MAX_SERVER_DELAY_MS; anything below is the server's delay exactly, however long.
 *
 * @param headers Read with lower-case names; `Headers` matches them case-insensitively.
 * @param now The current time in ms since the epoch, for HTTP-dates.
 * @throws RangeError when `now` is not a finite number.
 */
export function parseRetryAfter(headers: Pick<HeadersLike, 'get'>, now: number): ServerDelay | undefined {
  if (!Number.isFinite(now)) {
    throw new RangeError(
      `breakwater: parseRetryAfter: now must be a finite number of ms since the epoch, got ${now}`,
    );
  }
  const ms = (member: string) => decimalToMs(member, 0);
  return (
    found('retry-after-ms', largest(headers.get('retry-after-ms'), ms)) ??
    found('x-ms-retry-after-ms', largest(headers.get('x-ms-retry-after-ms'), ms)) ??
    found(
      'retry-after',
      largest(headers.get('retry-after'), (member) => retryAfterMember(member, now)),
    ) ??
    found('ratelimit', rateLimitField(headers.get('ratelimit')) ?? rateLimitReset(headers))
  );
}

function found(source: ServerDelay['source'], delayMs: number | undefined): ServerDelay | undefined {
  return delayMs === undefined ? undefined : { delayMs: Math.min(delayMs, MAX_SERVER_DELAY_MS), source };
}

function retryAfterMember(member: string, now: number): number | undefined {
  const seconds = decimalToMs(member, 3);
  if (seconds !== undefined) return seconds;
  const date = parseHttpDate(member, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/**
 * A plain unsigned decimal (`1`, `1.5`, `007`; not `-1`, `+1`, `1e3`, `.5`, `Infinity`) times 10^scale,
 * rounded up. Done on the digits, not with floats, so `1.1` seconds is 1100 ms, not 1101.
 */
function decimalToMs(text: string, scale: 0 | 3): number | undefined {
  const match = DECIMAL.exec(text);
  if (match === null) return undefined;
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  const kept = fraction.slice(0, scale).padEnd(scale, '0');
  const roundUp = /[1-9]/.test(fraction.slice(scale)) ? 1 : 0;
  // A huge whole part becomes a large finite number or Infinity; the caller's cap makes either finite.
  return Number(whole + kept) + roundUp;
}

const DAY_NAME = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)$/;

/**
 * Splits a comma-joined value into members, parses each and returns the largest; `undefined` when the
 * value is absent, empty, or any member is malformed. Commas inside HTTP-dates (`Sun, 06 Nov ...`) do
 * not split: a piece that is only a day name is joined to the piece after it.
 */
function largest(value: string | null, parse: (member: string) => number | undefined): number | undefined {
  if (value === null) return undefined;
  const members: string[] = [];
  for (const piece of value.split(',')) {
    const last = members.length - 1;
    const previous = members[last];
    if (previous !== undefined && DAY_NAME.test(trimOws(previous))) members[last] = `${previous},${piece}`;
    else members.push(piece);
  }
  let result: number | undefined;
  for (const member of members) {
    const trimmed = trimOws(member);
    // RFC 9110 5.6.1: empty list elements are tolerated, e.g. from a duplicated empty header.
    if (trimmed === '') continue;
    const parsed = parse(trimmed);
    if (parsed === undefined || Number.isNaN(parsed)) return undefined;
    result = result === undefined ? parsed : Math.max(result, parsed);
  }
  return result;
}

function trimOws(text: string): string {
  return text.replace(/^[ \t]+|[ \t]+$/g, '');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = MONTHS.join('|');
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) (${MONTH}) (\\d{4}) ${TIME} GMT$`);
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-(${MONTH})-(\\d{2}) ${TIME} GMT$`,
);
const ASCTIME_DATE = new RegExp(
  `^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (${MONTH}) (\\d{2}| \\d) ${TIME} (\\d{4})$`,
);

/**
 * An RFC 9110 HTTP-date in ms since the epoch, or `undefined` when `value` is not exactly one of its
 * three forms: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`, obsolete RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`,
 * or asctime `Sun Nov  6 08:49:37 1994`. Strict where `Date.parse` is lenient: names are case-sensitive
 * (as RFC 9110 says), no surrounding text, fields in range (second 60 is a leap second and rolls over).
 * The day name is not checked against the date: the date is what the server means.
 *
 * @param now ms since the epoch, used only for RFC 850's two-digit year, which RFC 9110 reads as the
 *   most recent matching year not more than 50 years ahead of `now`. Without it, 70-99 are 19xx and 00-69
 *   are 20xx (the RFC 6265 rule), so the result never depends on the wall clock.
 */
export function parseHttpDate(value: string, now?: number): number | undefined {
  let m = IMF_FIXDATE.exec(value);
  if (m !== null) return toEpochMs(Number(m[3]), m[2], m[1], m[4], m[5], m[6]);
  m = RFC850_DATE.exec(value);
  if (m !== null) return toEpochMs(fullYear(Number(m[3]), now), m[2], m[1], m[4], m[5], m[6]);
  m = ASCTIME_DATE.exec(value);
  if (m !== null) return toEpochMs(Number(m[6]), m[1], m[2], m[3], m[4], m[5]);
  return undefined;
}

function fullYear(twoDigits: number, now: number | undefined): number {
  // Beyond Date's range (+-8.64e15 ms) the year is NaN: use the fixed pivot too.
  const thisYear = now === undefined ? Number.NaN : new Date(now).getUTCFullYear();
  if (Number.isNaN(thisYear)) return twoDigits < 70 ? 2000 + twoDigits : 1900 + twoDigits;
  const year = thisYear - (thisYear % 100) + twoDigits;
  return year > thisYear + 50 ? year - 100 : year;
}

function toEpochMs(
  year: number,
  monthName: string | undefined,
  dayText: string | undefined,
  hourText: string | undefined,
  minuteText: string | undefined,
  secondText: string | undefined,
): number | undefined {
  const month = MONTHS.indexOf(monthName ?? '') + 1;
  const day = Number(dayText);
  const hour = Number(hourText);
  const minute = Number(minuteText);
  const second = Number(secondText);
  if (day < 1 || day > daysInMonth(year, month) || hour > 23 || minute > 59 || second > 60) return undefined;
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/**
 * Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm). Plain arithmetic
 * rather than Date.UTC, which maps years 0-99 to 1900-1999.
 */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** The largest `t` (seconds, as ms) among exhausted (`r=0`) quota policies in a `RateLimit` field. */
function rateLimitField(value: string | null): number | undefined {
  if (value === null) return undefined;
  const members = parseStructuredList(value);
  if (members === undefined) return undefined;
  let result: number | undefined;
  for (const { params } of members) {
    const r = params.get('r');
    const t = params.get('t');
    if (r !== 0 || !isCount(t) || t >= EPOCH_SECONDS_FROM) continue;
    result = Math.max(result ?? 0, t * 1000);
  }
  return result;
}

/** The older draft's `RateLimit-Reset` (delay in seconds), unless `RateLimit-Remaining` shows units left. */
function rateLimitReset(headers: Pick<HeadersLike, 'get'>): number | undefined {
  const remaining = headers.get('ratelimit-remaining');
  if (remaining !== null) {
    const left = largest(remaining, (m) => decimalToMs(m, 0));
    if (left !== undefined && left > 0) return undefined;
  }
  // From 10^9 s on, an epoch, not a delay: undefined (garbage), as `undefined < n` is false.
  return largest(headers.get('ratelimit-reset'), (m) => {
    const ms = decimalToMs(m, 3);
    return (ms as number) < EPOCH_SECONDS_FROM * 1000 ? ms : undefined;
  });
}
