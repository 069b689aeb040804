/**
 * An application whose `@opentelemetry/api` is another install than breakwater's (a version skew the
 * package manager resolves to two copies, each compatible) registers its SDK through its own copy. A
 * wrapped fetch first called before that read breakwater's copy's proxy, which that registration never
 * reaches. The README's promise (a provider registered later is used) must hold, within 64 calls.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
afterAll(() => server.close());

/** A second install of the API, one patch version up: compatible, but a module instance of its own. */
/** Where every copy of the API 1.x keeps its registrations (and the version that made them). */
const GLOBAL_API = Symbol.for('opentelemetry.js.api.1');
const holder = globalThis as Record<symbol, unknown>;

let copies: string | undefined;
afterAll(() => {
  if (copies) rmSync(copies, { recursive: true, force: true });
});

/** A second install of the API, one patch version up: compatible, but a module instance of its own. */
async function otherApiCopy(): Promise<typeof import('@opentelemetry/api')> {
  const require = createRequire(import.meta.url);
  const installed = dirname(dirname(require.resolve('@opentelemetry/api')));
  copies = mkdtempSync(join(tmpdir(), 'otel-api-'));
  const copy = join(copies, 'api');
  cpSync(installed, copy, { recursive: true, dereference: true });
  // The version is inlined in each bundled module that checks it.
  for (const file of readdirSync(join(copy, 'dist'), { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.mjs')) continue;
    const path = join(copy, 'dist', file);
    writeFileSync(path, readFileSync(path, 'utf8').replace(/"1\.(\d+)\.(\d+)"/g, '"1.$1.99"'));
  }
  return import(pathToFileURL(join(copy, 'dist', 'index.mjs')).href);
}

it('a tracer provider registered through another API copy after the first call is used within 64 calls', async () => {
  // Nothing registered yet, as at an application's start (the registrations are the other copy's).
  const before = holder[GLOBAL_API];
  delete holder[GLOBAL_API];
  const other = await otherApiCopy();
  try {
    const url = server.route('/skew', (_req, res) => res.end('ok'));
    const fetch = wrapFetch(globalThis.fetch, { telemetry: openTelemetry() });
    await (await fetch(url)).text();
    const exporter = new InMemorySpanExporter();
    expect(
      other.trace.setGlobalTracerProvider(
        new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
      ),
    ).toBe(true);
    // The control: a wrapped fetch first called now finds the global through breakwater's copy.
    const fresh = wrapFetch(globalThis.fetch, { telemetry: openTelemetry() });
    await (await fresh(url)).text();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
    // Asked once per call, the global is read again every 64th ask (a read costs about 1 % of a call).
    for (let i = 0; i < 64; i++) await (await fetch(url)).text();
    exporter.reset();
    await (await fetch(url)).text();
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  } finally {
    other.trace.disable();
    if (before === undefined) delete holder[GLOBAL_API];
    else holder[GLOBAL_API] = before;
  }
});
