import type { BackoffKind, BackoffPolicy } from './types.ts';

/** Every backoff shape, the one list the `BackoffKind` type and both checks of `kind` read. */
export const BACKOFF_KINDS = ['decorrelated-jitter', 'full-jitter', 'none'] as const;

/** True when `value` names a backoff shape. */
export function isBackoffKind(value: unknown): value is BackoffKind {
  return (BACKOFF_KINDS as readonly unknown[]).includes(value);
}

/** Where a call stands when it asks how long to wait before its next attempt. */
export interface BackoffState {
  /** Which retry the wait precedes: 1 for the wait after the first attempt. A positive integer. */
  readonly retry: number;
  /**
   * The previous wait in ms, whatever chose it (backoff or server delay); `undefined` before the first
   * retry or when unknown. Only `'decorrelated-jitter'` reads it.
   */
  readonly previousDelayMs: number | undefined;
  /** True after a 429 that carried no delay header: `throttleInitialDelayMs` replaces `initialDelayMs`. */
  readonly throttled: boolean;
}

/**
 * The wait in whole ms before retry number `state.retry`, when the server gave no delay.
 *
 * - `'decorrelated-jitter'` (default): `random_between(base, prev * 1.5 * multiplier)`, capped, where `prev`
 *   is the previous wait (AWS "decorrelated jitter"; see below).
 * - `'full-jitter'`: `random() * min(maxDelayMs, base * multiplier^(retry-1))`.
 * - `'none'`: exactly `min(maxDelayMs, base * multiplier^(retry-1))`, rounded to the ms.
 *
 * `base` is `throttleInitialDelayMs` when `state.throttled`, else `initialDelayMs`. The result is always an
 * integer in `[0, maxDelayMs]`: never NaN, never Infinity, however large `retry` grows.
 *
 * @param random A source of numbers in [0, 1), `Math.random` in production, seeded in tests. Values
 *   outside [0, 1] (or NaN) are clamped, so a faulty source cannot push the wait out of bounds.
 * @throws RangeError when the policy or `state.retry` is malformed (non-finite or negative delays,
 *   `multiplier` below 1, unknown `kind`, `retry` not a positive integer).
 */
export function backoffDelay(policy: BackoffPolicy, state: BackoffState, random: () => number): number {
  assertPolicy(policy);
  if (!Number.isInteger(state.retry) || state.retry < 1) {
    throw new RangeError(
      `breakwater: backoffDelay: state.retry must be a positive integer, got ${String(state.retry)}`,
    );
  }
  const base = state.throttled ? policy.throttleInitialDelayMs : policy.initialDelayMs;
  const max = policy.maxDelayMs;
  switch (policy.kind) {
    case 'none':
      return wholeMs(exponential(base, policy.multiplier, state.retry, max), max);
    case 'full-jitter':
      return wholeMs(unit(random) * exponential(base, policy.multiplier, state.retry, max), max);
    case 'decorrelated-jitter':
      return wholeMs(decorrelated(base, policy.multiplier, state, max, unit(random)), max);
  }
}

/**
 * AWS's decorrelated jitter, `min(cap, random_between(base, prev * 3))`, with the 3 written as
 * `1.5 * multiplier` so the default multiplier 2 gives AWS's formula exactly and multiplier 1 stops the
 * growth (the wait then hovers around twice the base).
 *
 * Why not Polly's DecorrelatedJitterBackoffV2: it carries its own hidden state (the un-jittered curve
 * value of the previous attempt), which cannot be recovered from the previous delay once that delay
 * was rounded, capped or replaced by a server delay. AWS's formula needs only the previous wait, so this
 * stays a pure function of (retry, previous wait, random) and a Retry-After wait feeds into it naturally.
 */
function decorrelated(base: number, multiplier: number, state: BackoffState, max: number, r: number): number {
  const low = Math.min(base, max);
  const known = state.previousDelayMs;
  // Unknown previous wait past the first retry: assume the un-jittered wait that retry would have had,
  // so a call that lost track (e.g. after a server delay) keeps growing instead of starting over.
  const assumed =
    known !== undefined && !Number.isNaN(known)
      ? known
      : state.retry === 1
        ? base
        : exponential(base, multiplier, state.retry - 1, max);
  // Clamping keeps prev * factor finite and makes a 0 ms server delay count as the base.
  const prev = Math.min(Math.max(assumed, low), max);
  const high = Math.min(Math.max(prev * 1.5 * multiplier, low), max);
  return low + r * (high - low);
}

/** `min(max, base * multiplier^(retry-1))` without overflowing to Infinity or NaN (0 * Infinity). */
function exponential(base: number, multiplier: number, retry: number, max: number): number {
  if (base === 0) return 0;
  const value = base * multiplier ** (retry - 1);
  return Math.min(value, max);
}

function wholeMs(value: number, max: number): number {
  return Math.min(Math.round(value), Math.floor(max));
}

function unit(random: () => number): number {
  const r = random();
  return r > 0 ? Math.min(r, 1) : 0;
}

function assertPolicy(policy: BackoffPolicy): void {
  if (!isBackoffKind(policy.kind)) {
    const kinds = BACKOFF_KINDS.map((k) => `'${k}'`).join(', ');
    throw new RangeError(
      `breakwater: backoff.kind must be one of ${kinds}, got ${JSON.stringify(policy.kind)}`,
    );
  }
  for (const key of ['initialDelayMs', 'throttleInitialDelayMs', 'maxDelayMs'] as const) {
    const value = policy[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`breakwater: backoff.${key} must be a finite number >= 0, got ${String(value)}`);
    }
  }
  const m = policy.multiplier;
  if (typeof m !== 'number' || !Number.isFinite(m) || m < 1) {
    throw new RangeError(`breakwater: backoff.multiplier must be a finite number >= 1, got ${String(m)}`);
  }
}
