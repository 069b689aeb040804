import { ConfigError, type PolicyInput } from '@breakwater/policies';
import ky, { HTTPError } from 'ky';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { breakwaterKy } from './ky.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';

/** Retries without real waiting: 1 ms fixed backoff. */
const fast: PolicyInput = {
  retry: { backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 } },
};

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.received.length = 0;
});

describe('breakwaterKy: retries are breakwater’s', () => {
  it('retries a transient 503 by the outcome table and resolves with the body', async () => {
    server.script('/flaky', { status: 503 }, { status: 503 }, { status: 200, body: '{"ok":true}' });
    const api = breakwaterKy({ policy: fast, kyOptions: { baseUrl: server.origin } });
    await expect(api.get('flaky').json()).resolves.toEqual({ ok: true });
    expect(server.count('/flaky')).toBe(3);
  });

  it('does not multiply attempts: a failing endpoint sees maxAttempts requests, then ky throws HTTPError', async () => {
    server.script('/down', { status: 503, body: '{"code":3000}' });
    const api = breakwaterKy({ policy: fast, kyOptions: { baseUrl: server.origin } });
    const error = await api.get('down').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HTTPError);
    expect((error as HTTPError).response.status).toBe(503);
    expect(server.count('/down')).toBe(4);
  });

  it('sends a POST without an idempotency key once, and retries one that carries a key', async () => {
    server.script('/orders', { status: 503 }, { status: 201, body: '{"id":1}' });
    const api = breakwaterKy({ policy: fast, kyOptions: { baseUrl: server.origin } });
    await expect(api.post('orders', { json: { sku: 'a' } })).rejects.toBeInstanceOf(HTTPError);
    expect(server.count('/orders')).toBe(1);

    server.received.length = 0;
    const created = await api
      .post('orders', { json: { sku: 'a' }, headers: { 'Idempotency-Key': 'k-1' } })
      .json<{ id: number }>();
    expect(created.id).toBe(1);
    expect(server.received.map((r) => [r.body, r.headers['idempotency-key']])).toEqual([
      ['{"sku":"a"}', 'k-1'],
      ['{"sku":"a"}', 'k-1'],
    ]);
  });

  it('fails fast on a 404 (client error), with ky’s HTTPError', async () => {
    server.script('/missing', { status: 404, body: '{"code":"600","description":"no such customer"}' });
    const api = breakwaterKy({ policy: fast, kyOptions: { baseUrl: server.origin } });
    await expect(api.get('missing')).rejects.toMatchObject({ name: 'HTTPError', response: { status: 404 } });
    expect(server.count('/missing')).toBe(1);
  });

  it('reports retries through onEvent', async () => {
    server.script('/evt', { status: 502 }, { status: 200 });
    const events: BreakwaterEvent[] = [];
    const api = breakwaterKy({
      policy: fast,
      onEvent: (e) => events.push(e),
      kyOptions: { baseUrl: server.origin },
    });
    await api.get('evt');
    expect(events.filter((e) => e.type === 'retry')).toMatchObject([{ attempt: 2, status: 502 }]);
  });
});

