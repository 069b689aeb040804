import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';

/**
 * Runs README.md's quick start as it is written. The snippet calls Partner Center's real host; the
 * test points globalThis.fetch at a local server instead (only the origin is rewritten), so no traffic
 * leaves loopback and the snippet keeps reading like real code.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURE = JSON.parse(
  readFileSync(`${ROOT}fixtures/partner-center/404-partner-not-found.json`, 'utf8'),
) as {
  status: number;
  headers: Record<string, string>;
  body: unknown;
};

let server: Server;
let origin: string;
const seen: { path: string; authorization: string | undefined; requestId: string | undefined }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({
      path: req.url ?? '',
      authorization: req.headers.authorization,
      requestId: req.headers['ms-requestid'] as string | undefined,
    });
    res.writeHead(FIXTURE.status, FIXTURE.headers).end(JSON.stringify(FIXTURE.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function quickStart(): string {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const block = /<!-- quickstart:start -->\s*```ts\n([\s\S]*?)```\s*<!-- quickstart:end -->/.exec(readme);
  if (!block?.[1]) throw new Error('README.md has no quick start block between the quickstart markers');
  return block[1];
}

it("README's quick start runs: wraps fetch, applies the rule, catches HttpError, reads breakers()", async () => {
  const realFetch = globalThis.fetch;
  const toLoopback = (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.origin !== 'https://api.partnercenter.microsoft.com')
      throw new Error(`unexpected origin ${url.origin}`);
    return realFetch(`${origin}${url.pathname}${url.search}`, init);
  };
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const error = vi.spyOn(console, 'error').mockImplementation(() => {});
  const dir = `${ROOT}packages/core/src/.readme-snippet`;
  mkdirSync(dir, { recursive: true });
  const file = `${dir}/quickstart.ts`;
  writeFileSync(file, quickStart());
  vi.stubGlobal('fetch', toLoopback);
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    vi.unstubAllGlobals();
    rmSync(dir, { recursive: true, force: true });
  }

  expect(seen).toHaveLength(1);
  expect(seen[0]?.path).toBe('/v1/customers/42');
  expect(seen[0]?.authorization).toBe('Bearer <token>');
  expect(seen[0]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
  expect(error).toHaveBeenCalledWith(
    'failed',
    404,
    '3000',
    'Partner Organization with partner_id 9999999 could not be found',
    '7f3b1a52-2c1d-4c55-9a39-0b6c1f0f8e21',
    1,
  );
  expect(log).toHaveBeenCalledWith(
    'breaker',
    'customers https://api.partnercenter.microsoft.com',
    'closed',
    0,
    null,
  );
  log.mockRestore();
  error.mockRestore();
});
