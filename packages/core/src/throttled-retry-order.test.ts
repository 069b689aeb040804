import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * README: calls held at the throttle gate leave in the order they arrived. The call whose 429 closed
 * the gate arrived before anyone held behind it; its retry slept its Retry-After outside the gate and
 * queued behind every call that came meanwhile (audit s25 F10). Real undici fetch on loopback: the
 * order is the one the server sees.
 */
let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

const realFetch = undiciFetch as unknown as typeof fetch;

describe("the throttled call's own retry keeps its place at the gate", () => {
  it('goes out first when the gate reopens, as the probe, before the callers that came after its 429', async () => {
    const order: string[] = [];
    const url = server.route('/throttled', (req, res, hit) => {
      order.push(new URL(req.url ?? '/', 'http://x').searchParams.get('n') ?? '?');
      res.writeHead(hit === 1 ? 429 : 200, { 'retry-after-ms': '300' }).end();
    });
    let retrying: () => void = () => {};
    const retried = new Promise<void>((resolve) => {
      retrying = resolve;
    });
    const events: BreakwaterEvent[] = [];
    const f = wrapFetch(realFetch, {
      onEvent: (e) => {
        events.push(e);
        if (e.type === 'retry') retrying();
      },
    });
    const first = f(`${url}?n=first`);
    await retried; // the 429's call has decided its retry, and waits
    const later = [1, 2, 3].map((n) => f(`${url}?n=later${n}`));
    const answers = await Promise.all([first, ...later]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(order).toEqual(['first', 'first', 'later1', 'later2', 'later3']);
    expect(events.find((e) => e.type === 'retry')).toMatchObject({ delayMs: 300, delaySource: 'server' });
  });
});

describe('a throttled retry waiting at the gate (fake time)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });
  const URL_A = 'https://api.test/v1/items';

  it('is sent no sooner than the server asked', async () => {
    vi.useFakeTimers({ now: 0 });
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after-ms': '300' } }, { status: 200 });
    const call = wrapFetch(fetch)(URL_A);
    // The gate its 429 closed ends a clock grain past the delay (throttle-gate.ts).
    await vi.advanceTimersByTimeAsync(300 + CLOCK_GRAIN_MS - 1);
    expect(fetch.calls.length).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fetch.calls.map((c) => c.at)).toEqual([0, 300 + CLOCK_GRAIN_MS]);
    expect((await call).status).toBe(200);
  });

  it('ends on its 429 at once when the key is isolated during the wait, sending nothing more', async () => {
    vi.useFakeTimers({ now: 0 });
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '3' } }, { status: 200 });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { onEvent: (e) => events.push(e) });
    let status = 0;
    const call = wrapped(URL_A).then((r) => {
      status = r.status;
    });
    await vi.advanceTimersByTimeAsync(200);
    wrapped.isolate('default https://api.test');
    await vi.advanceTimersByTimeAsync(0);
    expect(status).toBe(429);
    await call;
    expect(fetch.calls.length).toBe(1);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'circuit-open' });
  });

  it('keeps its place when the key is isolated and reset in the same turn: still first, at its due time', async () => {
    vi.useFakeTimers({ now: 0 });
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '3' } }, { status: 200 });
    const wrapped = wrapFetch(fetch);
    const first = wrapped(`${URL_A}?n=first`);
    await vi.advanceTimersByTimeAsync(100);
    const later = [1, 2].map((n) => wrapped(`${URL_A}?n=later${n}`));
    await vi.advanceTimersByTimeAsync(100);
    wrapped.isolate('default https://api.test');
    wrapped.reset('default https://api.test');
    await vi.advanceTimersByTimeAsync(5_000);
    await Promise.all([first, ...later]);
    const sent = fetch.calls.map((c) => new URL(c.url).searchParams.get('n'));
    expect(sent).toEqual(['first', 'first', 'later1', 'later2']);
    expect(fetch.calls[1]?.at).toBe(3_000 + CLOCK_GRAIN_MS);
  });
});
