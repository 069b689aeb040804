import { fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoopbackServer, listenOnLoopback } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: LoopbackServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Spins for `ms`: callers that build their requests one after another, not in one instant. */
function busy(ms: number): void {
  const start = Date.now();
  while (Date.now() - start < ms) {}
}

describe('calls held behind a 429 leave in arrival order (real undici fetch, loopback)', () => {
  it('of 30 callers arriving ~1 ms apart, the first ones are served and only the last ones refused', async () => {
    let requests = 0;
    server = await listenOnLoopback((_req, res) => {
      if (++requests === 1) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(200).end('ok');
    });
    const url = `${server.origin}/x`;
    const wrapped = wrapFetch(undiciFetch, {
      policy: { timeout: { totalMs: 3_000 }, retry: { maxAttempts: 1 } },
    });
    expect((await wrapped(url)).status).toBe(429);
    const served: number[] = [];
    const refused: number[] = [];
    const calls: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      calls.push(
        wrapped(url).then(
          async (r) => {
            await r.arrayBuffer();
            served.push(i);
          },
          () => {
            refused.push(i);
          },
        ),
      );
      busy(1);
    }
    await Promise.all(calls);
    expect(served.length).toBeGreaterThan(0);
    expect(served).toEqual(served.map((_, i) => i));
    expect(refused.sort((x, y) => x - y)).toEqual(refused.map((_, i) => served.length + i));
  }, 10_000);
});
