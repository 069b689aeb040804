import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recognizeError } from './fetch-errors.ts';

/** An Error carrying the fields Node and undici set on low-level failures. */
function coded(message: string, code: string, name = 'Error'): Error {
  const error = Object.assign(new Error(message), { code });
  error.name = name;
  return error;
}

/** What Node's fetch (undici) throws: `TypeError('fetch failed')` with the real reason as cause. */
function fetchFailed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

describe('recognizeError: undici / Node fetch', () => {
  it.each([
    ['ECONNRESET', 'read ECONNRESET'],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:9'],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND api.example.invalid'],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN api.example.com'],
    ['EPIPE', 'write EPIPE'],
    ['ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443'],
    ['ECONNABORTED', 'socket aborted'],
    ['EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:443'],
    ['ENETUNREACH', 'connect ENETUNREACH 10.0.0.1:443'],
  ])('fetch failed caused by %s is a network error with that code', (code, message) => {
    expect(recognizeError(fetchFailed(coded(message, code)))).toEqual({ kind: 'network', code });
  });

  it.each([
    ['UND_ERR_SOCKET', 'SocketError', 'other side closed'],
    ['UND_ERR_CLOSED', 'ClientClosedError', 'The client is closed'],
    ['UND_ERR_CONNECT_TIMEOUT', 'ConnectTimeoutError', 'Connect Timeout Error'],
    ['UND_ERR_HEADERS_TIMEOUT', 'HeadersTimeoutError', 'Headers Timeout Error'],
    ['UND_ERR_BODY_TIMEOUT', 'BodyTimeoutError', 'Body Timeout Error'],
  ])('undici %s is a socket-level network error, timeouts included', (code, name, message) => {
    expect(recognizeError(fetchFailed(coded(message, code, name)))).toEqual({ kind: 'network', code });
  });

  it('finds the code inside an AggregateError of every address tried', () => {
    const cause = new AggregateError([
      coded('connect ECONNREFUSED ::1:9', 'ECONNREFUSED'),
      coded('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED'),
    ]);
    expect(recognizeError(fetchFailed(cause))).toEqual({ kind: 'network', code: 'ECONNREFUSED' });
  });

  it('finds the code in a cause of a cause', () => {
    const inner = coded('read ECONNRESET', 'ECONNRESET');
    const middle = new Error('socket hang up', { cause: inner });
    expect(recognizeError(fetchFailed(middle))).toEqual({ kind: 'network', code: 'ECONNRESET' });
  });

  it("a body read that lost its socket, TypeError('terminated'), is a network error", () => {
    const withCause = new TypeError('terminated', { cause: coded('other side closed', 'UND_ERR_SOCKET') });
    expect(recognizeError(withCause)).toEqual({ kind: 'network', code: 'UND_ERR_SOCKET' });
    expect(recognizeError(new TypeError('terminated'))).toEqual({ kind: 'network' });
  });

  it('fetch failed over a TLS certificate problem is unknown (no retry fixes it), code kept', () => {
    const cause = coded('certificate has expired', 'CERT_HAS_EXPIRED');
    expect(recognizeError(fetchFailed(cause))).toEqual({ kind: 'unknown', code: 'CERT_HAS_EXPIRED' });
  });

  it('fetch failed over a redirect loop is unknown', () => {
    expect(recognizeError(fetchFailed(new Error('redirect count exceeded')))).toEqual({ kind: 'unknown' });
  });

  it('an invalid URL is unknown', () => {
    const error = new TypeError('Failed to parse URL from not a url', {
      cause: coded('Invalid URL', 'ERR_INVALID_URL', 'TypeError'),
    });
    expect(recognizeError(error)).toEqual({ kind: 'unknown', code: 'ERR_INVALID_URL' });
  });
});

