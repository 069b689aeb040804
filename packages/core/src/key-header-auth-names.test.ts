/**
 * A rule partitioned by `x-authorization` (a name the older credential rule missed), end to end with
 * real undici fetch on loopback: the bearer token reaches no event key, breakers() snapshot or
 * BrokenCircuitError, while the server still gets it on every attempt.
 */
import { inspect } from 'node:util';
import { fetch as undiciFetch } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { type LocalServer, startLocalServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const TOKEN = 'S3CR3T0123456789';

let server: LocalServer;
beforeEach(async () => {
  server = await startLocalServer();
});
afterEach(() => server.close());

describe('keyHeader: x-authorization', () => {
  it('hashes the token in keys, events, snapshots and the breaker error', async () => {
    server.script('/v1/a', { status: 503 }, { status: 503 });
    const events: BreakwaterEvent[] = [];
    const fetch = wrapFetch(undiciFetch, {
      endpoints: [{ name: 'api', match: '/v1/*', keyHeader: 'x-authorization' }],
      policy: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 2 } },
      onEvent: (event) => events.push(event),
    });
    const init = { headers: { 'x-authorization': `Bearer ${TOKEN}` } };
    expect((await fetch(`${server.origin}/v1/a`, init)).status).toBe(503);
    expect((await fetch(`${server.origin}/v1/a`, init)).status).toBe(503);
    const refused = await fetch(`${server.origin}/v1/a`, init).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BrokenCircuitError);
    expect(server.received.map((r) => r.headers['x-authorization'])).toEqual([
      `Bearer ${TOKEN}`,
      `Bearer ${TOKEN}`,
    ]);

    const snapshots = fetch.breakers();
    expect(snapshots.map((s) => s.key)).toEqual([
      expect.stringMatching(/^api http:\/\/127\.0\.0\.1:\d+ x-authorization=hmac:[0-9a-f]{16}$/),
    ]);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['break', 'reject']));
    const everything = [
      inspect(events, { depth: Number.POSITIVE_INFINITY }),
      JSON.stringify(events),
      inspect(snapshots, { depth: Number.POSITIVE_INFINITY }),
      inspect(refused, { depth: Number.POSITIVE_INFINITY, showHidden: true }),
      JSON.stringify(refused),
      (refused as Error).message,
      (refused as Error).stack ?? '',
    ].join('\n');
    expect(everything).not.toContain(TOKEN);
  });
});
