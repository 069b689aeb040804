/**
 * A hedge delay at or above the attempt timeout is refused (session 25): no hedge could ever start
 * before the attempt it hedges times out, so hedging was on in the configuration and never in effect.
 * The check holds on the merged policy (a rule's over the default) and names where each value was written.
 */
import { describe, expect, it } from 'vitest';
import { configError } from './config-error.test-util.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';
import type { EndpointsConfig } from './types.ts';

const WHY = 'no hedge could start before the attempt it hedges times out';

describe('hedging.delayMs at or above timeout.attemptMs', () => {
  it.each([3000, 5000])('is refused by definePolicy (a delay of %i ms, attempts of 3000)', (delayMs) => {
    const error = configError(() =>
      definePolicy({ hedging: { enabled: true, delayMs }, timeout: { attemptMs: 3000 } }),
    );
    expect(error.path).toBe('policy.hedging.delayMs');
    expect(error.reason).toBe(
      `${delayMs} is not below timeout.attemptMs (3000, at policy.timeout.attemptMs): ${WHY}`,
    );
  });

  it("is refused with the built-in delay named as the default when only the attempt's timeout was written", () => {
    const error = configError(() =>
      definePolicy({ hedging: { enabled: true }, timeout: { attemptMs: 1500 } }),
    );
    expect(error.path).toBe('policy.timeout.attemptMs');
    expect(error.reason).toBe(`1500 is not above hedging.delayMs (2000, the default): ${WHY}`);
  });

  it('is refused when a written deadline cut the default attempt timeout under the delay', () => {
    const error = configError(() => definePolicy({ hedging: { enabled: true }, timeout: { totalMs: 1500 } }));
    expect(error.path).toBe('policy.hedging.delayMs');
    expect(error.reason).toBe(
      `2000 is not below timeout.attemptMs (1500, the default cut to timeout.totalMs): ${WHY}`,
    );
  });

  it('is refused in a rule whose timeout falls under the delay the default policy wrote, at the rule', () => {
    const config: EndpointsConfig = {
      policy: { hedging: { enabled: true, delayMs: 2500 } },
      endpoints: [{ name: 'reports', match: '/reports/*', policy: { timeout: { attemptMs: 2000 } } }],
    };
    const error = configError(() => createEndpointResolver(config));
    expect(error.path).toBe('endpoints[0].policy.timeout.attemptMs');
    expect(error.reason).toBe(`2000 is not above hedging.delayMs (2500, at policy.hedging.delayMs): ${WHY}`);
  });

  it('is refused in a rule that turns hedging on under the timeout the default policy wrote', () => {
    const config: EndpointsConfig = {
      policy: { timeout: { attemptMs: 1000 } },
      endpoints: [
        { name: 'reads', match: '/items/*', policy: { hedging: { enabled: true, delayMs: 1000 } } },
      ],
    };
    const error = configError(() => createEndpointResolver(config));
    expect(error.path).toBe('endpoints[0].policy.hedging.delayMs');
    expect(error.reason).toBe(
      `1000 is not below timeout.attemptMs (1000, at policy.timeout.attemptMs): ${WHY}`,
    );
  });

  it("is refused in the preset's overrides, naming the preset's value", () => {
    const attemptMs = (partnerCenter() as { timeout: { attemptMs: number } }).timeout.attemptMs;
    const error = configError(() => partnerCenter({ hedging: { enabled: true, delayMs: attemptMs } }));
    expect(error.path).toBe('overrides.hedging.delayMs');
    expect(error.reason).toBe(
      `${attemptMs} is not below timeout.attemptMs (${attemptMs}, the default): ${WHY}`,
    );
  });

  it('is refused at the rule that turns hedging on, and accepted in one that turns it off', () => {
    const endpoints: EndpointsConfig['endpoints'] = [
      {
        name: 'fast',
        match: '/fast/*',
        policy: { hedging: { enabled: false }, timeout: { attemptMs: 500 } },
      },
      {
        name: 'slow',
        match: '/slow/*',
        policy: { hedging: { enabled: true }, timeout: { attemptMs: 2000 } },
      },
    ];
    const error = configError(() =>
      createEndpointResolver({ policy: { hedging: { delayMs: 2000 } }, endpoints }),
    );
    expect(error.path).toBe('endpoints[1].policy.timeout.attemptMs');
    expect(error.reason).toBe(`2000 is not above hedging.delayMs (2000, at policy.hedging.delayMs): ${WHY}`);
    const fixed = createEndpointResolver({ policy: { hedging: { delayMs: 1999 } }, endpoints });
    expect(fixed.resolve('GET', 'https://api.example.com/fast/1').policy.timeout.attemptMs).toBe(500);
    expect(fixed.resolve('GET', 'https://api.example.com/slow/1').policy.hedging).toMatchObject({
      enabled: true,
      delayMs: 1999,
    });
  });
});
