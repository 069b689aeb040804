import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';

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
