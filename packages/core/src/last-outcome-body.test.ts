import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

// A call that ends on an earlier attempt's outcome (the breaker opened, the gate or the deadline
// stopped the retry) hands that Response back: its body must still be readable, as fetch's would be.

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(() => server.close());

const fastRetries = { backoff: { initialDelayMs: 5, maxDelayMs: 20, throttleInitialDelayMs: 5 } };
const down = {
  status: 503,
  headers: { 'content-type': 'application/json' },
  body: '{"code":"X1","description":"down"}',
};

describe('the outcome a call ends on keeps its body', () => {
  it('when the failure that opens the breaker is the last one the call saw', async () => {
    server.script('/opens', down);
    const fetch = wrapFetch(undiciFetch, {
      policy: { retry: fastRetries, breaker: { consecutiveFailures: 2 } },
    });
    const res = await fetch(`${server.origin}/opens`);
    expect(res.status).toBe(503);
    expect(res.bodyUsed).toBe(false);
    expect(await res.json()).toEqual({ code: 'X1', description: 'down' });
    expect(server.count('/opens')).toBe(2);
  });

  it('and the HttpError of such a call carries the parsed payload', async () => {
    server.script('/opens-throw', down);
    const fetch = wrapFetch(undiciFetch, {
      policy: { retry: fastRetries, breaker: { consecutiveFailures: 2 } },
      throwHttpErrors: true,
    });
    const error = await fetch(`${server.origin}/opens-throw`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).code).toBe('X1');
    expect((error as HttpError).description).toBe('down');
  });

  it('when another caller closes the gate past the deadline during the wait for a retry', async () => {
    server.script('/flaky', down);
    server.script('/limited', { status: 429, headers: { 'retry-after': '10' }, body: 'slow down' });
    let throttled: ReturnType<typeof undiciFetch> | undefined;
    const fetch = wrapFetch(undiciFetch, {
      policy: {
        retry: { backoff: { initialDelayMs: 300, maxDelayMs: 300, throttleInitialDelayMs: 300 } },
        timeout: { totalMs: 2000 },
      },
      // While the first call waits to retry its 503, a second caller of the key gets a 429 that
      // closes the gate for 10 s, beyond the first call's deadline.
      onEvent: (event) => {
        if (event.type === 'retry' && throttled === undefined) throttled = fetch(`${server.origin}/limited`);
      },
    });
    const res = await fetch(`${server.origin}/flaky`);
    expect(res.status).toBe(503);
    expect(server.count('/flaky')).toBe(1);
    expect(await res.text()).toBe('{"code":"X1","description":"down"}');
    expect((await throttled)?.status).toBe(429);
  });
});
