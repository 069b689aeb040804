/**
 * A secret handed to the wrong option (a credential URL or a header line put where a function, a
 * provider or a header name belongs) never reaches the ConfigError's message, which gets logged: its
 * value is shown only up to where a secret's part may start (audit s24 found the first 32 characters
 * of any string quoted).
 */
import { describe, expect, it } from 'vitest';
import { breakwaterKy } from './ky.ts';
import { openTelemetry } from './telemetry/open-telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

const SECRET = 'hunter2';
const ok = async (): Promise<Response> => new Response('ok');

function messageOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('a secret in the wrong option is not echoed', () => {
  it.each<[string, () => unknown]>([
    ['wrapFetch(url with password)', () => wrapFetch(`https://user:${SECRET}@api.example.com` as never)],
    [
      'telemetry: a collector URL',
      () => wrapFetch(ok, { telemetry: `https://u:${SECRET}@otlp.example` as never }),
    ],
    [
      'keyHeader: a header line',
      () => wrapFetch(ok, { endpoints: [{ name: 'a', match: '/*', keyHeader: `X-Api-Key: ${SECRET}` }] }),
    ],
    [
      'generateHeaders: a header line',
      () => wrapFetch(ok, { policy: { generateHeaders: [`X-Api-Key: ${SECRET}`] } }),
    ],
    [
      'idempotencyKeyHeaders: a header line',
      () => wrapFetch(ok, { policy: { retry: { idempotencyKeyHeaders: [`Token: ${SECRET}`] } } }),
    ],
    [
      'openTelemetry meterProvider: a URL',
      () => openTelemetry({ meterProvider: `https://u:${SECRET}@otlp.example` as never }),
    ],
    [
      'breakwaterKy kyOptions: a URL',
      () => breakwaterKy({ kyOptions: `https://u:${SECRET}@a.example/x` as never }),
    ],
  ])('%s', (_, run) => {
    expect(messageOf(run)).not.toContain(SECRET);
  });

  it('a bearer token after a header name: not even its first characters', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.payload.sig';
    const message = messageOf(() =>
      wrapFetch(ok, { endpoints: [{ name: 'a', match: '/*', keyHeader: `Authorization: Bearer ${token}` }] }),
    );
    expect(message).not.toContain(token.slice(0, 6));
  });
});
