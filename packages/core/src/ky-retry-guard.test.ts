import type { PolicyInput } from '@breakwater/policies';
import ky, { HTTPError } from 'ky';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { breakwaterKy } from './ky.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';

/** Three attempts, retried without real waiting. */
const threeAttempts: PolicyInput = {
  retry: {
    maxAttempts: 3,
    backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
  },
};

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.received.length = 0;
});

describe('breakwaterKy: a request’s own options cannot turn ky’s retry back on', () => {
  it.each([
    ['a number', { retry: 2 }],
    [
      'an object with shouldRetry: () => true',
      { retry: { limit: 2, shouldRetry: () => true, delay: () => 1 } },
    ],
  ])(
    'retry as %s: an always-503 endpoint sees maxAttempts requests, not maxAttempts × ky’s',
    async (_, options) => {
      server.script('/down', { status: 503 });
      const api = breakwaterKy({ policy: threeAttempts, kyOptions: { baseUrl: server.origin } });
      const error = await api.get('down', options).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HTTPError);
      expect((error as HTTPError).response.status).toBe(503);
      expect(server.count('/down')).toBe(3);
    },
  );

  it('nor can an instance made by .extend() with a retry option', async () => {
    server.script('/down', { status: 503 });
    const api = breakwaterKy({ policy: threeAttempts, kyOptions: { baseUrl: server.origin } });
    const extended = api.extend({ retry: { limit: 3, shouldRetry: () => true, delay: () => 1 } });
    await expect(extended.get('down')).rejects.toBeInstanceOf(HTTPError);
    expect(server.count('/down')).toBe(3);
  });

  it('a hook’s ky.retry() still repeats the request, up to the request’s retry limit', async () => {
    server.script('/me', { status: 401 }, { status: 401 }, { status: 200, body: '{"me":1}' });
    const api = breakwaterKy({
      policy: threeAttempts,
      forcedRetries: 0,
      kyOptions: { baseUrl: server.origin },
    });
    const refresh = {
      afterResponse: [
        ({ response }: { response: Response }) => (response.status === 401 ? ky.retry() : undefined),
      ],
    };
    await expect(api.get('me', { retry: 2, hooks: refresh }).json()).resolves.toEqual({ me: 1 });
    expect(server.count('/me')).toBe(3);
  });

  it('refuses a request’s own fetch, which would bypass breakwater, and names the option to use', async () => {
    server.script('/ok', { status: 200 });
    const api = breakwaterKy({ policy: threeAttempts, kyOptions: { baseUrl: server.origin } });
    const own = (input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init);
    expect(() => api.get('ok', { fetch: own })).toThrow(/breakwater: .*fetch.*bypass.*breakwaterKy/);
    expect(() => api.extend({ fetch: own }).get('ok')).toThrow(/breakwaterKy/);
    expect(server.count('/ok')).toBe(0);
  });
});
