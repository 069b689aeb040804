import { ConfigError } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { breakwaterPolicy } from './cockatiel.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { breakwaterKy } from './ky.ts';
import { pRetryOptions } from './p-retry.ts';
import { wrapFetch } from './wrap-fetch.ts';

const fetch = fakeFetch({ status: 200 });
const target = { method: 'GET', url: 'https://api.example.com/' };

describe('maxBufferBytes is checked once, when wrapFetch is called (never again per call)', () => {
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('%s is refused', (maxBufferBytes) => {
    expect(() => wrapFetch(fetch, { maxBufferBytes })).toThrow(ConfigError);
  });
});

/** Each entry point's options, refused by its shape table with the option's path and the reason. */
describe('option tables of the five entry points', () => {
  it.each<[string, () => unknown, string, string]>([
    [
      'wrapFetch, not an object',
      () => wrapFetch(fetch, 'x' as never),
      'options',
      'must be an object, got a string',
    ],
    [
      'wrapFetch, a boolean',
      () => wrapFetch(fetch, { throwHttpErrors: 1 as never }),
      'throwHttpErrors',
      'must be a boolean, got 1',
    ],
    [
      'wrapFetch, a function',
      () => wrapFetch(fetch, { onEvent: 'log' as never }),
      'onEvent',
      "must be a function, got 'log'",
    ],
    [
      'wrapFetch, a count',
      () => wrapFetch(fetch, { maxEndpoints: 1.5 }),
      'maxEndpoints',
      'must be an integer >= 1, got 1.5',
    ],
    [
      'wrapFetch, a size',
      () => wrapFetch(fetch, { maxBufferBytes: -1 }),
      'maxBufferBytes',
      'must be an integer >= 0, got -1',
    ],
    [
      'wrapFetch, a base URL',
      () => wrapFetch(fetch, { baseUrl: 'ftp://x/' }),
      'baseUrl',
      'must be an http: or https: URL, got ftp:',
    ],
    [
      'wrapFetch, a relative base',
      () => wrapFetch(fetch, { baseUrl: '/v1' }),
      'baseUrl',
      "must be an absolute URL, got '/v1'",
    ],
    [
      'breakers, a count',
      () => createEndpointBreakers({ maxEndpoints: 0 }),
      'maxEndpoints',
      'must be an integer >= 1, got 0',
    ],
    [
      'breakers, a function',
      () => createEndpointBreakers({ onEvent: 1 as never }),
      'onEvent',
      'must be a function, got 1',
    ],
    [
      'p-retry, a function',
      () => pRetryOptions({ method: 'GET', shouldRetry: true as never }),
      'shouldRetry',
      'must be a function, got true',
    ],
    [
      'cockatiel, a function',
      () => breakwaterPolicy({ target, random: 0.5 as never }),
      'random',
      'must be a function, got 0.5',
    ],
    [
      'ky, a count',
      () => breakwaterKy({ forcedRetries: -1 }),
      'forcedRetries',
      'must be an integer >= 0, got -1',
    ],
    [
      'ky, a fetch',
      () => breakwaterKy({ fetch: 'fetch' as never }),
      'fetch',
      "must be a function, got 'fetch'",
    ],
    [
      'ky, kyOptions.fetch',
      () => breakwaterKy({ kyOptions: { fetch } as never }),
      'kyOptions.fetch',
      'pass the fetch to wrap',
    ],
    ['ky, not a ky', () => breakwaterKy({ ky: {} as never }), 'ky', 'must be a ky instance'],
  ])('%s', (_, run, path, reason) => {
    expect(run).toThrow(
      expect.objectContaining({
        path,
        reason: expect.stringContaining(reason),
        message: expect.stringMatching(`^breakwater: ${path}: `),
      }),
    );
    expect(run).toThrow(ConfigError);
  });

  it.each<[string, () => unknown, string]>([
    [
      'wrapFetch',
      () => wrapFetch(fetch, { retries: 3 } as never),
      'policy, endpoints, onEvent, maxEndpoints, throwHttpErrors',
    ],
    [
      'createEndpointBreakers',
      () => createEndpointBreakers({ retries: 3 } as never),
      'policy, endpoints, onEvent, maxEndpoints',
    ],
    [
      'pRetryOptions',
      () => pRetryOptions({ method: 'GET', retries: 3 } as never),
      'method, headers, policy, signal',
    ],
    ['breakwaterPolicy', () => breakwaterPolicy({ target, retries: 3 } as never), 'target, breakers, policy'],
    ['breakwaterKy', () => breakwaterKy({ retries: 3 } as never), 'forcedRetries'],
  ])('%s refuses an unknown key, listing the known ones', (_, run, known) => {
    expect(run).toThrow(
      expect.objectContaining({
        path: 'retries',
        reason: expect.stringMatching(`^unknown key 'retries'; known keys: .*${known}`),
      }),
    );
  });

  it('suggests the nearest key for a typo', () => {
    expect(() => wrapFetch(fetch, { maxEndpoint: 5 } as never)).toThrow(
      expect.objectContaining({ reason: expect.stringContaining("(did you mean 'maxEndpoints'?)") }),
    );
  });
});
