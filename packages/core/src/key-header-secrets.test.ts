/**
 * Issue 9 item 9 (second half), end to end: a rule partitioned by a subscription key (real undici
 * fetch, a real loopback server) throttles and breaks per key, and the key's value appears in no
 * endpoint key, event, error message or breakers() snapshot.
 */
import { inspect } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const KEY_A = '3f9a2c7e5b1d4e8fa0c6b2d9e7f1a3c5';
const KEY_B = 'b7e4d1a9c3f5e2b8d6a0c4f7e9b1d3a5';

let server: LocalServer;
beforeEach(async () => {
  server = await startLocalServer();
});
afterEach(async () => {
  await server.close();
});

/** Everything that can be printed about a value, as a user would print it. */
function printed(value: unknown): string {
  return `${JSON.stringify(value)}\n${inspect(value, { depth: Number.POSITIVE_INFINITY })}`;
}

describe('keyHeader: Ocp-Apim-Subscription-Key', () => {
  it('partitions per subscription key and never shows the key', async () => {
    server.script(
      '/v1/a',
      { status: 429, headers: { 'retry-after-ms': '20' } },
      { status: 503 },
      { status: 503 },
      { status: 503 },
    );
    server.script('/v1/b', { status: 200 });
    const events: BreakwaterEvent[] = [];
    const fetch = wrapFetch(undiciFetch, {
      endpoints: [{ name: 'apim', match: '/v1/*', keyHeader: 'Ocp-Apim-Subscription-Key' }],
      policy: {
        retry: { maxAttempts: 2, backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 5 } },
        breaker: { consecutiveFailures: 2 },
      },
      onEvent: (event) => events.push(event),
    });
    const headersA = { 'Ocp-Apim-Subscription-Key': KEY_A };

    // Key A: throttled, then 503s until its breaker opens; key B is untouched by either.
    expect((await fetch(`${server.origin}/v1/a`, { headers: headersA })).status).toBe(503);
    expect((await fetch(`${server.origin}/v1/a`, { headers: headersA })).status).toBe(503);
    const refused = await fetch(`${server.origin}/v1/a`, { headers: headersA }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BrokenCircuitError);
    const b = await fetch(`${server.origin}/v1/b`, { headers: { 'Ocp-Apim-Subscription-Key': KEY_B } });
    expect(b.status).toBe(200);

    // The server did get the key (breakwater does not strip it), on every attempt.
    expect(server.received.every((r) => r.headers['ocp-apim-subscription-key'] !== undefined)).toBe(true);

    const snapshots = fetch.breakers();
    const keys = snapshots.map((s) => s.key);
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatch(/^apim http:\/\/127\.0\.0\.1:\d+ ocp-apim-subscription-key=hmac:[0-9a-f]{16}$/);
    }
    const keyA = (refused as BrokenCircuitError).endpoint;
    expect(snapshots.find((s) => s.key === keyA)?.state).toBe('open');
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['throttled', 'retry', 'break', 'reject']),
    );

    const everything = [
      printed(events),
      printed(snapshots),
      printed(refused),
      String(refused),
      (refused as Error).message,
      (refused as Error).stack ?? '',
    ].join('\n');
    for (const secret of [KEY_A, KEY_B, KEY_A.slice(0, 12), KEY_B.slice(-12)]) {
      expect(everything).not.toContain(secret);
    }
  });
});
