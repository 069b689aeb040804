/**
 * What a user reads when a call fails: error bodies servers really send (odd shapes, odd encodings,
 * echoes of the request) parsed into an HttpError that every printer and serialiser can show, over
 * real HTTP on loopback with undici's fetch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

const fetch = undiciFetch as unknown as FetchLike;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
beforeEach(() => server.reset());
afterAll(() => server.close());

/** A route answering every request with `status`, `headers` and `body`. */
function answer(
  path: string,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): string {
  return server.route(path, (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, headers).end(body);
  });
}

/** The HttpError a wrapped fetch with `throwHttpErrors` rejects with, one attempt per call. */
async function failure(url: string, init?: RequestInit): Promise<HttpError> {
  const wrapped = wrapFetch(fetch, { throwHttpErrors: true, policy: { retry: { maxAttempts: 1 } } });
  const error = await wrapped(url, init).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe('an error body nested deeper than any logger can print', () => {
  it('gives an HttpError that JSON.stringify prints, the body read as text', async () => {
    // 30 000 levels in 60 KB: inside the 64 KiB read, and far past JSON.stringify's stack.
    const deepArray = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const deepData = `{"code":"2007","data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"source":"PartnerFD"}`;
    const json = { 'content-type': 'application/json' };
    for (const body of [deepArray, deepData]) {
      const error = await failure(answer('/deep', 400, json, body));
      expect(error.status).toBe(400);
      const printed = JSON.parse(JSON.stringify(error)) as Record<string, unknown>;
      expect(printed.status).toBe(400);
      expect(printed.message).toBe(error.message);
      expect(inspect(error)).toContain('HttpError');
    }
    const error = await failure(answer('/deep', 400, json, deepData));
    expect(error.payload).toEqual({ description: `${deepData.slice(0, 1023)}…` });
  });

  it('keeps data and raw of an ordinary depth as sent', async () => {
    const nested = { a: { b: { c: { d: { e: { f: { g: { h: ['x'] } } } } } } } };
    const body = JSON.stringify({ code: 1, data: nested, parameters: nested });
    const error = await failure(answer('/nested', 400, { 'content-type': 'application/json' }, body));
    expect(error.data).toEqual(nested);
    expect(error.parameters).toEqual(nested);
    expect(error.payload.raw).toEqual(JSON.parse(body));
  });
});
