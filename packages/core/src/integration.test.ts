import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TimeoutError } from './errors.ts';
import { HttpError } from './http-error.ts';
import { type RoutedServer, type RouteHandler, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** Real undici fetch (Node's global) against a real server on loopback. */

const FIXTURES = fileURLToPath(new URL('../../../fixtures/partner-center/', import.meta.url));

let server: RoutedServer;

beforeAll(async () => {
  server = await startRoutedServer();
});

afterAll(() => server.close());

const route = (path: string, handler: RouteHandler): string => server.route(path, handler);

const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 5, throttleInitialDelayMs: 1 } } } as const;

describe('against a real local server', () => {
  it('retries a connection reset before the response and succeeds', async () => {
    const url = route('/reset-then-ok', (req, res, hit) => {
      if (hit === 1) {
        req.socket.destroy();
        return;
      }
      res.end('ok');
    });
    const res = await wrapFetch(fetch, { policy: fast })(url);
    expect(await res.text()).toBe('ok');
    expect(server.hits.get('/reset-then-ok')).toBe(2);
  });

  it('a reset mid-body surfaces on the body read, not as a hang', async () => {
    const url = route('/reset-mid-body', (_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 10);
    });
    const res = await wrapFetch(fetch, { policy: fast })(url);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it('retries connection refused, then throws the network error', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const attempts: number[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: fast,
      onEvent: (e) => {
        if (e.type === 'attempt') attempts.push(e.attempt);
      },
    });
    const error = await wrapped(`http://127.0.0.1:${port}/x`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(wrapped.breakers()[0]?.failures).toBe(4);
  });

  it('times out a slow attempt, aborts it, and succeeds on the next', async () => {
    let aborted = false;
    const url = route('/slow-then-fast', (req, res, hit) => {
      if (hit === 1) {
        req.on('close', () => {
          aborted = true;
        });
        setTimeout(() => res.end('late'), 2_000).unref();
        return;
      }
      res.end('fast');
    });
    const events: string[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: { ...fast, timeout: { attemptMs: 150, totalMs: 5_000 } },
      onEvent: (e) => events.push(e.type),
    });
    const res = await wrapped(url);
    expect(await res.text()).toBe('fast');
    expect(events).toContain('timeout');
    expect(aborted).toBe(true);
  });

  it('the total deadline rejects with TimeoutError', async () => {
    const url = route('/never', (_req, res) => {
      setTimeout(() => res.end('late'), 5_000).unref();
    });
    const wrapped = wrapFetch(fetch, { policy: { timeout: { attemptMs: 100, totalMs: 100 } } });
    const error = await wrapped(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('leaves no timer running once the call settles (a one-call script exits at once)', async () => {
    const url = route('/flaky-once', (_req, res, hit) => {
      res.writeHead(hit === 1 ? 503 : 200).end();
    });
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const res = await wrapFetch(fetch, { policy: fast })(url);
    expect(res.status).toBe(200);
    // The deadline (30 s) and attempt (10 s) timers are cleared, not merely unref'd.
    expect(timers()).toBe(before);
  });

  it('replays a streamed body on retry', async () => {
    const bodies: string[] = [];
    const url = route('/stream', (req, res, hit) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(hit === 1 ? 503 : 200).end();
      });
    });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('chunk-1;'));
        controller.enqueue(new TextEncoder().encode('chunk-2'));
        controller.close();
      },
    });
    const res = await wrapFetch(fetch, { policy: fast })(url, {
      method: 'PUT',
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(200);
    expect(bodies).toEqual(['chunk-1;chunk-2', 'chunk-1;chunk-2']);
  });
});

describe('Partner Center fixtures parsed into HttpError', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

  for (const file of files) {
    it(file, async () => {
      const fixture = JSON.parse(readFileSync(`${FIXTURES}${file}`, 'utf8')) as {
        status: number;
        headers: Record<string, string>;
        body?: Record<string, unknown>;
        bodyText?: string;
      };
      const url = route(`/fixture/${file}`, (_req, res) => {
        res.writeHead(fixture.status, fixture.headers);
        res.end(fixture.body ? JSON.stringify(fixture.body) : (fixture.bodyText ?? ''));
      });
      const wrapped = wrapFetch(fetch, { throwHttpErrors: true, policy: { retry: { maxAttempts: 1 } } });
      const error = await wrapped(url, { headers: { Authorization: 'Bearer token-xyz' } }).catch(
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(HttpError);
      const e = error as HttpError;
      expect(e.status).toBe(fixture.status);
      expect(e.attempts).toBe(1);
      const body = fixture.body;
      if (body && 'code' in body) {
        expect(e.code).toBe(String(body.code));
        expect(e.description).toBe(body.description);
      }
      if (body && 'isRetryable' in body) expect(e.isRetryable).toBe(body.isRetryable);
      if (body && 'errorName' in body) expect(e.errorName).toBe(body.errorName);
      if (fixture.bodyText !== undefined) expect(e.description).toBe(fixture.bodyText);
      if (fixture.headers['ms-requestid']) expect(e.requestId).toBe(fixture.headers['ms-requestid']);
      if (fixture.headers['ms-correlationid'])
        expect(e.correlationId).toBe(fixture.headers['ms-correlationid']);
      if (fixture.status === 401) {
        expect(e.challenge).toEqual({
          scheme: 'OAuth',
          params: { realm: 'urn:cpsvc:cpid:4c2f5e1a-8b7d-4e3f-9c6a-1d2e3f4a5b6c' },
        });
      }
      if (fixture.status === 429) expect(e.retryAfterMs).toBe(57_000);
      expect(e.message).not.toContain('token-xyz');
    });
  }
});
