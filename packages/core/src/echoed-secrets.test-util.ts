import type { IncomingMessage, ServerResponse } from 'node:http';
import { inspect } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { HttpError } from './http-error.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** Answers one request to a route of {@link routesOnLoopback}. */
export type EchoHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A loopback server for the calling test file (started before its tests, its routes forgotten between
 * them, closed after), given as the function that routes a fresh path to a handler and returns its URL.
 */
export function routesOnLoopback(): (handler: EchoHandler) => string {
  let server: RoutedServer | undefined;
  beforeAll(async () => {
    server = await startRoutedServer();
  });
  beforeEach(() => server?.reset());
  afterAll(() => server?.close());
  return (handler) => {
    if (server === undefined) throw new Error('routesOnLoopback: route() called outside a test');
    return server.route(`/r-${Math.random().toString(36).slice(2)}`, handler);
  };
}

/** The init undici's fetch takes (its own `RequestInit`, with `dispatcher`). */
export type UndiciInit = NonNullable<Parameters<typeof undiciFetch>[1]>;

/**
 * The HttpError that undici's fetch wrapped with `throwHttpErrors` rejects with, one attempt per call,
 * each attempt cut at `attemptMs` (so a body that stalls is read cut short).
 */
export async function failure(url: string, init?: UndiciInit, attemptMs = 10_000): Promise<HttpError> {
  const wrapped = wrapFetch(undiciFetch, {
    throwHttpErrors: true,
    policy: { retry: { maxAttempts: 1 }, timeout: { attemptMs, totalMs: 30_000 } },
  });
  const error = await wrapped(url, init).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

/** That `error` is an HttpError none of whose printed forms holds any of `secrets`. */
export function expectNowhere(error: unknown, ...secrets: string[]): void {
  expect(error).toBeInstanceOf(HttpError);
  const e = error as HttpError;
  const printed = [
    e.message,
    e.statusText,
    JSON.stringify(e),
    inspect(e, { depth: null }),
    inspect(e, { depth: null, showHidden: true, getters: true }),
    String(e.description),
    JSON.stringify(e.payload),
    JSON.stringify(e.challenges),
  ];
  for (const secret of secrets) for (const form of printed) expect(form).not.toContain(secret);
}