describe('recognizeError: browsers', () => {
  it.each([
    ['Chrome', 'Failed to fetch'],
    ['Firefox', 'NetworkError when attempting to fetch resource.'],
    ['Safari 17+', 'Load failed'],
    ['Safari, connection lost', 'The network connection was lost.'],
    ['Safari 16, offline', 'The Internet connection appears to be offline.'],
    ['Safari, cannot connect', 'Could not connect to the server.'],
    ['React Native / whatwg-fetch', 'Network request failed'],
  ])('%s: TypeError %j is a network error', (_runtime, message) => {
    expect(recognizeError(new TypeError(message))).toEqual({ kind: 'network' });
  });

  it('a TypeError about something else is unknown', () => {
    expect(recognizeError(new TypeError("Failed to execute 'fetch' on 'Window': Invalid name"))).toEqual({
      kind: 'unknown',
    });
  });
});

describe('recognizeError: Deno', () => {
  it('error sending request for url (...) is a network error, and the URL does not leak', () => {
    const error = new TypeError(
      'error sending request for url (https://api.example.com/v1?token=secret): client error (Connect): tcp connect error: Connection refused (os error 111)',
    );
    const result = recognizeError(error);
    expect(result).toEqual({ kind: 'network' });
    expect(JSON.stringify(result)).not.toContain('secret');
  });

  it('the newer "error sending request from ... for url" form is a network error', () => {
    const error = new TypeError(
      'error sending request from 10.0.0.2:50000 for url (https://x.test/): connection error',
    );
    expect(recognizeError(error)).toEqual({ kind: 'network' });
  });

  // Deno 2.9's shapes, as its fetch threw them against a loopback server: `fetch failed`, the reason in
  // `cause`, a plain Error with neither a code nor an error class name.
  it.each([
    ['a reset before the response', 'Connection reset by peer (os error 104)'],
    [
      'a connection closed before any response',
      'error sending request from 127.0.0.1:50522 for http://127.0.0.1:34507/empty?token=secret (127.0.0.1:34507): client error (SendRequest): connection closed before message completed',
    ],
    ['a broken pipe', 'Broken pipe (os error 32)'],
    ['a refused connection (macOS has the same text)', 'Connection refused (os error 61)'],
  ])('Deno 2: %s is a network error, and the URL does not leak', (_case, message) => {
    const result = recognizeError(new TypeError('fetch failed', { cause: new Error(message) }));
    expect(result).toEqual({ kind: 'network' });
    expect(JSON.stringify(result)).not.toContain('secret');
  });

  it('Deno 2: a TLS certificate it does not trust is unknown (no retry fixes it), as under undici and Bun', () => {
    // As Deno 2.9 threw it for a loopback HTTPS server with a self-signed certificate.
    const cause = new Error(
      'error sending request for url (https://127.0.0.1:38433/): client error (Connect): invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))',
    );
    expect(recognizeError(new TypeError('fetch failed', { cause }))).toEqual({ kind: 'unknown' });
  });

  it('Deno 2: an OS error that is not a connection failure stays unknown', () => {
    const cause = new Error('Permission denied (os error 13)');
    expect(recognizeError(new TypeError('fetch failed', { cause }))).toEqual({ kind: 'unknown' });
  });

  it('connection error is a network error', () => {
    expect(recognizeError(new TypeError('connection error: Connection reset by peer'))).toEqual({
      kind: 'network',
    });
  });

  it.each(['ConnectionRefused', 'ConnectionReset', 'BrokenPipe', 'TimedOut'])(
    'a cause of class Deno.errors.%s is a network error',
    (name) => {
      const cause = new Error('os error');
      cause.name = name;
      expect(recognizeError(new TypeError('client error', { cause }))).toEqual({
        kind: 'network',
        code: name,
      });
    },
  );
});

describe('recognizeError: Bun', () => {
  it.each(['ConnectionRefused', 'ConnectionClosed', 'FailedToOpenSocket', 'ECONNRESET'])(
    'error.code %s is a network error',
    (code) => {
      expect(
        recognizeError(coded('Unable to connect. Is the computer able to access the url?', code)),
      ).toEqual({
        kind: 'network',
        code,
      });
    },
  );

  it('the code set as the error name is recognised too', () => {
    const error = new Error('Was there a typo in the url or port?');
    error.name = 'FailedToOpenSocket';
    expect(recognizeError(error)).toEqual({ kind: 'network', code: 'FailedToOpenSocket' });
  });
});

