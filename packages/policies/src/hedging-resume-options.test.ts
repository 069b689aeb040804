import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import { definePolicy } from './merge.ts';

describe('resumeDownloads and hedging options', () => {
  it('are off by default, with Polly’s hedging defaults (1 extra attempt after 2 s)', () => {
    expect(DEFAULT_POLICY.resumeDownloads).toBe(false);
    expect(DEFAULT_POLICY.hedging).toEqual({ enabled: false, maxHedgedAttempts: 1, delayMs: 2000 });
  });

  it('merge a partial hedging section over the defaults', () => {
    const policy = definePolicy({ resumeDownloads: true, hedging: { enabled: true, delayMs: 150 } });
    expect(policy.resumeDownloads).toBe(true);
    expect(policy.hedging).toEqual({ enabled: true, maxHedgedAttempts: 1, delayMs: 150 });
  });

  it.each([
    [{ resumeDownloads: 'yes' }, "policy.resumeDownloads: must be a boolean, got 'yes'"],
    [{ hedging: { enabled: 1 } }, 'policy.hedging.enabled: must be a boolean, got 1'],
    [
      { hedging: { maxHedgedAttempts: 0 } },
      'policy.hedging.maxHedgedAttempts: must be an integer >= 1, got 0',
    ],
    [{ hedging: { maxHedgedAttempts: 1.5 } }, 'policy.hedging.maxHedgedAttempts: must be an integer >= 1'],
    [{ hedging: { maxHedgedAttempts: 10 } }, 'policy.hedging.maxHedgedAttempts: must be at most 9'],
    [{ hedging: { delayMs: -1 } }, 'policy.hedging.delayMs: must be a finite number of ms >= 0, got -1'],
    [{ hedging: { delay: 100 } }, "policy.hedging.delay: unknown key 'delay' (did you mean 'delayMs'?)"],
    [{ hedging: true }, 'policy.hedging: must be an object, got true'],
  ])('refuse %j', (input, message) => {
    expect(configError(() => definePolicy(input as never)).message).toContain(`breakwater: ${message}`);
  });
});
