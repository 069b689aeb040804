/**
 * A query part with no `=` (`?S3CR3T0123`, a webhook's bare token; `?token%3DS3CR3T`, an encoded `=`)
 * is a value as much as `token=...` is: it must reach no error, event, diagnostics message or span.
 * Real undici fetch against a loopback server, as an application would see it.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import { memoizableUrl } from '@breakwater/policies';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { HttpError } from './http-error.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { redactUrl } from './redact.ts';
import { channelName, openTelemetry } from './telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

const MARK = 'S3CR3T';

describe('redactUrl: query parts without a value', () => {
  it('redacts a part with no `=` whole, and keeps the names of name=value parts', () => {
    expect(redactUrl(`https://hooks.example.com/notify?${MARK}0123`)).toBe(
      'https://hooks.example.com/notify?REDACTED',
    );
    expect(redactUrl(`https://host/a?page=2&${MARK}&size=`)).toBe(
      'https://host/a?page=REDACTED&REDACTED&size=REDACTED',
    );
    expect(redactUrl(`/relative?${MARK}`)).toBe('/relative?REDACTED');
    expect(redactUrl(new URL(`https://host/a?${MARK}#frag`))).toBe('https://host/a?REDACTED');
    // Nor is such a URL kept in the one-entry memos, which outlive the call.
    expect(memoizableUrl(`https://hooks.example.com/notify?${MARK}0123`)).toBe(false);
  });

  it('redacts a part whose `=` is percent-encoded, decoded or not', () => {
    expect(redactUrl(`https://host/a?token%3D${MARK}`)).toBe('https://host/a?REDACTED');
    expect(redactUrl(`https://host/a?token%3d${MARK}&page=1`)).toBe('https://host/a?REDACTED&page=REDACTED');
  });
});

describe('a bare query token over real fetch', () => {
  let server: RoutedServer;
  beforeAll(async () => {
    server = await startRoutedServer();
  });
  afterAll(() => server.close());

  it('reaches no HttpError, attempt event, diagnostics message or url.full', async () => {
    const base = server.route('/notify', (_req, res) => res.writeHead(404).end('no'));
    const url = `${base}?${MARK}0123`;
    const encoded = `${base}?token%3D${MARK}0456`;
    const events: BreakwaterEvent[] = [];
    const published: unknown[] = [];
    const onMessage = (message: unknown) => published.push(message);
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
    const fetch = wrapFetch(undiciFetch, {
      throwHttpErrors: true,
      onEvent: (event) => events.push(event),
      telemetry: openTelemetry({ tracerProvider }),
    });
    subscribe(channelName('attempt'), onMessage);
    const errors: unknown[] = [];
    try {
      errors.push(await fetch(url).catch((e: unknown) => e));
      errors.push(await fetch(encoded).catch((e: unknown) => e));
    } finally {
      unsubscribe(channelName('attempt'), onMessage);
    }

    expect(server.hits.get('/notify')).toBe(2);
    for (const error of errors) {
      expect(error).toBeInstanceOf(HttpError);
      expect((error as HttpError).url).toBe(`${base}?REDACTED`);
    }
    const attempts = events.filter((e) => e.type === 'attempt');
    expect(attempts.map((e) => e.url)).toEqual([`${base}?REDACTED`, `${base}?REDACTED`]);
    expect(published).toHaveLength(2);
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.attributes['url.full'])).toEqual([`${base}?REDACTED`, `${base}?REDACTED`]);

    const printed = [
      ...errors.flatMap((e) => [
        inspect(e, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
        JSON.stringify(e),
        String(e),
        (e as Error).stack ?? '',
      ]),
      inspect(events, { depth: Number.POSITIVE_INFINITY }),
      inspect(published, { depth: Number.POSITIVE_INFINITY }),
      JSON.stringify(spans.map((s) => s.attributes)),
    ].join('\n');
    expect(printed).not.toContain(MARK);
    await tracerProvider.shutdown();
  });
});
