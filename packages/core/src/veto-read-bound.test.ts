import type { ServerResponse } from 'node:http';
import { fetch as undiciFetch } from 'undici';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { VETO_READ_FLOOR_MS } from './pipeline.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * The payload veto's read of an error body is bounded by the retry's own wait (at least
 * VETO_READ_FLOOR_MS), not by the attempt's timeout: a 503 asking for 50 ms whose body stalled held
 * its retry 10 s (audit s25 F9). The server and undici are real, the clock fake (as in
 * error-body-deadline.test.ts): time moves only once the response's head is in, so the bounds below
 * are the code's exact ones, not a margin for a loaded machine.
 */
let server: RoutedServer;
let heads = 0;
/** Requests handed to undici, counted when handed: a retry is seen sent in the turn it goes. */
let sent = 0;
let onHead: () => void = () => {};
const fetch = ((input: string, init?: RequestInit) => {
  sent++;
  return undiciFetch(input, init as never).then((response) => {
    heads++;
    onHead();
    return response;
  });
}) as unknown as typeof globalThis.fetch;

/** Resolves once `count` response heads reached the client and the jobs they started ran. */
function headsIn(count: number): Promise<void> {
  return new Promise((resolve) => {
    onHead = () => {
      if (heads >= count) setImmediate(resolve);
    };
    onHead();
  });
}

/** Resolves once `done()` is true, polling in real turns (setImmediate is not faked). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setImmediate(resolve));
}

beforeAll(async () => {
  server = await startRoutedServer();
});
beforeEach(() => {
  heads = 0;
  sent = 0;
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date', 'performance'] });
});
afterEach(() => {
  vi.useRealTimers();
  server.reset();
});
afterAll(() => server.close());

/** A 503 without Content-Type (so the veto reads it) asking for `waitMs`; 200 from the second request. */
function stalling(path: string, waitMs: number, first: (res: ServerResponse) => void): string {
  return server.route(path, (_req, res, hit) => {
    if (hit > 1) return void res.writeHead(200).end('ok');
    res.writeHead(503, { 'retry-after-ms': String(waitMs) });
    first(res);
  });
}

function recorded(): { events: BreakwaterEvent[]; f: typeof globalThis.fetch } {
  const events: BreakwaterEvent[] = [];
  const f = wrapFetch(fetch, { onEvent: (e) => events.push(e) });
  return { events, f };
}

describe("the veto's read of an error body ends when the retry would go", () => {
  it('a body that stalls holds a 50 ms retry the floor at most, not the attempt timeout, and is let go', async () => {
    let closed = false;
    const url = stalling('/stall', 50, (res) => {
      res.on('close', () => {
        closed = true;
      });
      res.write('upstream unavailable'); // and stalls: a proxy's page, a chunked body cut short
    });
    const { events, f } = recorded(); // attemptMs: 10 000 by default
    const call = f(url);
    await headsIn(1);
    await vi.advanceTimersByTimeAsync(VETO_READ_FLOOR_MS - 1);
    expect(sent).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toBe(2);
    const retry = events.find((e) => e.type === 'retry');
    expect(retry).toMatchObject({ delayMs: 50, delaySource: 'server' });
    expect((await call).status).toBe(200);
    const attempt = events.find((e) => e.type === 'attempt');
    // The read ran through the 50 ms wait: the retry went when the floor cut it, not 50 ms later.
    expect((retry?.at ?? 0) - (attempt?.at ?? 0)).toBe(VETO_READ_FLOOR_MS);
    expect(server.hits.get('/stall')).toBe(2);
    // The stalled body was cancelled, which let its connection go.
    await until(() => closed);
  });

  it("a body that stalls holds a longer retry no longer than the retry's own wait", async () => {
    const url = stalling('/stall-long', 2000, (res) => res.write('{"code": "Busy", '));
    const { events, f } = recorded();
    const call = f(url);
    await headsIn(1);
    await vi.advanceTimersByTimeAsync(1999);
    expect(sent).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(sent).toBe(2);
    const retry = events.find((e) => e.type === 'retry');
    expect(retry).toMatchObject({ delayMs: 2000 });
    expect((await call).status).toBe(200);
    const attempt = events.find((e) => e.type === 'attempt');
    expect((retry?.at ?? 0) - (attempt?.at ?? 0)).toBe(2000);
  });

  it('a body that ends during the wait is read, and the wait still runs from the response', async () => {
    const url = stalling('/late-end', 2000, (res) => {
      res.write('{"code": "Busy", ');
      setTimeout(() => res.end('"description": "try again"}'), 1000);
    });
    const f = wrapFetch(fetch);
    const call = f(url);
    await headsIn(1);
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(999);
    expect(sent).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    // Before: the 2000 ms wait began once the body had ended, 1000 ms after the response.
    expect(sent).toBe(2);
    expect((await call).status).toBe(200);
    expect(server.hits.get('/late-end')).toBe(2);
  });

  it('a body that stalls after saying isRetryable: false vetoes when the read is cut', async () => {
    const url = stalling('/said-no', 50, (res) =>
      res.write('{"code": "Gone", "isRetryable": false, "details": ['),
    );
    const { events, f } = recorded();
    const call = f(url);
    await headsIn(1);
    await vi.advanceTimersByTimeAsync(VETO_READ_FLOOR_MS);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'not-retryable-payload' });
    expect((await call).status).toBe(503);
    expect(sent).toBe(1);
  });

  it.each([
    ['past the retry wait, within the floor', 50, 100],
    ['within the retry wait, past the floor', 2000, 1000],
  ])('a body that ends in time (%s) still vetoes the retry', async (_, waitMs, endsAt) => {
    const url = stalling(`/veto-${waitMs}`, waitMs, (res) => {
      res.write('{"code": "Forbidden", "isRetryable": false');
      setTimeout(() => res.end('}'), endsAt);
    });
    const { events, f } = recorded();
    const call = f(url);
    await headsIn(1);
    await vi.advanceTimersByTimeAsync(endsAt);
    const response = await call; // the body's end, real I/O, settles it: no timer is left to run
    expect(response.status).toBe(503);
    expect(server.hits.get(`/veto-${waitMs}`)).toBe(1);
    expect(events.find((e) => e.type === 'give-up')).toMatchObject({ reason: 'not-retryable-payload' });
  });
});
