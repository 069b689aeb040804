import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { breakwaterPolicy } from './cockatiel.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';

// npm undici's fetch (the usual way to pass a `dispatcher`) resolves with undici's own Response class,
// which is not Node's global `Response`: `instanceof Response` is false. The adapters took it for a
// plain value, that is a success: a 502 was neither retried nor counted by the breaker.

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(() => server.close());

const quick = {
  backoff: { kind: 'none', initialDelayMs: 1, maxDelayMs: 1, throttleInitialDelayMs: 1 },
} as const;

/** npm undici's fetch (its Response is another class). */
const fetchFromUndici = (url: string, init?: { signal?: AbortSignal }) => undiciFetch(url, init);

describe("a Response from npm undici's fetch is judged by its status", () => {
  it('by breakwaterPolicy: a 502 is retried', async () => {
    server.script('/policy', { status: 502, body: 'bad gateway' }, { status: 200, body: '{"ok":1}' });
    const url = `${server.origin}/policy`;
    const policy = breakwaterPolicy({ target: { method: 'GET', url }, policy: { retry: quick } });
    const res = await policy.execute(({ signal }) => fetchFromUndici(url, { signal }));
    expect(res instanceof Response).toBe(false);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: 1 });
    expect(server.count('/policy')).toBe(2);
  });

  it("by createEndpointBreakers' run: a 502 counts as the breaker's failure", async () => {
    server.script('/breaker', { status: 502, body: 'bad gateway' });
    const url = `${server.origin}/breaker`;
    const breakers = createEndpointBreakers({ policy: { breaker: { consecutiveFailures: 1 } } });
    const res = await breakers.run({ method: 'GET', url }, () => fetchFromUndici(url));
    expect(res.status).toBe(502);
    await res.text();
    expect(breakers.breakers().map((b) => b.state)).toEqual(['open']);
  });
});
