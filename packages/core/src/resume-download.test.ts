import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { PolicyInput } from '@breakwater/policies';
import { Response as UndiciResponse, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** Real undici fetch against a loopback server that cuts the first body after `CUT` bytes. */

const realFetch = undiciFetch;
const BODY = Buffer.from(Array.from({ length: 50_000 }, (_, i) => i % 251));
const CUT = 20_000;
const ETAG = '"v1-abc"';
const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } } } as const;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/** Sends the head and `bytes`, then drops the connection: the client sees the body fail mid-stream. */
function cutAfter(res: ServerResponse, headers: OutgoingHttpHeaders, bytes: Buffer): void {
  res.writeHead(200, headers);
  res.write(bytes, () => setTimeout(() => res.socket?.destroy(), 10));
}

const RESUMABLE: OutgoingHttpHeaders = {
  'content-type': 'application/octet-stream',
  'content-length': BODY.length,
  etag: ETAG,
  'accept-ranges': 'bytes',
};

function without(name: string): OutgoingHttpHeaders {
  const { [name]: _dropped, ...rest } = RESUMABLE;
  return rest;
}

/** Answers a Range request with the rest of BODY as a 206, with `change` applied to its headers. */
function partial(req: IncomingMessage, res: ServerResponse, change: OutgoingHttpHeaders = {}): void {
  const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
  res.writeHead(206, {
    'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
    'content-length': BODY.length - start,
    etag: ETAG,
    ...change,
  });
  res.end(BODY.subarray(start));
}

/** breakwater over real undici fetch, with resumeDownloads on and fast retries. */
const resuming = (policy: PolicyInput = {}) =>
  wrapFetch(realFetch, { policy: { ...fast, resumeDownloads: true, ...policy } });

/** The body fails with undici's own error for the cut, after `requests` requests to `path`. */
async function expectOriginalError(response: UndiciResponse, path: string, requests: number): Promise<void> {
  expect(await readError(response)).toMatchObject({ name: 'TypeError', message: 'terminated' });
  expect(server.hits.get(path)).toBe(requests);
}

async function readError(response: UndiciResponse): Promise<unknown> {
  return response.arrayBuffer().then(
    () => 'the body was read in full',
    (error: unknown) => error,
  );
}

