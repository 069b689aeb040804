import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { WrappedFetch } from '@breakwater/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RedisServer, startRedis } from './redis-server.test-util.ts';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const DIR = `${PACKAGE}src/.readme-snippet`;

/** The package README's one ts block, as written. */
function readmeBlock(): string {
  const readme = readFileSync(`${PACKAGE}README.md`, 'utf8');
  const blocks = [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
  expect(blocks).toHaveLength(1);
  return blocks[0] ?? '';
}

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  writeFileSync(`${DIR}/example.ts`, readmeBlock());
});
afterAll(async () => {
  rmSync(DIR, { recursive: true, force: true });
  await redis.stop();
});

it("the README's example type-checks as written", { timeout: 60_000 }, async () => {
  writeFileSync(
    `${DIR}/tsconfig.json`,
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { rootDir: '../../../..', noEmit: true },
      include: ['*.ts'],
    }),
  );
  const tsc = `${PACKAGE}../../node_modules/.bin/tsc`;
  const result = await promisify(execFile)(tsc, ['-p', `${DIR}/tsconfig.json`, '--pretty', 'false']).then(
    () => '',
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  expect(result).toBe('');
});

it("the README's example runs: its wrapped fetch shares through the Redis at REDIS_URL", async () => {
  process.env.REDIS_URL = redis.url;
  const upstream = createServer((_req, res) => res.writeHead(200).end('ok'));
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const { port } = upstream.address() as AddressInfo;
  const example = (await import(/* @vite-ignore */ `${DIR}/example.ts`)) as {
    shutdown(): Promise<void>;
    fetch: WrappedFetch;
  };
  try {
    expect((await example.fetch(`http://127.0.0.1:${port}/v1/orders`)).status).toBe(200);
    expect(example.fetch.breakers()[0]).toMatchObject({ sharing: 'shared', state: 'closed' });
  } finally {
    await example.shutdown();
    upstream.closeAllConnections();
    upstream.close();
  }
});
