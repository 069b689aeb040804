/**
 * With `resumeDownloads`, every per-call event of a resume's request carries `resume: N`, as its
 * attempts do: a resume's retry, timeout, hedge, reject or give-up must not read as a new call's. Real
 * undici fetch against a loopback server that cuts the first body mid-stream.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { PolicyInput } from '@breakwater/policies';
import { type Response as UndiciResponse, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { type WrappedFetch, wrapFetch } from './wrap-fetch.ts';

const realFetch = undiciFetch;
const BODY = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251));
const CUT = 20_000;
const ETAG = '"v1-resume-events"';
const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } } } as const;
const RESUMABLE: OutgoingHttpHeaders = {
  'content-type': 'application/octet-stream',
  'content-length': BODY.length,
  etag: ETAG,
  'accept-ranges': 'bytes',
};

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/** Request 1: the head and CUT bytes, then the connection drops. Later ones: `resume(req, res, hit)`. */
function route(
  path: string,
  resume: (req: IncomingMessage, res: ServerResponse, hit: number) => void,
): string {
  return server.route(path, (req, res, hit) => {
    if (hit > 1) return resume(req, res, hit);
    res.writeHead(200, RESUMABLE);
    res.write(BODY.subarray(0, CUT), () => setTimeout(() => res.socket?.destroy(), 10));
  });
}

/** The rest of BODY from the Range's start, as a 206. */
function partial(req: IncomingMessage, res: ServerResponse): void {
  const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  res.writeHead(206, {
    'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
    'content-length': BODY.length - start,
    etag: ETAG,
  });
  res.end(BODY.subarray(start));
}

/** A request left without an answer until the test's server closes its socket. */
const hang = (): void => {};

function resuming(policy: PolicyInput): {
  fetch: WrappedFetch<typeof undiciFetch>;
  events: BreakwaterEvent[];
} {
  const events: BreakwaterEvent[] = [];
  const fetch = wrapFetch(realFetch, {
    policy: { ...fast, ...policy, resumeDownloads: true },
    onEvent: (event) => events.push(event),
  });
  return { fetch, events };
}

/** Reads the body to its end; true when every byte came, in order, else the error. */
async function read(response: UndiciResponse): Promise<unknown> {
  return response.arrayBuffer().then(
    (bytes) => Buffer.from(bytes).equals(BODY),
    (error: unknown) => error,
  );
}

/** The events after the body's `resume` event: the resume's request's. */
function afterResume(events: readonly BreakwaterEvent[]): BreakwaterEvent[] {
  const at = events.findIndex((e) => e.type === 'resume');
  expect(at).toBeGreaterThan(0);
  for (const event of events.slice(0, at)) expect(event).not.toHaveProperty('resume');
  return events.slice(at + 1);
}

const typesOf = (events: readonly BreakwaterEvent[]) =>
  events.map((e) => [e.type, 'resume' in e ? e.resume : '-']);

describe("a resume's request marks its events with resume: N", () => {
  it('retry: a 503 to the Range request, then the 206', async () => {
    const url = route('/retry', (req, res, hit) =>
      hit === 2 ? res.writeHead(503).end() : partial(req, res),
    );
    const { fetch, events } = resuming({});
    expect(await read(await fetch(url))).toBe(true);
    expect(typesOf(afterResume(events))).toEqual([
      ['attempt', 1],
      ['retry', 1],
      ['attempt', 1],
    ]);
    expect(afterResume(events)[1]).toMatchObject({ type: 'retry', attempt: 2, status: 503, resume: 1 });
  });

  it('give-up: 503 to every Range request, until the attempts run out', async () => {
    const url = route('/give-up', (_req, res) => res.writeHead(503).end());
    const { fetch, events } = resuming({ retry: { ...fast.retry, maxAttempts: 2 } });
    expect(await read(await fetch(url))).toMatchObject({ name: 'TypeError', message: 'terminated' });
    const resumed = afterResume(events);
    expect(typesOf(resumed)).toEqual([
      ['attempt', 1],
      ['retry', 1],
      ['attempt', 1],
      ['give-up', 1],
    ]);
    expect(resumed[3]).toMatchObject({ attempts: 2, reason: 'attempts-exhausted', status: 503 });
  });

  it('timeout (attempt): the Range request does not answer within attemptMs, its retry does', async () => {
    const url = route('/attempt-timeout', (req, res, hit) => (hit === 2 ? hang() : partial(req, res)));
    const { fetch, events } = resuming({ timeout: { attemptMs: 300, totalMs: 10_000 } });
    expect(await read(await fetch(url))).toBe(true);
    const resumed = afterResume(events);
    expect(typesOf(resumed)).toEqual([
      ['timeout', 1],
      ['attempt', 1],
      ['retry', 1],
      ['attempt', 1],
    ]);
    expect(resumed[0]).toMatchObject({ scope: 'attempt', timeoutMs: 300, attempt: 1 });
  });

  it("timeout (total): the Range request is still out at the first call's deadline", async () => {
    const url = route('/total-timeout', hang);
    const { fetch, events } = resuming({ timeout: { attemptMs: 400, totalMs: 400 } });
    expect(await read(await fetch(url))).toMatchObject({ name: 'TypeError', message: 'terminated' });
    const resumed = afterResume(events);
    expect(resumed.find((e) => e.type === 'timeout')).toMatchObject({ scope: 'total', resume: 1 });
    for (const event of resumed) expect(event).toHaveProperty('resume', 1);
  });

  it('hedge: the Range request is slow, a hedge beside it answers', async () => {
    const url = route('/hedge', (req, res, hit) => (hit === 2 ? hang() : partial(req, res)));
    const { fetch, events } = resuming({ hedging: { enabled: true, delayMs: 50, maxHedgedAttempts: 1 } });
    expect(await read(await fetch(url))).toBe(true);
    const resumed = afterResume(events);
    expect(resumed.find((e) => e.type === 'hedge')).toMatchObject({ attempt: 2, resume: 1 });
    for (const event of resumed) expect(event).toHaveProperty('resume', 1);
  });

  it('reject: the breaker refuses the Range request (isolated by hand meanwhile)', async () => {
    const url = route('/reject', partial);
    const { fetch, events } = resuming({});
    const response = await fetch(url);
    fetch.isolate(fetch.breakers()[0]?.key as string);
    expect(await read(response)).toMatchObject({ name: 'TypeError', message: 'terminated' });
    const resumed = afterResume(events);
    expect(resumed).toEqual([expect.objectContaining({ type: 'reject', cause: 'isolated', resume: 1 })]);
    expect(server.hits.get('/reject')).toBe(1);
  });

  it('reject: the bulkhead is full when the Range request comes', async () => {
    const url = route('/bulkhead', partial);
    const busy = server.route('/busy', hang);
    const { fetch, events } = resuming({ bulkhead: { maxConcurrent: 1, maxQueued: 0 } });
    const response = await fetch(url);
    // Another call to the endpoint takes its only slot before the body is cut.
    const caller = new AbortController();
    const other = fetch(busy, { signal: caller.signal }).catch((error: unknown) => error);
    expect(await read(response)).toMatchObject({ name: 'TypeError', message: 'terminated' });
    caller.abort();
    await other;
    const resumed = afterResume(events);
    expect(resumed[0]).toMatchObject({ type: 'reject', cause: 'bulkhead-full', resume: 1 });
    // The other call's own attempt (aborted) is no resume's.
    expect(resumed.slice(1)).toEqual([expect.objectContaining({ type: 'attempt', url: busy })]);
    expect(resumed[1]).not.toHaveProperty('resume');
  });
});
