import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** Slow-call breaking and manual control with undici's fetch against a real server on loopback. */

let server: RoutedServer;

beforeAll(async () => {
  server = await startRoutedServer();
});

afterAll(() => server.close());

const fetch = undiciFetch;
const policy = { breaker: { slowCallMs: 300, slowCallRatio: 1, minimumCalls: 3 } } as const;

describe('against a real local server', () => {
  it('opens the breaker on 200s that take longer than slowCallMs, and then sends nothing', async () => {
    const url = server.route('/slow', (_req, res) => {
      setTimeout(() => res.end('late but fine'), 600);
    });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { policy, onEvent: (e) => events.push(e) });
    for (let i = 0; i < 3; i++) {
      const res = await wrapped(url);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('late but fine');
    }
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'open', calls: 3, slowCalls: 3, failures: 0 });
    expect(events.filter((e) => e.type === 'break')).toHaveLength(1);
    await expect(wrapped(url)).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(server.hits.get('/slow')).toBe(3);
  });

  it('leaves the breaker closed for the same calls answered in time', async () => {
    const url = server.route('/fast', (_req, res) => {
      res.end('ok');
    });
    const wrapped = wrapFetch(fetch, { policy });
    for (let i = 0; i < 3; i++) expect((await wrapped(url)).status).toBe(200);
    expect(wrapped.breakers()[0]).toMatchObject({ state: 'closed', calls: 3, slowCalls: 0 });
  });

  it('sends nothing to an endpoint isolated by hand until it is reset', async () => {
    const url = server.route('/maintenance', (_req, res) => {
      res.end('ok');
    });
    const wrapped = wrapFetch(fetch);
    const key = `default ${server.origin}`;
    wrapped.isolate(key);
    const refused = await wrapped(url).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BrokenCircuitError);
    expect((refused as BrokenCircuitError).state).toBe('isolated');
    expect(server.hits.get('/maintenance')).toBeUndefined();
    wrapped.reset(key);
    expect((await wrapped(url)).status).toBe(200);
    expect(server.hits.get('/maintenance')).toBe(1);
  });
});
