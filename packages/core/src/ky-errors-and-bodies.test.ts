import { inspect } from 'node:util';
import ky, { HTTPError, TimeoutError } from 'ky';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakwaterKy } from './ky.ts';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';

let server: LoopbackServer;
beforeAll(async () => {
  server = await listenOnLoopback((req, res) => {
    if (req.url?.startsWith('/stall')) {
      // The headers and the first bytes of the body, then nothing more.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"items":[');
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"NotFound"}');
  });
});
afterAll(() => server.close());

// Node's fetch: ky hands it a global Request, which npm undici's fetch does not take (nor with ky alone).
const { fetch } = globalThis;

describe('breakwaterKy: a body read is bounded (audit s24)', () => {
  it("ends `.json()` on a stalled body past breakwater's deadlines and the hooks' margin", async () => {
    const api = breakwaterKy({
      fetch,
      forcedRetries: 0,
      policy: { timeout: { attemptMs: 200, totalMs: 300 } },
    });
    const started = performance.now();
    const read = api.get(`${server.origin}/stall`).json();
    await expect(read).rejects.toBeInstanceOf(TimeoutError);
    // The deadline (300 ms) of the one call a request makes here, and 5 s for hooks; ky's own
    // `timeout` is off.
    expect(performance.now() - started).toBeLessThan(8_000);
  }, 10_000);

  it('keeps its default within what ky takes for a deadline of days (review s24 Y: ky threw RangeError)', async () => {
    const days = { timeout: { attemptMs: 10_000, totalMs: 1_000_000_000 } };
    const api = breakwaterKy({ fetch: async () => new Response('{"ok":true}'), policy: days });
    expect(await api.get('https://api.test/v1/items').json()).toEqual({ ok: true });
  });

  it("keeps a ky instance's own totalTimeout, and kyOptions' over it", async () => {
    // The default here would be 95 s (30 s x 3 calls + 5 s): each of these ends in well under 5 s.
    for (const api of [
      breakwaterKy({ fetch, ky: ky.create({ totalTimeout: 200 }) }),
      breakwaterKy({ fetch, ky: ky.create({ totalTimeout: 60_000 }), kyOptions: { totalTimeout: 200 } }),
    ]) {
      const started = performance.now();
      await expect(api.get(`${server.origin}/stall`).json()).rejects.toBeInstanceOf(TimeoutError);
      expect(performance.now() - started).toBeLessThan(5_000);
    }
  });
});

describe('breakwaterKy: ky’s errors print no secret (audit s24)', () => {
  it('gives an HTTPError the redacted URL and keeps its request, options and response out of print', async () => {
    const api = breakwaterKy({ fetch });
    const url = `${server.origin}/v1/items?api_key=S3CR3T-QUERY`;
    const error = await api.get(url, { headers: { authorization: 'Bearer S3CR3T-TOKEN' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HTTPError);
    const http = error as HTTPError;
    for (const printed of [
      http.message,
      String(http.stack),
      inspect(http, { depth: 6 }),
      JSON.stringify(http),
    ]) {
      expect(printed).not.toContain('S3CR3T');
    }
    expect(http.message).toContain('/v1/items?api_key=REDACTED');
    // Still there for code that asks for them.
    expect(http.response.status).toBe(404);
    expect(http.request.url).toBe(url);
    expect(http.options.headers.get('authorization')).toBe('Bearer S3CR3T-TOKEN');
  });
});

describe('breakwaterKy: ky’s errors are redacted before the caller’s own hooks see them (review s24 X)', () => {
  it('a reporter among kyOptions’ beforeError hooks sees no secret, nor does printing the body ky parsed', async () => {
    const seen: string[] = [];
    const api = breakwaterKy({
      fetch,
      kyOptions: {
        hooks: {
          beforeError: [
            ({ error }) => {
              seen.push(inspect(error, { depth: 6 }), error.message);
              return error;
            },
          ],
        },
      },
    });
    const url = `${server.origin}/v1/items?api_key=S3CR3T-QUERY`;
    const error = await api.get(url, { headers: { authorization: 'Bearer S3CR3T-TOKEN' } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HTTPError);
    expect(seen).toHaveLength(2);
    for (const printed of seen) expect(printed).not.toContain('S3CR3T');
    // ky's parsed body is still there for code that asks for it.
    expect((error as HTTPError).data).toEqual({ code: 'NotFound' });
  });
});
