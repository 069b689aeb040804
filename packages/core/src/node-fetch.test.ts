/**
 * node-fetch (v3) as the wrapped fetch: its Response body is a Node Readable, not a web stream, so it
 * has no `getReader` nor `cancel`. Discarding a retried response's body and reading an error body must
 * work on it too, or every retry and every HttpError ends in `TypeError: body.cancel is not a function`.
 */
import nodeFetch from 'node-fetch';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const fetch = nodeFetch;
const json = { 'content-type': 'application/json' };

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
beforeEach(() => server.reset());
afterAll(() => server.close());

function answer(path: string, status: number, body: string): string {
  return server.route(path, (_req, res) => res.writeHead(status, json).end(body));
}

describe('wrapFetch around node-fetch', () => {
  it('retries a 503 and hands back the last response, its body readable', async () => {
    const url = answer('/busy', 503, '{"description":"busy"}');
    const wrapped = wrapFetch(fetch, { policy: { retry: { maxAttempts: 3 }, breaker: { enabled: false } } });
    const response = await wrapped(url);
    expect([response.status, server.hits.get('/busy')]).toEqual([503, 3]);
    expect(await response.text()).toBe('{"description":"busy"}');
  });

  it('rejects with an HttpError whose payload was read, and reads a payload veto', async () => {
    const wrapped = wrapFetch(fetch, { throwHttpErrors: true, policy: { breaker: { enabled: false } } });
    const missing = await wrapped(answer('/missing', 404, '{"code":3000,"description":"gone"}')).catch(
      (e) => e,
    );
    expect(missing).toBeInstanceOf(HttpError);
    expect([missing.code, missing.description]).toEqual(['3000', 'gone']);
    const vetoed = await wrapped(answer('/final', 503, '{"code":"9","isRetryable":false}')).catch((e) => e);
    expect([vetoed.name, vetoed.code, vetoed.attempts, server.hits.get('/final')]).toEqual([
      'HttpError',
      '9',
      1,
      1,
    ]);
  });
});

describe('resumeDownloads around node-fetch', () => {
  it('hands back a resumable 200 as node-fetch gave it, its body readable', async () => {
    const url = server.route('/file', (_req, res) =>
      res.writeHead(200, { etag: '"v1"', 'accept-ranges': 'bytes', 'content-length': '5' }).end('hello'),
    );
    const wrapped = wrapFetch(fetch, { policy: { resumeDownloads: true } });
    const response = await wrapped(url);
    expect([response.status, await response.text()]).toEqual([200, 'hello']);
  });
});