describe('resumeDownloads: a GET whose body fails mid-stream', () => {
  it('is resumed with Range and If-Match, and the caller reads every byte, in order', async () => {
    const seen: Array<{ range: string | undefined; ifMatch: string | undefined; auth: string | undefined }> =
      [];
    const url = server.route('/resume', (req, res, hit) => {
      seen.push({
        range: req.headers.range,
        ifMatch: req.headers['if-match'],
        auth: req.headers.authorization,
      });
      if (hit === 1) cutAfter(res, RESUMABLE, BODY.subarray(0, CUT));
      else partial(req, res);
    });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(realFetch, {
      policy: { ...fast, resumeDownloads: true },
      onEvent: (event) => events.push(event),
    });
    const response = await wrapped(url, { headers: { Authorization: 'Bearer s3cret' } });
    expect(response.status).toBe(200);
    expect(response.url).toBe(url);
    expect(response.headers.get('etag')).toBe(ETAG);
    const bytes = Buffer.from(await response.arrayBuffer());
    expect(bytes.equals(BODY)).toBe(true);
    expect(seen).toHaveLength(2);
    // The first body was cut after CUT bytes; what the caller had read is what the Range skips.
    expect(seen[1]).toEqual({ range: `bytes=${CUT}-`, ifMatch: ETAG, auth: 'Bearer s3cret' });
    expect(seen[0]?.range).toBeUndefined();
    expect(events.filter((e) => e.type === 'resume')).toEqual([
      expect.objectContaining({ type: 'resume', offset: CUT, resume: 1 }),
    ]);
    // The resume's own attempt says whose it is: not a second "attempt 1" of some new call.
    const attempts = events.filter((e) => e.type === 'attempt');
    expect(attempts.map((e) => [e.attempt, e.status, e.resume])).toEqual([
      [1, 200, undefined],
      [1, 206, 1],
    ]);
    expect(attempts[0]).not.toHaveProperty('resume');
  });

  it("hands back a Response of the wrapped fetch's own class (npm undici's), resumed", async () => {
    const url = server.route('/resume-own-class', (req, res, hit) => {
      if (hit === 1) cutAfter(res, RESUMABLE, BODY.subarray(0, CUT));
      else partial(req, res);
    });
    const response = await wrapFetch(undiciFetch, { policy: { ...fast, resumeDownloads: true } })(url);
    expect(response).toBeInstanceOf(UndiciResponse);
    expect(response.url).toBe(url);
    expect(Buffer.from(await response.arrayBuffer()).equals(BODY)).toBe(true);
  });

  it('keeps url, redirected and type on the Response and its clones', async () => {
    const url = server.route('/resume-clone', (req, res, hit) => {
      if (hit === 1) cutAfter(res, RESUMABLE, BODY.subarray(0, CUT));
      else partial(req, res);
    });
    const response = await resuming()(url);
    const copy = response.clone();
    for (const r of [response, copy]) {
      expect([r.url, r.redirected, r.type]).toEqual([url, false, 'basic']);
    }
    expect(Buffer.from(await copy.arrayBuffer()).equals(BODY)).toBe(true);
    expect(Buffer.from(await response.arrayBuffer()).equals(BODY)).toBe(true);
  });

  it('fails as before when resumeDownloads is off (the default)', async () => {
    const url = server.route('/off', (_req, res) => cutAfter(res, RESUMABLE, BODY.subarray(0, CUT)));
    const response = await wrapFetch(realFetch, { policy: fast })(url);
    expect(await readError(response)).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(server.hits.get('/off')).toBe(1);
  });

  const refusedUpFront: Array<[string, OutgoingHttpHeaders]> = [
    ['a weak ETag', { ...RESUMABLE, etag: `W/${ETAG}` }],
    ['no ETag', without('etag')],
    ['no Accept-Ranges', without('accept-ranges')],
    ['Accept-Ranges: none', { ...RESUMABLE, 'accept-ranges': 'none' }],
  ];
  it.each(refusedUpFront)(
    'is not resumed with %s: the body fails with its original error',
    async (_name, headers) => {
      const path = `/refused-${Math.random().toString(36).slice(2)}`;
      const url = server.route(path, (req, res) => {
        if (req.headers.range) partial(req, res);
        else cutAfter(res, headers, BODY.subarray(0, CUT));
      });
      const response = await resuming()(url);
      await expectOriginalError(response, path, 1);
    },
  );

  it('is not resumed when the body is gzip-encoded (decoded offsets are not the wire’s)', async () => {
    const gzipped = gzipSync(BODY);
    const url = server.route('/gzip', (req, res) => {
      if (req.headers.range) partial(req, res);
      else
        cutAfter(
          res,
          { ...RESUMABLE, 'content-encoding': 'gzip', 'content-length': gzipped.length },
          gzipped.subarray(0, gzipped.length >> 1),
        );
    });
    const response = await resuming()(url);
    expect(await readError(response)).toBeInstanceOf(Error);
    expect(server.hits.get('/gzip')).toBe(1);
  });

  const badAnswers: Array<[string, (req: IncomingMessage, res: ServerResponse) => void]> = [
    ['a 200 to the Range request', (_req, res) => res.writeHead(200, RESUMABLE).end(BODY)],
    ['a 412 (the ETag no longer matches)', (_req, res) => res.writeHead(412).end()],
    ['a 206 under another ETag', (req, res) => partial(req, res, { etag: '"v2"' })],
    [
      'a 206 starting elsewhere',
      (_req, res) => partial({ headers: { range: 'bytes=0-' } } as IncomingMessage, res),
    ],
    [
      'a 206 of another total length',
      (req, res) => partial(req, res, { 'content-range': `bytes ${CUT}-${BODY.length}/${BODY.length + 1}` }),
    ],
  ];
  it.each(badAnswers)('fails with the original error on %s', async (_name, answer) => {
    const path = `/bad-${Math.random().toString(36).slice(2)}`;
    const url = server.route(path, (req, res, hit) => {
      if (hit === 1) cutAfter(res, RESUMABLE, BODY.subarray(0, CUT));
      else answer(req, res);
    });
    const response = await resuming()(url);
    await expectOriginalError(response, path, 2);
  });

  it('resumes at most retry.maxAttempts - 1 times', async () => {
    const url = server.route('/always-cut', (req, res) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      const headers = req.headers.range
        ? {
            'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
            'content-length': BODY.length - start,
            etag: ETAG,
          }
        : RESUMABLE;
      res.writeHead(req.headers.range ? 206 : 200, headers);
      res.write(BODY.subarray(start, start + 1000), () => setTimeout(() => res.socket?.destroy(), 10));
    });
    const response = await wrapFetch(realFetch, {
      policy: { ...fast, resumeDownloads: true, retry: { ...fast.retry, maxAttempts: 3 } },
    })(url);
    expect(await readError(response)).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(server.hits.get('/always-cut')).toBe(3);
  });

  it("is not resumed once the call's deadline has passed", async () => {
    const url = server.route('/past-deadline', (req, res) => {
      if (req.headers.range) return partial(req, res);
      res.writeHead(200, RESUMABLE);
      res.write(BODY.subarray(0, CUT), () => setTimeout(() => res.socket?.destroy(), 400));
    });
    const response = await wrapFetch(realFetch, {
      policy: { ...fast, resumeDownloads: true, timeout: { attemptMs: 300, totalMs: 300 } },
    })(url);
    expect(await readError(response)).toMatchObject({ name: 'TypeError', message: 'terminated' });
    expect(server.hits.get('/past-deadline')).toBe(1);
  });

  it('stops at once with the abort reason when the caller aborts during a resume', async () => {
    const controller = new AbortController();
    let resumeClosed: Promise<void> | undefined;
    const url = server.route('/abort-during-resume', (req, res, hit) => {
      if (hit === 1) return cutAfter(res, RESUMABLE, BODY.subarray(0, CUT));
      // The resume request hangs; the caller gives up on it.
      resumeClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      controller.abort(new Error('caller gave up'));
    });
    const response = await wrapFetch(realFetch, {
      policy: { ...fast, resumeDownloads: true },
    })(url, { signal: controller.signal });
    const started = Date.now();
    expect(await readError(response)).toMatchObject({ message: 'caller gave up' });
    expect(Date.now() - started).toBeLessThan(2000);
    await resumeClosed;
    expect(server.hits.get('/abort-during-resume')).toBe(2);
  });
});
