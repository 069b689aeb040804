import { type BareItem, isCount, parseStructuredList } from './structured-field.ts';
import type { HeadersLike } from './types.ts';

/** A quota the server says is spent, read from its RateLimit headers. */
export interface QuotaSpent {
  /** Whole ms from `now` until the quota resets, at least 0. May exceed a timer's limit: cap it. */
  readonly resetMs: number;
  /** The header family it came from. */
  readonly form: 'ratelimit' | 'ratelimit-reset' | 'x-ratelimit-reset';
  /**
   * Set when the reset is a policy's window `w` (`RateLimit` sent no `t`): the longest the quota can
   * take to reset, not when it does. Absent for a reset the server stated.
   */
  readonly fromWindow?: true;
}

/** What one header family says: nothing usable, units left, or spent until a reset. */
type Reading = undefined | 'units-left' | QuotaSpent;

/**
 * When the server's RateLimit headers say the client's quota is spent: `{ resetMs }` until the reset,
 * or `undefined` when no header says so (units are left, no header is sent, or what is sent is
 * unusable). Pure; never throws for any header value. Header names are read in lower case (`Headers`
 * matches them case-insensitively). The first family that is present and usable answers, so a garbage
 * value never hides a valid one:
 *
 * 1. `RateLimit` (draft-ietf-httpapi-ratelimit-headers, -07 onwards: a Structured Field List of quota
 *    policies, each a String or Token naming the policy with parameters `r` = remaining units and
 *    `t` = seconds until the reset, both non-negative Integers), e.g. `"default";r=0;t=2`. The quota
 *    is spent while ANY policy says `r=0`; its reset is `t`, or, when `t` is absent, the window `w`
 *    (seconds) of the policy of the same name in `RateLimit-Policy` (`"default";q=100;w=60`). The
 *    longest reset among spent policies wins. A spent policy with no usable reset is skipped, as
 *    garbage.
 * 2. `RateLimit-Remaining` with `RateLimit-Reset` (the drafts up to -06): remaining units, and the
 *    reset in delta seconds.
 * 3. `X-RateLimit-Remaining` with `X-RateLimit-Reset` (GitHub, Twitter and many gateways). The reset
 *    is told apart by magnitude: below 10^9 it is delta seconds (10^9 s is 31 years, far above any
 *    window); from 10^9 to 10^11 epoch seconds (September 2001 to the year 5138, GitHub's form); from
 *    10^12 to 10^14 epoch ms (the same dates in ms). Between 10^11 and 10^12 a value could be either
 *    (epoch seconds beyond the year 5138 or epoch ms before 2001): it is ignored, as is anything
 *    beyond 10^14. An epoch in the past means the quota has already reset: `resetMs` 0.
 *
 * Remaining must be a non-negative integer and the reset a non-negative decimal (fractions of a
 * second round up to the ms) below 10^9 seconds when it is a delta; a comma-joined repeat (`0, 0`) counts when every member is valid, with
 * the fewest remaining and the latest reset. Anything else (negative, non-numeric, a reset missing
 * while remaining is 0) makes the family unusable.
 *
 * @param now The current time in ms since the epoch, for epoch resets.
 * @throws RangeError when `now` is not a finite number.
 */
export function parseRateLimit(headers: Pick<HeadersLike, 'get'>, now: number): QuotaSpent | undefined {
  if (!Number.isFinite(now)) {
    throw new RangeError(
      `breakwater: parseRateLimit: now must be a finite number of ms since the epoch, got ${now}`,
    );
  }
  // No closure per family: every response is read, most of them with none of these headers.
  const reading = ietfField(headers) ?? pairOfFields(headers, false, now) ?? pairOfFields(headers, true, now);
  return reading === 'units-left' ? undefined : reading;
}

