import type { ServerResponse } from 'node:http';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/**
 * A resumable body that the caller cancels or inspects: real undici fetch against a loopback server
 * whose first body is cut after `CUT` bytes, as in resume-download.test.ts.
 */

const realFetch = undiciFetch;
const BODY = Buffer.alloc(60_000, 7);
const CUT = 20_000;
const ETAG = '"v1-cancel"';
const RESUMABLE = { 'content-length': BODY.length, etag: ETAG, 'accept-ranges': 'bytes' };
const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } } } as const;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

function cutAfterCut(res: ServerResponse): void {
  res.writeHead(200, RESUMABLE);
  res.write(BODY.subarray(0, CUT), () => setTimeout(() => res.socket?.destroy(), 10));
}

/** Resolves with `value` after `ms`, for a race against something that must happen sooner. */
const after = <T>(ms: number, value: T): Promise<T> =>
  new Promise((resolve) => setTimeout(() => resolve(value), ms));

/** Reads the first CUT bytes; the read that follows is left pending (the body breaks under it). */
async function readPastCut(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  let got = 0;
  while (got < CUT) {
    const chunk = await reader.read();
    if (chunk.done) throw new Error('the body ended before the cut');
    got += chunk.value.byteLength;
  }
  return { reader, pending: reader.read() };
}

describe('resumeDownloads: the caller cancels the body', () => {
  it('while a resume is in flight: cancel resolves, and the resume request is aborted', async () => {
    let resumeArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      resumeArrived = resolve;
    });
    let resumeClosed: Promise<string> | undefined;
    const url = server.route('/cancel-in-flight', (req, res, hit) => {
      if (hit === 1) return cutAfterCut(res);
      // The resume is held unanswered: only the client closing its connection ends it.
      resumeClosed = new Promise((resolve) => req.socket.once('close', () => resolve('closed')));
      resumeArrived();
    });
    const response = await wrapFetch(realFetch, { policy: { ...fast, resumeDownloads: true } })(url);
    const { reader, pending } = await readPastCut(response.body as ReadableStream<Uint8Array>);
    await arrived;

    // As fetch's own body does: cancel resolves, and the pending read ends as done.
    await expect(reader.cancel('user navigated away')).resolves.toBeUndefined();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(await Promise.race([resumeClosed, after(1000, 'still open')])).toBe('closed');
    expect(server.hits.get('/cancel-in-flight')).toBe(2);
  });

  it('while a resume waits to be retried: no request is sent after the cancel', async () => {
    const events: BreakwaterEvent[] = [];
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    let cancelled: Promise<void> | undefined;
    const url = server.route('/cancel-in-backoff', (_req, res, hit) => {
      if (hit === 1) return cutAfterCut(res);
      // The resume is refused for now: it would be sent again after the backoff.
      res.writeHead(503, { 'content-length': 0 }).end();
    });
    const wrapped = wrapFetch(realFetch, {
      policy: {
        resumeDownloads: true,
        retry: { backoff: { initialDelayMs: 200, maxDelayMs: 200 } },
      },
      onEvent: (event) => {
        events.push(event);
        // The resume's 503 is in, and its retry is waiting: the caller leaves.
        if (event.type === 'retry' && reader) cancelled = reader.cancel('user navigated away');
      },
    });
    const response = await wrapped(url);
    const read = await readPastCut(response.body as ReadableStream<Uint8Array>);
    reader = read.reader;
    await expect(read.pending).resolves.toEqual({ done: true, value: undefined });
    await expect(cancelled).resolves.toBeUndefined();
    await after(500, undefined);
    expect(server.hits.get('/cancel-in-backoff')).toBe(2);
    expect(events.filter((e) => e.type === 'resume')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'attempt').map((e) => [e.status, e.resume])).toEqual([
      [200, undefined],
      [503, 1],
    ]);
  });
});

describe('resumeDownloads: a resume cut short reports its attempt as the resume’s', () => {
  /**
   * The resume's request is held unanswered, and `leave` ends it from the client's side once it has
   * arrived: the attempt event that follows is the resume's, aborted, and says so (`resume: 1`).
   */
  async function abortedResumeEvents(
    path: string,
    leave: (reader: ReadableStreamDefaultReader<Uint8Array>, controller: AbortController) => void,
  ) {
    const events: BreakwaterEvent[] = [];
    let resumeArrived: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      resumeArrived = resolve;
    });
    let resumeClosed: Promise<void> | undefined;
    const url = server.route(path, (req, res, hit) => {
      if (hit === 1) return cutAfterCut(res);
      resumeClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      resumeArrived();
    });
    const controller = new AbortController();
    const wrapped = wrapFetch(realFetch, {
      policy: { ...fast, resumeDownloads: true },
      onEvent: (event) => events.push(event),
    });
    const response = await wrapped(url, { signal: controller.signal });
    const { reader, pending } = await readPastCut(response.body as ReadableStream<Uint8Array>);
    await arrived;
    leave(reader, controller);
    await pending.catch(() => {});
    await resumeClosed;
    // The aborted attempt is reported in the turn its fetch rejects: wait for it, not for a fixed time.
    await vi.waitUntil(() => events.filter((e) => e.type === 'attempt').length === 2, { timeout: 5000 });
    return events;
  }

  const attemptFields = (events: BreakwaterEvent[]) =>
    events.flatMap((e) => (e.type === 'attempt' ? [[e.attempt, e.status, e.reason, e.resume]] : []));

  it("when the caller's signal aborts the resume in flight", async () => {
    const events = await abortedResumeEvents('/abort-resume-event', (_reader, controller) =>
      controller.abort(new Error('caller gave up')),
    );
    expect(attemptFields(events)).toEqual([
      [1, 200, 'success', undefined],
      [1, undefined, 'aborted', 1],
    ]);
    expect(events.map((e) => e.type)).toEqual(['attempt', 'resume', 'attempt']);
  });

  it('when the caller cancels the body while the resume is in flight', async () => {
    const events = await abortedResumeEvents('/cancel-resume-event', (reader) => {
      void reader.cancel('user navigated away');
    });
    expect(attemptFields(events)).toEqual([
      [1, 200, 'success', undefined],
      [1, undefined, 'aborted', 1],
    ]);
    expect(events.map((e) => e.type)).toEqual(['attempt', 'resume', 'attempt']);
  });
});

describe('resumeDownloads: the Response handed back', () => {
  it('has immutable headers, as fetch’s Response has, and so do its clones', async () => {
    const url = server.route('/immutable', (req, res, hit) => {
      if (hit === 1) return cutAfterCut(res);
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1]);
      res.writeHead(206, {
        'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
        'content-length': BODY.length - start,
        etag: ETAG,
      });
      res.end(BODY.subarray(start));
    });
    const response = await wrapFetch(realFetch, { policy: { ...fast, resumeDownloads: true } })(url);
    const copy = response.clone();
    for (const r of [response, copy]) {
      expect(() => r.headers.set('x-added', '1')).toThrow(TypeError);
      expect(() => r.headers.delete('etag')).toThrow(TypeError);
      expect(r.headers.get('etag')).toBe(ETAG);
      expect(r.headers.has('x-added')).toBe(false);
      expect([r.status, r.statusText, r.url, r.redirected, r.type]).toEqual([200, 'OK', url, false, 'basic']);
    }
    expect(Buffer.from(await copy.arrayBuffer()).equals(BODY)).toBe(true);
    expect(Buffer.from(await response.arrayBuffer()).equals(BODY)).toBe(true);
  });
});
