import { describe, expect, it } from 'vitest';
import { BACKOFF_KINDS, backoffDelay, isBackoffKind } from './backoff.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { isToken, TOKEN_CHAR } from './token.ts';
import { validatePolicyInput } from './validate.ts';

/** RFC 9110 §5.6.2, spelled out rather than as a character class. */
const TCHARS = "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

describe('the token grammar, one definition', () => {
  it('TOKEN_CHAR and isToken accept exactly the tchars of RFC 9110', () => {
    for (let code = 0; code < 256; code++) {
      const char = String.fromCharCode(code);
      expect(TOKEN_CHAR.test(char), `char ${code}`).toBe(TCHARS.includes(char));
      expect(isToken(char), `char ${code}`).toBe(TCHARS.includes(char));
    }
    expect(isToken('MS-RequestId')).toBe(true);
    expect(isToken('')).toBe(false);
    expect(isToken('GET /')).toBe(false);
  });
});

describe('the backoff kinds, one list', () => {
  const random = (): number => 0.5;
  const backoff = DEFAULT_POLICY.retry.backoff;

  it('every listed kind is accepted by the policy check and by backoffDelay', () => {
    for (const kind of BACKOFF_KINDS) {
      expect(isBackoffKind(kind)).toBe(true);
      expect(() => validatePolicyInput({ retry: { backoff: { kind } } }, 'policy')).not.toThrow();
      expect(
        backoffDelay(
          { ...backoff, kind },
          { retry: 1, previousDelayMs: undefined, throttled: false },
          random,
        ),
      ).toBeGreaterThanOrEqual(0);
    }
  });

  it('a kind not listed is refused by both, each message listing the kinds', () => {
    const kind = 'exponential' as (typeof BACKOFF_KINDS)[number];
    expect(isBackoffKind(kind)).toBe(false);
    expect(() => validatePolicyInput({ retry: { backoff: { kind } } }, 'policy')).toThrow(/'full-jitter'/);
    expect(() =>
      backoffDelay({ ...backoff, kind }, { retry: 1, previousDelayMs: undefined, throttled: false }, random),
    ).toThrow(/'decorrelated-jitter', 'full-jitter', 'none'/);
  });
});
