/**
 * `baseUrl` carrying `user:password@`: every relative call resolved against it would carry
 * credentials, which fetch refuses, call after call. wrapFetch refuses it at once, without echoing it.
 * A query in `baseUrl` is accepted: it plays no part (matching ignores queries, and a relative URL
 * resolved against the base does not keep the base's query), so it reaches no key or event either.
 */
import { inspect } from 'node:util';
import { ConfigError } from '@breakwater/policies';
import { fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { type RoutedServer, startRoutedServer } from './local-server.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const MARK = 'S3CR3T';
const fetch = undiciFetch;

function refusal(baseUrl: string | URL): ConfigError {
  try {
    wrapFetch(fetch, { baseUrl });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('accepted');
}

describe('baseUrl with userinfo', () => {
  it.each([
    `http://user:${MARK}pw@api.example.com/v1/`,
    new URL(`https://user:${MARK}pw@api.example.com/`),
    `https://${MARK}user@api.example.com/`,
    `https://:${MARK}pw@api.example.com/`,
  ])('refuses %s with a ConfigError that does not echo it', (baseUrl) => {
    const error = refusal(baseUrl);
    expect(error.path).toBe('baseUrl');
    expect(error.message).toBe('breakwater: baseUrl: must not carry user:password');
    const printed = [inspect(error, { showHidden: true }), JSON.stringify(error), error.stack ?? ''].join(
      '\n',
    );
    expect(printed).not.toContain(MARK);
  });

  it('refuses a malformed URL holding user:password without echoing it', () => {
    const error = refusal(`https//user:${MARK}@api.example.com/`);
    expect(error.message).toMatch(/baseUrl: must be an absolute URL/);
    expect([inspect(error, { showHidden: true }), JSON.stringify(error)].join('\n')).not.toContain(MARK);
  });

  it('refuses a malformed URL holding a query or a fragment without echoing them', () => {
    for (const baseUrl of [`api.example.io/?key=${MARK}`, `api.example.io/#token=${MARK}`]) {
      const error = refusal(baseUrl);
      // Shown up to the query, which is left out (audit s24: a refused string stops where a secret may start).
      expect(error.message).toBe("breakwater: baseUrl: must be an absolute URL, got 'api.example.io/...'");
      expect([inspect(error, { showHidden: true }), JSON.stringify(error)].join('\n')).not.toContain(MARK);
    }
  });
});

describe('baseUrl with a query', () => {
  let server: RoutedServer;
  beforeAll(async () => {
    server = await startRoutedServer();
  });
  afterAll(() => server.close());

  it('is accepted and plays no part: the endpoint comes from the path, and no event shows the query', async () => {
    server.route('/v1/items', (_req, res) => res.writeHead(200).end('ok'));
    const events: BreakwaterEvent[] = [];
    // A fetch that prefixes its own base, as the baseUrl option is for.
    const prefixing: typeof undiciFetch = (input, init) => fetch(`${server.origin}${String(input)}`, init);
    const wrapped = wrapFetch(prefixing, {
      baseUrl: `${server.origin}/?key=${MARK}`,
      endpoints: [{ name: 'items', match: '/v1/*' }],
      onEvent: (event) => events.push(event),
    });
    expect((await wrapped('/v1/items')).status).toBe(200);
    expect(server.hits.get('/v1/items')).toBe(1);
    const [attempt] = events.filter((e) => e.type === 'attempt');
    expect(attempt).toMatchObject({ key: `items ${server.origin}`, url: `${server.origin}/v1/items` });
    expect(inspect([events, wrapped.breakers()], { depth: Number.POSITIVE_INFINITY })).not.toContain(MARK);
  });
});
