/**
 * Finding (core, not telemetry's alone): a wrapped fetch that ignores its AbortSignal (a custom
 * transport, a mock, an SDK's own fetch) never settles a call: `timeout.attemptMs` aborts the attempt's
 * signal, but breakwater waits on fetch's promise alone, so the call outlives `timeout.totalMs`
 * forever, and its attempt span never ends (a leaked open span, no duration recorded).
 */
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { expect, it } from 'vitest';
import { openTelemetry } from '../src/telemetry.ts';
import { wrapFetch } from '../src/wrap-fetch.ts';

it('a fetch that ignores its signal: the call ends by its deadline, and its attempt span ends', async () => {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const deaf = (() => new Promise<Response>(() => {})) as typeof fetch;
  const fetch = wrapFetch(deaf, {
    policy: { timeout: { attemptMs: 50, totalMs: 150 }, retry: { maxAttempts: 1 } },
    telemetry: openTelemetry({ tracerProvider }),
  });
  const outcome = await Promise.race([
    fetch('http://127.0.0.1:9/never').then(
      () => 'resolved',
      (error: Error) => error.name,
    ),
    new Promise((resolve) => setTimeout(() => resolve('still pending after 1 s'), 1000)),
  ]);
  expect(outcome).toBe('BreakwaterTimeoutError');
  expect(exporter.getFinishedSpans().map((s) => s.attributes['error.type'])).toEqual(['timeout']);
});
