import { afterAll, beforeAll } from 'vitest';
import { connectClient, type RedisServer, startRedis } from './redis-server.test-util.ts';

type Client = Awaited<ReturnType<typeof connectClient>>;

/**
 * A redis-server for this test file, started before its tests and stopped after them, with one
 * connected client of it. Its members may be read only inside tests and hooks (once it has started).
 * Kept apart from redis-server.test-util.ts, which the bench imports without vitest.
 */
export function useRedis(): RedisServer & { readonly client: Client } {
  let server: RedisServer | undefined;
  let client: Client | undefined;
  beforeAll(async () => {
    server = await startRedis();
    client = await connectClient(server);
  });
  afterAll(async () => {
    client?.destroy();
    await server?.stop();
  });
  const started = (): RedisServer => {
    if (!server) throw new Error('useRedis: read before the redis-server started (outside a test or hook)');
    return server;
  };
  return {
    get url() {
      return started().url;
    },
    get port() {
      return started().port;
    },
    kill: () => started().kill(),
    restart: () => started().restart(),
    stop: () => started().stop(),
    get client() {
      started();
      return client as Client;
    },
  };
}
