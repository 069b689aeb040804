/**
 * What a user reads when a call fails: error bodies servers really send (odd shapes, odd encodings,
 * echoes of the request) parsed into an HttpError that every printer and serialiser can show, over
 * real HTTP on loopback with undici's fetch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { inspect } from 'node:util';
import type { HeadersLike } from '@breakwater/policies';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpError } from './http-error.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const fetch = undiciFetch;
type UndiciInit = NonNullable<Parameters<typeof undiciFetch>[1]>;

let server: RoutedServer;
beforeAll(async () => {
  server = await startRoutedServer();
});
beforeEach(() => server.reset());
afterAll(() => server.close());

/** A route answering every request with `status`, `headers` and `body`. */
function answer(
  path: string,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
): string {
  return server.route(path, (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(status, headers).end(body);
  });
}

/** The HttpError a wrapped fetch with `throwHttpErrors` rejects with, one attempt per call. */
async function failure(url: string, init?: UndiciInit): Promise<HttpError> {
  const wrapped = wrapFetch(fetch, { throwHttpErrors: true, policy: { retry: { maxAttempts: 1 } } });
  const error = await wrapped(url, init).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe('an error body nested deeper than any logger can print', () => {
  it('gives an HttpError that JSON.stringify prints, the body read as text', async () => {
    // 30 000 levels in 60 KB: inside the 64 KiB read, and far past JSON.stringify's stack.
    const deepArray = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    const deepData = `{"code":"2007","data":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)},"source":"PartnerFD"}`;
    const json = { 'content-type': 'application/json' };
    for (const body of [deepArray, deepData]) {
      const error = await failure(answer('/deep', 400, json, body));
      expect(error.status).toBe(400);
      const printed = JSON.parse(JSON.stringify(error)) as Record<string, unknown>;
      expect(printed.status).toBe(400);
      expect(printed.message).toBe(error.message);
      expect(inspect(error)).toContain('HttpError');
    }
    const error = await failure(answer('/deep', 400, json, deepData));
    expect(error.payload).toEqual({ description: `${deepData.slice(0, 1023)}…` });
  });

  it('keeps data and raw of an ordinary depth as sent', async () => {
    const nested = { a: { b: { c: { d: { e: { f: { g: { h: ['x'] } } } } } } } };
    const body = JSON.stringify({ code: 1, data: nested, parameters: nested });
    const error = await failure(answer('/nested', 400, { 'content-type': 'application/json' }, body));
    expect(error.data).toEqual(nested);
    expect(error.parameters).toEqual(nested);
    expect(error.payload.raw).toEqual(JSON.parse(body));
  });
});

describe('a server that echoes the request in its error body', () => {
  const MARK = 'S3CR3T';
  const init = () => ({
    headers: {
      authorization: `Bearer ${MARK}-bearer-token`,
      'x-api-key': `${MARK}-api-key`,
      cookie: `sid=${MARK}-session; theme=dark`,
    },
  });

  function echoing(path: string): string {
    return server.route(path, (req, res) => {
      const auth = req.headers.authorization ?? '';
      const parts = [
        auth,
        auth.slice('Bearer '.length),
        req.headers['x-api-key'],
        req.headers.cookie,
        req.url,
      ];
      const echo = parts.join(' | ');
      const body = { code: '401', description: `Refused: ${echo}`, data: [`seen ${echo}`], message: echo };
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  }

  it('has none of its credentials or query secrets in any field, the message or any rendering', async () => {
    const url = `${echoing('/echo')}?api_key=${MARK}-query&sig=${MARK}0123456789abcdef&page=2`;
    const error = await failure(url, init());
    for (const text of [
      error.message,
      JSON.stringify(error),
      inspect(error, { depth: null }),
      String(error),
    ]) {
      expect(text).not.toContain(MARK);
    }
    // What is not a secret stays readable: the text around, a query's names, a short ordinary value.
    expect(error.description).toBe(
      'Refused: REDACTED | REDACTED | REDACTED | REDACTED | /echo?api_key=REDACTED&sig=REDACTED&page=2',
    );
    expect(error.code).toBe('401');
  });

  it('has none of them after HttpError.from given the request, either', async () => {
    const url = `${echoing('/echo-by-hand')}?access_token=${MARK}-query`;
    const headers = new Headers(init().headers);
    // HttpError.from is typed with the global Response; undici's has all it reads.
    const response = (await fetch(url, init())) as unknown as Response;
    const error = await HttpError.from(response, { url, requestHeaders: headers });
    expect(JSON.stringify(error)).not.toContain(MARK);
    expect(error.message).toContain('Refused: REDACTED | REDACTED |');
  });
  it('has none of them where the JSON escapes them, as PHP escapes a base64 credential', async () => {
    // PHP's json_encode writes `/` as `\/`; a Basic credential's base64 often holds `/` and `+`.
    const basic = `Basic ${MARK}/dXNlcjpwYXNz+w==`;
    const url = server.route('/php', (req, res) => {
      const echo = String(req.headers.authorization).replaceAll('/', '\\/');
      res.writeHead(401, { 'content-type': 'application/json' }).end(`{"description":"Bad ${echo}"}`);
    });
    const error = await failure(url, { headers: { authorization: basic } });
    expect(error.description).toBe('Bad REDACTED');
    expect(JSON.stringify(error)).not.toContain(MARK);
  });
  it('leaves short values of credential-named headers, which would break the JSON around them', async () => {
    const url = answer(
      '/short',
      409,
      { 'content-type': 'application/json' },
      '{"code":"7","retryAfter":3600,"isRetryable":true}',
    );
    const error = await failure(url, {
      headers: { 'x-session-timeout': '3600', 'x-token-required': 'true' },
    });
    expect([error.code, error.isRetryable, error.payload.raw]).toEqual([
      '7',
      true,
      { code: '7', retryAfter: 3600, isRetryable: true },
    ]);
  });
});

describe('JSON.stringify of every error breakwater throws', () => {
  /** The JSON form a JSON logger writes, parsed back. */
  const printed = (error: unknown): Record<string, unknown> =>
    JSON.parse(JSON.stringify(error)) as Record<string, unknown>;

  async function refusals(): Promise<unknown[]> {
    const throttled = answer('/throttled', 429, { 'retry-after': '100' }, '');
    const stall = server.route('/stall', () => {});
    const errors: unknown[] = [];
    const oneShot = wrapFetch(fetch, { policy: { retry: { maxAttempts: 1 }, timeout: { attemptMs: 30 } } });
    errors.push(await oneShot(stall).catch((e: unknown) => e));
    const gated = wrapFetch(fetch, { policy: { timeout: { attemptMs: 1000, totalMs: 1000 } } });
    errors.push(
      await gated(throttled)
        .then(() => gated(throttled))
        .catch((e: unknown) => e),
    );
    oneShot.isolate(`default ${server.origin}`);
    errors.push(await oneShot(stall).catch((e: unknown) => e));
    const controller = new AbortController();
    const narrow = wrapFetch(fetch, { policy: { bulkhead: { maxConcurrent: 1, maxQueued: 0 } } });
    const held = narrow(stall, { signal: controller.signal }).catch(() => {});
    errors.push(await narrow(stall).catch((e: unknown) => e));
    controller.abort();
    await held;
    errors.push(
      await Promise.resolve()
        .then(() => wrapFetch(fetch, { maxEndpoints: -1 }))
        .catch((e: unknown) => e),
    );
    return errors;
  }

  it('carries its name and message, as an HttpError does', async () => {
    const errors = await refusals();
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'BreakwaterTimeoutError',
      'ThrottledError',
      'BrokenCircuitError',
      'BulkheadRejectedError',
      'ConfigError',
    ]);
    for (const error of errors) {
      expect(printed(error)).toMatchObject({
        name: (error as Error).name,
        message: (error as Error).message,
      });
      expect((error as Error).message).toMatch(/^breakwater: /);
    }
    const http = await failure(answer('/missing', 404, {}, 'gone'));
    expect(printed(http)).toMatchObject({ name: 'HttpError', message: http.message, status: 404 });
    expect(printed(http)).not.toHaveProperty('response');
  });
});

describe('a payload verdict sent as a .NET gateway stringifies it', () => {
  it('isRetryable "False" stops the retries of a 503, as false does', async () => {
    const json = { 'content-type': 'application/json' };
    const url = answer('/busy', 503, json, '{"code":"9","isRetryable":"False"}');
    const wrapped = wrapFetch(fetch, { throwHttpErrors: true });
    const error = (await wrapped(url).catch((e: unknown) => e)) as HttpError;
    expect([error.status, error.isRetryable, error.attempts, server.hits.get('/busy')]).toEqual([
      503,
      false,
      1,
      1,
    ]);
    const shouting = await failure(answer('/yes', 409, json, '{"isRetryable":" TRUE "}'));
    expect(shouting.isRetryable).toBe(true);
  });
});

describe('an error after a redirect', () => {
  it('names the URL that answered, redacted, as response.url does', async () => {
    server.route('/moved', (_req, res) => res.writeHead(302, { location: '/gone?next=S3CR3T' }).end());
    answer('/gone', 404, { 'content-type': 'application/json' }, '{"code":"3000"}');
    const error = await failure(`${server.origin}/moved`);
    expect(error.url).toBe(`${server.origin}/gone?next=REDACTED`);
    expect(error.message).toBe(
      `breakwater: HTTP 404 Not Found (code 3000) [GET ${server.origin}/gone?next=REDACTED]`,
    );
    expect(error.response.url).toBe(`${server.origin}/gone?next=S3CR3T`);
  });
});

describe('control characters in an error body', () => {
  it('stay out of the message, which a terminal or a log would let them act in', async () => {
    const body = 'bad \u001b[2J\u001b[31mred\r\nINFO forged log line\u0000\u009b';
    const error = await failure(answer('/ansi', 400, { 'content-type': 'text/plain' }, body));
    expect(error.message).toMatch(
      /^breakwater: HTTP 400 Bad Request: bad \[2J \[31mred INFO forged log line \[GET /,
    );
    expect(error.message).not.toMatch(/\p{Cc}/u);
    // The description keeps the text as sent, for whoever needs it.
    expect(error.description).toBe(body);
  });

  it('in the payload code stay out of the message, which shows a long code cut short', async () => {
    const code = 'E\u001b[2J\r\nINFO forged log line\u0000';
    const json = { 'content-type': 'application/json' };
    const error = await failure(answer('/ansi-code', 400, json, JSON.stringify({ code, description: 'd' })));
    expect(error.message).toBe(
      `breakwater: HTTP 400 Bad Request: d (code E [2J INFO forged log line) [GET ${server.origin}/ansi-code]`,
    );
    // The code keeps the text as sent: a caller's switch compares it exactly.
    expect(error.code).toBe(code);

    const long = await failure(answer('/long-code', 400, json, JSON.stringify({ code: 'C'.repeat(1000) })));
    expect(long.code).toBe('C'.repeat(1000));
    expect(long.message.length).toBeLessThan(200);
  });

  it('in the reason phrase stay out of the message', async () => {
    // node:http refuses to send such a reason phrase; undici accepts it.
    const raw = createServer((socket) => {
      socket.once('data', () =>
        socket.end(
          'HTTP/1.1 400 Bad \u001b[31mred\u001b[0m\u007f\r\ncontent-length: 0\r\nconnection: close\r\n\r\n',
        ),
      );
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    try {
      const error = await failure(`${origin}/reason`);
      expect(error.message).toBe(`breakwater: HTTP 400 Bad [31mred [0m [GET ${origin}/reason]`);
      expect(error.statusText).toBe('Bad \u001b[31mred\u001b[0m\u007f');
    } finally {
      await new Promise((resolve) => raw.close(resolve));
    }
  });
});

describe('an error body not in UTF-8', () => {
  it('is decoded by its byte order mark or its charset, so its fields are read', async () => {
    const json = JSON.stringify({ code: 3000, description: 'Partenaire introuvable' });
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(json, 'utf16le')]);
    const fromUtf16 = await failure(answer('/utf16', 404, { 'content-type': 'application/json' }, utf16));
    expect([fromUtf16.code, fromUtf16.description]).toEqual(['3000', 'Partenaire introuvable']);

    const latin1 = Buffer.from('Café fermé', 'latin1');
    const headers = { 'content-type': 'text/plain; charset=ISO-8859-1' };
    expect((await failure(answer('/latin1', 503, headers, latin1))).description).toBe('Café fermé');

    // A byte order mark wins over the charset; an unknown charset falls back to UTF-8.
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('Café', 'utf8')]);
    expect((await failure(answer('/bom', 400, headers, bom))).description).toBe('Café');
    const unknown = { 'content-type': 'text/plain; charset=x-nonesuch' };
    expect((await failure(answer('/unknown', 400, unknown, 'Café'))).description).toBe('Café');
  });

  it('is decoded by its byte order mark when the server flushes the mark across chunks', async () => {
    const json = JSON.stringify({ code: 3000, description: 'Partenaire introuvable' });
    const utf16 = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(json, 'utf16le').swap16()]);
    const url = server.route('/utf16-split', (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      // One byte, then the rest once the client has it: two chunks, the mark cut between them.
      res.write(utf16.subarray(0, 1), () => setTimeout(() => res.end(utf16.subarray(1)), 20));
    });
    const error = await failure(url);
    expect([error.code, error.description]).toEqual(['3000', 'Partenaire introuvable']);
  });
});

