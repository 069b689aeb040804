import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * The paced recovery's probe is answered by its own response: the answer of a request sent before the
 * cool-down says nothing about whether the cool-down was enough, and must not release the callers held
 * behind the probe.
 */

const realFetch = undiciFetch;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

describe("the paced recovery's probe", () => {
  it('is not answered by a request sent before the 429: the held callers wait for the probe’s 429', async () => {
    const t0 = performance.now();
    let probeAnsweredAt = Number.POSITIVE_INFINITY;
    const sentAt: number[] = [];
    // Out before the 429, answered 200 while the probe is out.
    const old = server.route('/old', (_req, res) => setTimeout(() => res.end('old'), 350));
    const throttle = server.route('/throttle', (_req, res) => res.writeHead(429).end());
    // The upstream still throttles when the probe comes (slowly); then it serves.
    const call = server.route('/call', (_req, res, hit) => {
      sentAt.push(performance.now() - t0);
      if (hit > 1) return void res.end('ok');
      setTimeout(() => {
        probeAnsweredAt = performance.now() - t0;
        res.writeHead(429).end();
      }, 400);
    });
    const fetch = wrapFetch(realFetch, {
      random: () => 0.5,
      // A 429 without Retry-After closes the gate for the throttling backoff: 100 ms here.
      policy: { retry: { maxAttempts: 1, backoff: { throttleInitialDelayMs: 100 } } },
    });
    const before = fetch(old).then((r) => r.text());
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await fetch(throttle)).status).toBe(429);
    // Callers that arrive during the cool-down: the first out goes alone, as the probe. (Two: after the
    // probe's 429 the rate is low, and each caller more would wait a slot of it.)
    const callers = Array.from({ length: 2 }, () => fetch(call).then((r) => r.text().then(() => r.status)));
    expect(await before).toBe('old');
    const statuses = await Promise.all(callers);
    // The probe's 429 is its caller's (one attempt); the others are served after the next cool-down.
    expect(statuses).toEqual([429, 200]);
    // Only the probe was out before its 429 came back (the old request's 200 arrived in between).
    expect(sentAt.filter((at) => at < probeAnsweredAt)).toHaveLength(1);
    expect(sentAt).toHaveLength(2);
  });
});

describe("the paced recovery's probe, aborted by its caller", () => {
  it('hands the probe to the next caller at once, rather than holding it for the probe’s 1 s bound', async () => {
    const hits: Array<{ path: string; at: number }> = [];
    const t0 = performance.now();
    const throttle = server.route('/abort/throttle', (_req, res) => res.writeHead(429).end());
    const url = server.route('/abort/call', (req, res, hit) => {
      hits.push({ path: req.url ?? '', at: performance.now() - t0 });
      // The probe's request hangs (the caller gives up on it); the next callers are served.
      if (hit > 1) res.end('ok');
    });
    const fetch = wrapFetch(realFetch, {
      random: () => 0.5,
      policy: { retry: { maxAttempts: 1, backoff: { throttleInitialDelayMs: 100 } } },
    });
    expect((await fetch(throttle)).status).toBe(429);
    const caller = new AbortController();
    const probe = fetch(url, { signal: caller.signal }).catch((error: unknown) => error);
    const others = [fetch(url), fetch(url)].map((p) => p.then((r) => r.text()));
    while (hits.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const abortedAt = performance.now() - t0;
    caller.abort();
    expect(await probe).toMatchObject({ name: 'AbortError' });
    expect(await Promise.all(others)).toEqual(['ok', 'ok']);
    // The next caller went as the probe once the abort made clear no answer would come, not at the
    // bound (the probe's send + 1 s, 950 ms after the abort).
    expect((hits[1]?.at ?? Number.POSITIVE_INFINITY) - abortedAt).toBeLessThan(500);
  });
});

describe("the paced recovery's probe, met by a 429", () => {
  it('keeps the callers held behind it in arrival order: the first of them goes as the next probe', async () => {
    const order: string[] = [];
    const warm = server.route('/order/warm', (_req, res) => res.end('ok'));
    const throttle = server.route('/order/throttle', (_req, res) => res.writeHead(429).end());
    const url = server.route('/order/call', (req, res, hit) => {
      order.push(new URL(req.url ?? '', server.origin).searchParams.get('who') ?? '');
      // The probe is still throttled (answered after the others queued behind it); then all are served.
      if (hit === 1) setTimeout(() => res.writeHead(429).end(), 100);
      else res.end('ok');
    });
    const fetch = wrapFetch(realFetch, {
      random: () => 0.5,
      policy: { retry: { maxAttempts: 1, backoff: { throttleInitialDelayMs: 100 } } },
    });
    // Accepted traffic first: the rate cut from it is high, so its interval hides no order.
    await Promise.all(Array.from({ length: 30 }, () => fetch(warm).then((r) => r.text())));
    expect((await fetch(throttle)).status).toBe(429);
    const who = ['probe', 'a', 'b', 'c'];
    const calls = who.map(async (name, i) => {
      await new Promise((resolve) => setTimeout(resolve, i * 10));
      return (await fetch(`${url}?who=${name}`)).status;
    });
    expect(await Promise.all(calls)).toEqual([429, 200, 200, 200]);
    // Before, the probe's 429 let `a` out before its own closure was set: `a`'s pass was void, it went
    // back through the gate and took a slot behind `b` and `c` (`b` became the next probe).
    expect(order).toEqual(who);
  });
});