function ietfField(headers: Pick<HeadersLike, 'get'>): Reading {
  const value = headers.get('ratelimit');
  const members = value === null ? undefined : parseStructuredList(value);
  if (members === undefined) return undefined;
  let usable = false;
  let spent: QuotaSpent | undefined;
  for (const { item, params } of members) {
    const r = params.get('r');
    if (isCount(r) && r > 0) usable = true;
    if (r !== 0) continue;
    const t = params.get('t');
    const stated = isCount(t);
    const resetMs = secondsToMs(stated ? t : policyWindow(headers, item));
    if (resetMs !== undefined && resetMs >= (spent?.resetMs ?? 0)) {
      spent = stated ? { resetMs, form: 'ratelimit' } : { resetMs, form: 'ratelimit', fromWindow: true };
    }
  }
  return spent ?? (usable ? 'units-left' : undefined);
}

/** The `w` (seconds) of the policy named `name` in `RateLimit-Policy`, if it has a valid one. */
function policyWindow(headers: Pick<HeadersLike, 'get'>, name: BareItem | undefined): number | undefined {
  const value = headers.get('ratelimit-policy');
  if (value === null || name === undefined) return undefined;
  const policy = parseStructuredList(value)?.find((member) => member.item === name);
  const w = policy?.params.get('w');
  return isCount(w) ? w : undefined;
}

/**
 * `RateLimit-Remaining` with `RateLimit-Reset` (delta seconds), or with `legacy` their `X-` forms (the
 * reset by magnitude: {@link legacyReset}), the reset turned into ms from `now`.
 */
function pairOfFields(headers: Pick<HeadersLike, 'get'>, legacy: boolean, now: number): Reading {
  // Constant names, not built per response: every response is read for them.
  const remaining = members(headers.get(legacy ? 'x-ratelimit-remaining' : 'ratelimit-remaining'), INTEGER);
  if (remaining === undefined) return undefined;
  if (Math.min(...remaining) > 0) return 'units-left';
  const form = legacy ? 'x-ratelimit-reset' : 'ratelimit-reset';
  const resets = members(headers.get(form), DECIMAL)?.map((value) =>
    legacy ? legacyReset(value, now) : secondsToMs(value),
  );
  if (resets === undefined || resets.includes(undefined)) return undefined;
  return { resetMs: Math.max(...(resets as number[])), form };
}

const INTEGER = /^\d+$/;
const DECIMAL = /^\d+(?:\.\d+)?$/;

/** The numbers of a comma-joined value, or `undefined` when it is absent or any member is malformed. */
function members(value: string | null, shape: RegExp): number[] | undefined {
  if (value === null) return undefined;
  const texts = value
    .split(',')
    .map((member) => member.trim())
    .filter((member) => member !== '');
  if (texts.length === 0 || !texts.every((text) => shape.test(text))) return undefined;
  return texts.map(Number);
}

/**
 * Delta seconds below this are a delay; `X-RateLimit-Reset` values from here on are epochs, and an
 * un-prefixed reset (`RateLimit-Reset`, `t=`) this large is garbage, here and as a server delay
 * (`parseRetryAfter`), so that a value means the same on a 200 and on a 429.
 */
export const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_SECONDS_TO = 1e11;
const EPOCH_MS_FROM = 1e12;
const EPOCH_MS_TO = 1e14;

/** Delta seconds as whole ms; `undefined` for none or for 10^9 s and more (garbage, not a window). */
function secondsToMs(seconds: number | undefined): number | undefined {
  return seconds !== undefined && seconds < EPOCH_SECONDS_FROM ? ceilMs(seconds * 1000) : undefined;
}

function legacyReset(value: number, now: number): number | undefined {
  if (value < EPOCH_SECONDS_FROM) return secondsToMs(value);
  if (value < EPOCH_SECONDS_TO) return Math.max(0, ceilMs(value * 1000 - now));
  if (value >= EPOCH_MS_FROM && value < EPOCH_MS_TO) return Math.max(0, ceilMs(value - now));
  return undefined;
}

/** Rounds up to the ms, forgiving the float error of a decimal times 1000 (`1.1` s is 1100 ms, not 1101). */
function ceilMs(ms: number): number {
  // `+ 0` turns the -0 of `Math.ceil(-0.001)` into 0.
  return Math.ceil(ms - 0.001) + 0;
}