describe('standard error bodies other than Partner Center', () => {
  it('RFC 9457 problem details: the detail is the description and in the message, the title the message', async () => {
    const problem = {
      type: 'https://example.com/probs/out-of-credit',
      title: 'Not enough credit',
      detail: 'Balance 30, cost 50',
      status: 403,
    };
    const headers = { 'content-type': 'application/problem+json' };
    const error = await failure(answer('/problem', 403, headers, JSON.stringify(problem)));
    expect([error.description, error.serverMessage]).toEqual(['Balance 30, cost 50', 'Not enough credit']);
    expect(error.message).toMatch(/^breakwater: HTTP 403 Forbidden: Balance 30, cost 50 \[GET /);
    expect(error.payload.raw).toEqual(problem);
  });

  it('OAuth 2: the error is the code', async () => {
    const oauth = { error: 'invalid_grant', error_description: 'AADSTS70008: The refresh token has expired' };
    const error = await failure(
      answer('/token', 400, { 'content-type': 'application/json' }, JSON.stringify(oauth)),
    );
    expect([error.code, error.description]).toEqual(['invalid_grant', oauth.error_description]);
    expect(error.message).toContain('(code invalid_grant)');
  });
});

describe('the message of an error page', () => {
  it('shows an HTML page by its title, not its markup, and nothing that only repeats the status', async () => {
    const page =
      '<!DOCTYPE html><html><head><title>Upstream is\n down</title></head><body><h1>Oops</h1></body></html>';
    const html = { 'content-type': 'text/html; charset=utf-8' };
    const titled = await failure(answer('/page', 400, html, page));
    expect(titled.message).toMatch(/^breakwater: HTTP 400 Bad Request: Upstream is down \[GET /);
    expect(titled.description).toBe(page);
    const untitled = await failure(answer('/bare', 400, html, '<p>Quota <b>spent</b></p>'));
    expect(untitled.message).toMatch(/^breakwater: HTTP 400 Bad Request: Quota spent \[GET /);
    const nginx =
      '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';
    const gateway = await failure(answer('/nginx', 502, html, nginx));
    expect(gateway.message).toBe(`breakwater: HTTP 502 Bad Gateway [GET ${server.origin}/nginx]`);
    const busy = await failure(answer('/busy', 503, { 'content-type': 'text/plain' }, 'Service Unavailable'));
    expect(busy.message).toBe(`breakwater: HTTP 503 Service Unavailable [GET ${server.origin}/busy]`);
    expect(busy.description).toBe('Service Unavailable');
  });
});

describe('a secret echoed in a JSON body', () => {
  const json = { 'content-type': 'application/json' };

  it('as a JSON number leaves the JSON whole, the number a REDACTED string', async () => {
    const id = '1234567890123456789';
    const body = `{"code":"NotFound","isRetryable":false,"userId":${id}}`;
    const error = await HttpError.from(new Response(body, { status: 400, headers: json }), {
      url: `https://api.example.com/v1/x?user_id=${id}`,
    });
    expect([error.code, error.isRetryable, error.payload.raw]).toEqual([
      'NotFound',
      false,
      { code: 'NotFound', isRetryable: false, userId: 'REDACTED' },
    ]);
    // A numeric API key of 8 digits, echoed as a number and inside a key.
    const url = answer('/numeric-key', 403, json, '{"code":"Denied","key":87654321,"87654321":"seen"}');
    const keyed = await failure(url, { headers: { 'x-api-key': '87654321' } });
    expect([keyed.code, keyed.payload.raw]).toEqual([
      'Denied',
      { code: 'Denied', key: 'REDACTED', REDACTED: 'seen' },
    ]);
  });

  it('under a JSON escape the scrub does not list, as System.Text.Json writes + as \\u002B', async () => {
    const url = answer('/dotnet', 401, json, '{"description":"Token Ab\\u002BcdEfgh1234== is expired"}');
    const error = await failure(url, { headers: { authorization: 'Bearer Ab+cdEfgh1234==' } });
    expect(error.description).toBe('Token REDACTED is expired');
    expect(JSON.stringify(error)).not.toContain('cdEfgh1234');
    // A JSON array is described by its JSON, which would carry the escape through a scrub of its text.
    const array = answer('/dotnet-array', 401, json, '["Token Ab\\u002BcdEfgh1234== is expired"]');
    const listed = await failure(array, { headers: { authorization: 'Bearer Ab+cdEfgh1234==' } });
    expect([listed.description, listed.payload.raw]).toEqual([
      '["Token REDACTED is expired"]',
      ['Token REDACTED is expired'],
    ]);
  });

  it('in a body too deep to parse is taken out of its text', async () => {
    const body = `{"description":"key S3CR3T-deep-key","data":${'['.repeat(100)}${']'.repeat(100)}}`;
    const error = await failure(answer('/deep-echo', 400, json, body), {
      headers: { 'x-api-key': 'S3CR3T-deep-key' },
    });
    expect(error.description).toBe(body.replace('S3CR3T-deep-key', 'REDACTED'));
  });
});

describe('request secrets in the forms servers echo them', () => {
  const MARK = 'S3CR3T';

  /** The HttpError of a route that answers 401 with `{ description: echo(request) }`. */
  async function echoed(
    init: UndiciInit,
    echo: (req: IncomingMessage) => string,
    query = '',
  ): Promise<HttpError> {
    const url = server.route(`/forms-${Math.random().toString(36).slice(2)}`, (req, res) => {
      const body = JSON.stringify({ code: 'Refused', description: `seen ${echo(req)}` });
      res.writeHead(401, { 'content-type': 'application/json' }).end(body);
    });
    const error = await failure(`${url}${query}`, init);
    expect(JSON.stringify(error)).not.toContain(MARK);
    expect(inspect(error, { depth: null })).not.toContain(MARK);
    return error;
  }

  it('a SharedKey or SigV4 signature alone, the words of the scheme kept', async () => {
    const shared = `SharedKey account1:${MARK}ctzMq410TV3wS7upTBcunJ=`;
    const azure = await echoed({ headers: { authorization: shared } }, (req) => {
      const signature = String(req.headers.authorization).split(':')[1];
      return `The MAC signature found in the HTTP request '${signature}' is not the same`;
    });
    expect(azure.description).toBe(
      "seen The MAC signature found in the HTTP request 'REDACTED' is not the same",
    );
    const sigV4 =
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, ' +
      `SignedHeaders=content-type;host, Signature=${MARK}5d672d79c15b13162d9279b0855cf`;
    const aws = await echoed({ headers: { authorization: sigV4 } }, (req) => {
      const signature = String(req.headers.authorization).split('Signature=')[1];
      return `SignatureDoesNotMatch: Signature ${signature}`;
    });
    expect(aws.description).toBe('seen SignatureDoesNotMatch: Signature REDACTED');
  });

  it('a query value as sent, + and / and = included', async () => {
    const error = await echoed({}, (req) => String(req.url), `?sig=${MARK}abc+def/ghijklmnopqrs=&page=2`);
    expect(error.description).toMatch(/^seen \/forms-\w+\?sig=REDACTED&page=2$/);
  });

  it('a cookie value percent-encoded or quoted, sent as the server decodes it', async () => {
    const cookie = `sid=${MARK}%2Fsession%3D%3D; pref="${MARK}-quoted-pref"`;
    const error = await echoed({ headers: { cookie } }, () => `${MARK}/session== and ${MARK}-quoted-pref`);
    expect(error.description).toBe('seen REDACTED and REDACTED');
  });

  it('a cookie of request headers that are not a Headers, its name capitalised', async () => {
    const body = `{"description":"session ${MARK}-map-session expired"}`;
    const requestHeaders = new Map([['Cookie', `sid=${MARK}-map-session`]]);
    const error = await HttpError.from(new Response(body, { status: 401 }), {
      requestHeaders: {
        get: (name) => requestHeaders.get(name) ?? null,
        has: (name) => requestHeaders.has(name),
        [Symbol.iterator]: () => requestHeaders[Symbol.iterator](),
      } as HeadersLike,
    });
    expect(error.description).toBe('session REDACTED expired');
  });

  it('a query secret of the URL requested, after a redirect to a URL without it', async () => {
    const start = server.route('/login-redirect', (_req, res) =>
      res.writeHead(302, { location: '/landing' }).end(),
    );
    answer(
      '/landing',
      403,
      { 'content-type': 'application/json' },
      `{"description":"token ${MARK}-first-token revoked"}`,
    );
    const error = await failure(`${start}?access_token=${MARK}-first-token`);
    expect(error.url).toBe(`${server.origin}/landing`);
    expect(error.description).toBe('token REDACTED revoked');
  });
});

describe('an HttpError thrown by the fetch a wrapFetch wraps', () => {
  it('is not a network failure for the payload code a server sent: no retry, no breaker failure', async () => {
    const url = answer(
      '/code-econnreset',
      400,
      { 'content-type': 'application/json' },
      '{"code":"ECONNRESET"}',
    );
    const inner = wrapFetch(fetch, { throwHttpErrors: true, policy: { retry: { maxAttempts: 1 } } });
    const outer = wrapFetch(inner);
    const error = await outer(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpError);
    expect(server.hits.get('/code-econnreset')).toBe(1);
    expect(outer.breakers()[0]?.failures).toBe(0);
  });
});
