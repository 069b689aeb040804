/**
 * Finding (design, for the maintainers to decide): with `hedging`, the attempt that loses the race is
 * aborted by breakwater itself, and its CLIENT span ends with status ERROR and `error.type: abort`, and
 * `http.client.request.duration` records an `abort` error for it. Each hedge thus adds an error to the
 * error rate a dashboard computes from either (`error.type` present), though the call succeeded on time.
 * A caller's own abort is the same `abort`, so the two cannot be told apart. Asked here: no ERROR
 * status, and a distinct value (the assertion uses `cancelled`, a proposal).
 */
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
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

it("a hedge race's loser is not reported as a failed request", async () => {
  const url = server.route('/hedged', (_req, res, hit) =>
    setTimeout(() => res.end('ok'), hit === 1 ? 400 : 5),
  );
  const exporter = new InMemorySpanExporter();
  const fetch = wrapFetch(globalThis.fetch, {
    policy: { hedging: { enabled: true, delayMs: 50, maxHedgedAttempts: 1 } },
    telemetry: openTelemetry({
      tracerProvider: new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    }),
  });
  expect((await fetch(url)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const spans = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT);
  expect(spans).toHaveLength(2);
  const loser = spans.find((s) => s.attributes['http.response.status_code'] === undefined);
  expect(loser?.status.code).not.toBe(SpanStatusCode.ERROR);
  expect(loser?.attributes['error.type']).toBe('cancelled');
});
