import { DEFAULT_POLICY } from '@breakwater/policies';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';
import { HttpError } from './http-error.ts';
import { redactUrl } from './redact.ts';
import { EndpointState } from './registry.ts';
import { intake, type PreparedRequest } from './replay.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/customers/42';
const HEADERS = { Accept: 'application/json', 'X-Trace': 'abc 1' };

/** The global Headers or URL, counting what is built through it (undici's Response uses neither). */
function countBuilt(name: 'Headers' | 'URL'): { built: number } {
  const count = { built: 0 };
  const Real = globalThis[name] as new (...args: never[]) => object;
  vi.stubGlobal(
    name,
    class extends Real {
      constructor(...args: never[]) {
        super(...args);
        count.built += 1;
      }
    },
  );
  return count;
}

/** A fetch that keeps each call's init and answers `status` at once. */
function keeping(status = 200): FetchLike & { inits: (RequestInit | undefined)[] } {
  const inits: (RequestInit | undefined)[] = [];
  const fetch = async (_input: RequestInfo | URL, init?: RequestInit) => {
    inits.push(init);
    return new Response('{}', { status });
  };
  return Object.assign(fetch, { inits });
}

describe('the request side of the healthy path (issue 17)', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('a call whose rules read no header copies a record or pairs into no Headers: they go to fetch as given', async () => {
    const count = countBuilt('Headers');
    const fetch = keeping();
    const wrapped = wrapFetch(fetch, { endpoints: [{ name: 'customers', match: 'GET */v1/customers/:id' }] });
    for (const headers of [HEADERS, Object.entries(HEADERS)]) {
      expect((await wrapped(URL_A, { headers })).status).toBe(200);
      // A copy taken at the call (issue 17: a reused headers object), names in the case given.
      expect(fetch.inits.at(-1)?.headers).toEqual(headers);
    }
    // No Headers built for a record or pairs; a Headers object given is copied at the call (a reused one
    // changed after the call must not change a retry), and only then.
    expect(count.built).toBe(0);
    const headers = new Headers(HEADERS);
    expect((await wrapped(URL_A, { headers })).status).toBe(200);
    const sent = fetch.inits.at(-1)?.headers;
    expect(sent).toBeInstanceOf(Headers);
    expect(sent).not.toBe(headers);
    expect([...(sent as Headers)]).toEqual([...headers]);
    expect(count.built).toBe(2);
  });

  it('headers are still copied for what reads them: a keyHeader rule, generated headers, an HttpError', async () => {
    const fetch = keeping(404);
    const events: string[] = [];
    const wrapped = wrapFetch(fetch, {
      throwHttpErrors: true,
      endpoints: [{ name: 'tenant', match: '*/v1/*', keyHeader: 'x-tenant' }],
      policy: { generateHeaders: ['Idempotency-Key'] },
      onEvent: (event) => events.push(event.key),
    });
    const error = await wrapped(URL_A, { headers: { 'X-Tenant': 'alpha', 'Ms-CorrelationId': 'c-1' } }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).correlationId).toBe('c-1');
    expect(events).toContain('tenant https://api.test x-tenant=alpha');
    const sent = new Headers(fetch.inits[0]?.headers);
    expect(sent.get('x-tenant')).toBe('alpha');
    expect(sent.get('idempotency-key')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it.each([
    ['a name that is not a token', { 'bad name': 'x' }],
    ['a value with a line break', { 'x-a': 'one\ntwo' }],
    ['a value beyond Latin-1', { 'x-a': 'ā' }],
    ['a pair of three', [['x-a', 'b', 'c']]],
  ])(
    'headers fetch refuses (%s) are refused before any attempt, as fetch refuses them',
    async (_, headers) => {
      const fetch = keeping();
      const wrapped = wrapFetch(fetch);
      await expect(wrapped(URL_A, { headers: headers as HeadersInit })).rejects.toThrow(TypeError);
      expect(fetch.inits).toHaveLength(0);
    },
  );

  it('headers fetch accepts but normalises (spaces around a value, a number) still reach it as given', async () => {
    const fetch = keeping();
    const wrapped = wrapFetch(fetch, { throwHttpErrors: true });
    const headers = { 'x-a': ' padded ', 'x-n': 7 } as unknown as HeadersInit;
    expect((await wrapped(URL_A, { headers })).status).toBe(200);
    expect(fetch.inits[0]?.headers).toEqual(headers);
  });
});

describe('one URL parse for a repeated URL (issue 17)', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('calls to the URL of the call before parse it no more (unless it has a query), events listened to and per-id rules alike', async () => {
    const fetch = keeping();
    const urls: string[] = [];
    const wrapped = wrapFetch(fetch, {
      endpoints: [{ name: 'customers', match: 'GET */v1/customers/:id' }],
      onEvent: (event) => {
        if (event.type === 'attempt') urls.push(event.url);
      },
    });
    await wrapped(URL_A);
    const count = countBuilt('URL');
    for (let i = 0; i < 3; i++) expect((await wrapped(URL_A)).status).toBe(200);
    expect(count.built).toBe(0);
    expect(urls).toEqual(Array(4).fill(URL_A));
    // Another id: parsed once, for the call, and that URL read by the resolver and the event.
    await wrapped('https://api.test/v1/customers/43');
    expect(count.built).toBe(1);
    // A URL with a query is remembered nowhere (its token would stay reachable): parsed at each call.
    await wrapped(`${URL_A}?token=s3cret`);
    const before = count.built;
    await wrapped(`${URL_A}?token=s3cret`);
    expect(count.built).toBeGreaterThan(before);
    expect(urls.at(-1)).toBe(`${URL_A}?token=REDACTED`);
  });

  it('each request still has a URL object of its own: changing one changes no other', () => {
    const [a, b] = [0, 1].map(() => intake(URL_A, undefined, 1024, undefined) as PreparedRequest);
    expect(a?.url).not.toBe(b?.url);
    if (a) a.url.pathname = '/elsewhere';
    expect(b?.url.href).toBe(URL_A);
    expect(b?.href).toBe(URL_A);
  });

  it('a URL that is refused is refused every time, also right after one that was not', async () => {
    const fetch = keeping();
    const wrapped = wrapFetch(fetch);
    await wrapped(URL_A);
    for (let i = 0; i < 2; i++) {
      await expect(wrapped('https://user:pw@api.test/v1/customers/42')).rejects.toThrow(/credentials/);
    }
    expect(redactUrl('')).toBe('[invalid URL]');
    expect(redactUrl('https://api.test/a?k=v')).toBe('https://api.test/a?k=REDACTED');
    expect(redactUrl('https://api.test/a?k=v')).toBe('https://api.test/a?k=REDACTED');
    expect(redactUrl('')).toBe('[invalid URL]');
  });
});

describe('EndpointState.track', () => {
  const state = () => new EndpointState('k', new CircuitBreaker('k', DEFAULT_POLICY.breaker, () => {}));

  it('hands back the call itself (no turn of its own) and counts it in flight until it settles', async () => {
    const live = state();
    let settle: (value: string) => void = () => {};
    const call = new Promise<string>((resolve) => {
      settle = resolve;
    });
    expect(live.track(() => call)).toBe(call);
    expect(live.snapshot().inFlight).toBe(1);
    settle('done');
    await call;
    await Promise.resolve();
    expect(live.snapshot().inFlight).toBe(0);
  });

  it('ends the count of a call that rejects or throws at once', async () => {
    const live = state();
    await expect(live.track(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(
      live.track(() => {
        throw new Error('at once');
      }),
    ).rejects.toThrow('at once');
    expect(live.snapshot().inFlight).toBe(0);
  });
});