describe('recognizeError: timeouts and aborts', () => {
  it("DOMException 'TimeoutError' (AbortSignal.timeout) is a timeout", () => {
    expect(recognizeError(new DOMException('The operation timed out.', 'TimeoutError'))).toEqual({
      kind: 'timeout',
    });
  });

  it("an Error named 'TimeoutError' (ky) is a timeout", () => {
    const error = new Error('Request timed out: GET https://x.test/');
    error.name = 'TimeoutError';
    expect(recognizeError(error)).toEqual({ kind: 'timeout' });
  });

  it("DOMException 'AbortError' is an abort", () => {
    expect(recognizeError(new DOMException('This operation was aborted', 'AbortError'))).toEqual({
      kind: 'abort',
    });
  });

  it("Node's AbortError (code ABORT_ERR) is an abort", () => {
    expect(recognizeError(coded('The operation was aborted', 'ABORT_ERR', 'AbortError'))).toEqual({
      kind: 'abort',
    });
  });

  it('the outermost error decides: an abort wrapping a reset is an abort', () => {
    const error = new DOMException('aborted', 'AbortError');
    Object.defineProperty(error, 'cause', { value: coded('read ECONNRESET', 'ECONNRESET') });
    expect(recognizeError(error)).toEqual({ kind: 'abort' });
  });
});

describe('recognizeError: anything else', () => {
  it.each([
    ['a programming error', new ReferenceError('x is not defined')],
    ['a string', 'boom'],
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['an empty object', {}],
  ])('%s is unknown', (_label, value) => {
    expect(recognizeError(value)).toEqual({ kind: 'unknown' });
  });

  it('terminates on a cyclic cause chain', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    Object.defineProperty(a, 'cause', { value: b });
    expect(recognizeError(a)).toEqual({ kind: 'unknown' });
  });

  it('survives throwing getters', () => {
    const hostile = {
      get name(): string {
        throw new Error('no');
      },
      get cause(): unknown {
        throw new Error('no');
      },
      code: 'ECONNRESET',
    };
    expect(recognizeError(hostile)).toEqual({ kind: 'network', code: 'ECONNRESET' });
  });

  it("reads no low-level code from an error that carries an HTTP status: that code is the server's", () => {
    // An HttpError (a wrapped wrapFetch's, with throwHttpErrors) of a 400 whose payload code names a
    // socket failure, and the shapes of ky's HTTPError and of an SDK's error.
    const httpError = Object.assign(new Error('breakwater: HTTP 400 Bad Request (code ECONNRESET)'), {
      name: 'HttpError',
      status: 400,
      code: 'ECONNRESET',
    });
    const kyError = Object.assign(new Error('Request failed'), {
      response: { status: 502 },
      code: 'TimedOut',
    });
    const sdkError = Object.assign(new Error('Bad gateway'), { statusCode: 502, code: 'ConnectionRefused' });
    for (const error of [httpError, kyError, sdkError])
      expect(recognizeError(error)).toEqual({ kind: 'unknown' });
    // Its cause is still read: a socket error under it decides.
    const wrapped = Object.assign(new Error('x', { cause: coded('read ECONNRESET', 'ECONNRESET') }), {
      status: 0,
    });
    expect(recognizeError(wrapped)).toEqual({ kind: 'network', code: 'ECONNRESET' });
  });

  it('never reports a code that is not code-shaped (no message text or URL can leak)', () => {
    const error = coded('x', 'https://x.test/?token=secret');
    expect(recognizeError(error)).toEqual({ kind: 'unknown' });
  });

  it('never throws and always reports a known kind and a code-shaped code', () => {
    fc.assert(
      fc.property(fc.anything({ withBoxedValues: true, withNullPrototype: true }), (value) => {
        const result = recognizeError(value);
        expect(['network', 'timeout', 'abort', 'unknown']).toContain(result.kind);
        if (result.code !== undefined) expect(result.code).toMatch(/^[A-Za-z][A-Za-z0-9_]{0,63}$/);
      }),
      { seed: 20240601, numRuns: 300 },
    );
  });
});