describe('breakwaterKy: ky keeps working', () => {
  it('runs beforeRequest once, its headers reach every attempt; afterResponse and beforeError see the final response', async () => {
    server.script('/hooks', { status: 503 }, { status: 500, body: '{"description":"boom"}' });
    const seen: string[] = [];
    const api = breakwaterKy({
      policy: fast,
      kyOptions: {
        baseUrl: server.origin,
        hooks: {
          beforeRequest: [({ request }) => void request.headers.set('x-trace', 't-1')],
          afterResponse: [({ response }) => void seen.push(`after ${response.status}`)],
          beforeError: [
            ({ error }) => {
              seen.push(`error ${error.name}`);
              error.message = `wrapped: ${error.message}`;
              return error;
            },
          ],
        },
      },
    });
    const error = await api.get('hooks').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^wrapped: /);
    expect(seen).toEqual(['after 500', 'error HTTPError']);
    expect(server.received.map((r) => r.headers['x-trace'])).toEqual(['t-1', 't-1']);
  });

  it('lets a hook force a retry with ky.retry() (a token refresh on 401)', async () => {
    server.script('/me', { status: 401 }, { status: 200, body: '{"me":1}' });
    let token = 'old';
    const api = breakwaterKy({
      policy: fast,
      kyOptions: {
        baseUrl: server.origin,
        hooks: {
          beforeRequest: [({ request }) => void request.headers.set('authorization', `Bearer ${token}`)],
          afterResponse: [
            ({ response }) => {
              if (response.status !== 401) return;
              token = 'new';
              return ky.retry();
            },
          ],
          beforeRetry: [({ request }) => void request.headers.set('authorization', `Bearer ${token}`)],
        },
      },
    });
    await expect(api.get('me').json()).resolves.toEqual({ me: 1 });
    expect(server.received.map((r) => r.headers.authorization)).toEqual(['Bearer old', 'Bearer new']);
  });

  it('honours kyOptions.throwHttpErrors: false', async () => {
    server.script('/soft', { status: 409 });
    const api = breakwaterKy({ policy: fast, kyOptions: { baseUrl: server.origin, throwHttpErrors: false } });
    const response = await api.get('soft');
    expect(response.status).toBe(409);
  });

  it('extends the given instance and wraps its own fetch', async () => {
    server.script('/base', { status: 503 }, { status: 200 });
    const attempts: string[] = [];
    const base = ky.create({
      baseUrl: server.origin,
      headers: { 'x-team': 'billing' },
      fetch: (input, init) => {
        attempts.push(new Request(input, init).headers.get('x-team') ?? '');
        return fetch(input, init);
      },
    });
    const api = breakwaterKy({ ky: base, policy: fast });
    await api.get('base');
    expect(attempts).toEqual(['billing', 'billing']);
  });
});

describe('breakwaterKy: breakers', () => {
  it('opens the endpoint’s breaker, then rejects with BrokenCircuitError without a request', async () => {
    server.script('/broken', { status: 500 });
    const api = breakwaterKy({
      policy: { ...fast, breaker: { consecutiveFailures: 2 } },
      endpoints: [{ name: 'broken', match: '*/broken' }],
      kyOptions: { baseUrl: server.origin },
    });
    await expect(api.get('broken')).rejects.toBeInstanceOf(HTTPError);
    await expect(api.get('broken')).rejects.toBeInstanceOf(HTTPError);
    await expect(api.get('broken')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(server.count('/broken')).toBe(2);
    expect(api.breakers()).toMatchObject([{ key: `broken ${server.origin}`, state: 'open', failures: 2 }]);
  });
});

describe('breakwaterKy: isolating an endpoint by hand', () => {
  it('isolate() refuses calls without a request until reset(), as wrapFetch does', async () => {
    server.script('/maintenance', { status: 200 });
    const api = breakwaterKy({
      endpoints: [{ name: 'maintenance', match: '*/maintenance' }],
      kyOptions: { baseUrl: server.origin },
    });
    const key = `maintenance ${server.origin}`;
    api.isolate(key);
    await expect(api.get('maintenance')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(server.count('/maintenance')).toBe(0);
    expect(api.breakers()).toMatchObject([{ key, state: 'isolated' }]);
    api.reset(key);
    expect((await api.get('maintenance')).status).toBe(200);
    expect(server.count('/maintenance')).toBe(1);
    expect(() => api.isolate('no-such-rule https://example.com')).toThrow(TypeError);
  });
});

describe('breakwaterKy: options', () => {
  it('rejects ky retry settings, with the path and what to use instead', () => {
    const bad = { kyOptions: { retry: 3 } } as unknown as Parameters<typeof breakwaterKy>[0];
    expect(() => breakwaterKy(bad)).toThrow(ConfigError);
    expect(() => breakwaterKy(bad)).toThrow(/kyOptions\.retry.*policy\.retry/);
  });

  it('rejects throwHttpErrors at the breakwater level and a negative forcedRetries', () => {
    const bad = { throwHttpErrors: true } as unknown as Parameters<typeof breakwaterKy>[0];
    expect(() => breakwaterKy(bad)).toThrow(/kyOptions\.throwHttpErrors/);
    expect(() => breakwaterKy({ forcedRetries: -1 })).toThrow(/forcedRetries/);
  });

  it('validates breakwater options up front', () => {
    expect(() => breakwaterKy({ policy: { retry: { maxAttempts: 0 } } })).toThrow(ConfigError);
  });
});

/** Three attempts, retried without real waiting. */
const threeAttempts: PolicyInput = {
  retry: {
    maxAttempts: 3,
    backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
  },
};

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
