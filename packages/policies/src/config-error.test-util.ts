/** Test helpers shared by the tests of configuration refusals; left out of the build and the tarball. */
import { ConfigError } from './config-error.ts';
import { createEndpointResolver } from './endpoint.ts';
import { definePolicy } from './merge.ts';
import { partnerCenter } from './presets.ts';
import type { Policy, PolicyInput } from './types.ts';

/** The ConfigError `run` throws; fails the test when it throws anything else or nothing. */
export function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

/** Every way a user hands a policy over the defaults: definePolicy, the preset, an endpoint config. */
export const policyBuilders: [string, (input: PolicyInput) => Policy][] = [
  ['definePolicy', (input) => definePolicy(input)],
  ['partnerCenter', (input) => partnerCenter(input) as Policy],
  [
    'an endpoint configuration',
    (input) => createEndpointResolver({ policy: input }).resolve('GET', 'https://api.example.com/').policy,
  ],
];
