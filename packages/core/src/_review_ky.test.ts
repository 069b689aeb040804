import { inspect } from 'node:util';
import { HTTPError, TimeoutError } from 'ky';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakwaterKy } from './ky.ts';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';

let server: LoopbackServer;
let hits = 0;
beforeAll(async () => {
  server = await listenOnLoopback((req, res) => {
    if (req.url?.startsWith('/echo')) {
      res.writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: `token ${req.headers.authorization} rejected for ${req.url}` }));
      return;
    }
    if (req.url?.startsWith('/flaky')) {
      hits += 1;
      // fails twice (503 after 400 ms), then 200
      if (hits <= 2) { setTimeout(() => res.writeHead(503).end(), 400); return; }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      return;
    }
    res.writeHead(404).end();
  });
});
afterAll(() => server.close());
const { fetch } = globalThis;

describe('ky review', () => {
  it('E1: an echoed token in the 401 body is printed by inspect(error) (error.data)', async () => {
    const api = breakwaterKy({ fetch });
    const e = await api.get(`${server.origin}/echo?api_key=S3CR3T-QUERY`, { headers: { authorization: 'Bearer S3CR3T-TOKEN' } }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(HTTPError);
    const printed = inspect(e, { depth: 6 });
    console.log('E1 printed has secret:', printed.includes('S3CR3T'), JSON.stringify(e).includes('S3CR3T'));
    expect(printed).not.toContain('S3CR3T');
  });

  it('E2: a 2.5 s beforeRequest hook (token fetch): ky totalTimeout cuts breakwater before its deadline', async () => {
    hits = 0;
    const api = breakwaterKy({
      fetch,
      policy: { timeout: { attemptMs: 1000, totalMs: 2000 }, retry: { maxAttempts: 3, backoff: { initialDelayMs: 10, maxDelayMs: 20 } } },
      kyOptions: { hooks: { beforeRequest: [async () => { await new Promise((r) => setTimeout(r, 2500)); }] } },
    });
    const t0 = performance.now();
    const r = await api.get(`${server.origin}/flaky`).json().then((v) => v, (x: unknown) => x);
    console.log('E2', performance.now() - t0, r instanceof TimeoutError ? 'ky TimeoutError' : inspect(r).slice(0, 200));
    expect(r).toEqual({ ok: true });
  });
});
