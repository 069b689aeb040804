/**
 * Finding (low): the README says a tracer provider registered after the first call "still is [used],
 * through the API's proxy, from the next call on". That holds when the application registers through
 * the same copy of `@opentelemetry/api` as breakwater's. With two copies (a version skew that npm or
 * pnpm resolves to two installs, each compatible), the first call reads breakwater's copy's own
 * proxy (no global yet); the registration through the other copy sets the global but never that
 * proxy's delegate, so the wrapped fetch makes no span for the rest of its life. A wrapped fetch whose
 * first call comes after the registration records (it finds the global).
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RoutedServer, startRoutedServer } from '../src/local-server.test-util.ts';
import { openTelemetry } from '../src/telemetry.ts';
import { wrapFetch } from '../src/wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/** A second install of the API, one patch version up: compatible, but a module instance of its own. */
async function otherApiCopy(): Promise<typeof import('@opentelemetry/api')> {
  const require = createRequire(import.meta.url);
  const installed = dirname(dirname(require.resolve('@opentelemetry/api')));
  const copy = join(mkdtempSync(join(tmpdir(), 'otel-api-')), 'api');
  cpSync(installed, copy, { recursive: true, dereference: true });
  // The version is inlined in each bundled module that checks it.
  for (const file of readdirSync(join(copy, 'dist'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.mjs')) continue;
    const path = join(copy, 'dist', file);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/"1\.(\d+)\.(\d+)"/g, '"1.$1.99"'));
  }
  return import(pathToFileURL(join(copy, 'dist', 'index.mjs')).href);
}

it('a tracer provider registered through another API copy after the first call is used from the next call', async () => {
  const url = server.route('/skew', (_req, res) => res.end('ok'));
  const fetch = wrapFetch(globalThis.fetch, { telemetry: openTelemetry() });
  await (await fetch(url)).text();
  const other = await otherApiCopy();
  const exporter = new InMemorySpanExporter();
  expect(
    other.trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    ),
  ).toBe(true);
  try {
    // The control: a wrapped fetch first called now finds the global through breakwater's copy.
    const fresh = wrapFetch(globalThis.fetch, { telemetry: openTelemetry() });
    await (await fresh(url)).text();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    await (await fetch(url)).text();
    expect(exporter.getFinishedSpans()).toHaveLength(2);
  } finally {
    other.trace.disable();
  }
});
