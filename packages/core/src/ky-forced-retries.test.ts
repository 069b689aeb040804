import ky from 'ky';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { breakwaterKy } from './ky.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';

// `forcedRetries` is documented "Default 2 (ky's own default limit)": a hook that always asks for a
// retry (a token refresh that keeps failing) sends the request three times, then ky gives up.

let server: LocalServer;
beforeAll(async () => {
  server = await startLocalServer();
});
afterAll(() => server.close());

const alwaysRefresh = {
  afterResponse: [
    ({ response }: { response: Response }) => (response.status === 401 ? ky.retry() : undefined),
  ],
};

it('forcedRetries defaults to 2: a hook forcing retries on every 401 sends the request 3 times', async () => {
  server.script('/me', { status: 401 });
  const api = breakwaterKy({ kyOptions: { baseUrl: server.origin, hooks: alwaysRefresh } });
  await expect(api.get('me')).rejects.toThrow();
  expect(server.count('/me')).toBe(3);
});
