import { afterEach, describe, expect, it, vi } from 'vitest';
import { startLocalServer } from './local-server.test-util.ts';
import { randomUuid } from './random-id.ts';
import { wrapFetch } from './wrap-fetch.ts';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A browser page on a plain-HTTP origin: Web Crypto without `randomUUID` (secure contexts only). */
function withoutRandomUuid(): void {
  const real = globalThis.crypto;
  vi.stubGlobal('crypto', { getRandomValues: real.getRandomValues.bind(real) });
  expect(globalThis.crypto.randomUUID).toBeUndefined();
}

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('generated ids need no secure context', () => {
  it('randomUuid gives distinct version-4 UUIDs from getRandomValues when randomUUID is missing', () => {
    withoutRandomUuid();
    const ids = Array.from({ length: 1000 }, randomUuid);
    for (const id of ids) expect(id).toMatch(V4);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('wrapFetch sends generated MS-RequestId and MS-CorrelationId on a page without randomUUID', async () => {
    const server = await startLocalServer();
    try {
      server.script('/v1/orders', { status: 503 }, { status: 201 });
      const fetch = wrapFetch(globalThis.fetch, {
        policy: {
          generateHeaders: ['MS-RequestId', 'MS-CorrelationId'],
          retry: { backoff: { kind: 'none', initialDelayMs: 1 } },
        },
      });
      withoutRandomUuid();
      const res = await fetch(`${server.origin}/v1/orders`, { method: 'POST', body: '{}' });
      expect(res.status).toBe(201);
      const [first, retry] = server.received;
      expect(first?.headers['ms-requestid']).toMatch(V4);
      expect(first?.headers['ms-correlationid']).toMatch(V4);
      expect(first?.headers['ms-requestid']).not.toBe(first?.headers['ms-correlationid']);
      // The generated MS-RequestId made the POST retryable, with the same id on the retry.
      expect(retry?.headers['ms-requestid']).toBe(first?.headers['ms-requestid']);
    } finally {
      await server.close();
    }
  });
});
