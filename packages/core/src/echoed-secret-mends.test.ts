/**
 * The scrub of echoed request secrets against what a review of its session-21 version found: the
 * work grew with the number of secrets times the text (a redirect picks hundreds), a Basic API key
 * sent as the user name or a Latin-1 password was no secret, a sent query value with a `+` lost its
 * as-sent form, and a read cut inside a UTF-8 character kept the start of a secret. Real loopback
 * HTTP, undici's fetch, through `wrapFetch`.
 */
import { describe, expect, it } from 'vitest';
import { expectNowhere, failure, routesOnLoopback, type UndiciInit } from './echoed-secrets.test-util.ts';
import { scrubSteps } from './echoed-secrets.ts';
import type { HttpError } from './http-error.ts';

const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

const route = routesOnLoopback();

describe('as many secrets as a redirect picks', () => {
  /** `count` query values of 16 characters, as a server picks them for the URL it redirects to. */
  const values = (count: number): string[] =>
    Array.from({ length: count }, (_, i) => `v${String(i).padStart(4, '0')}xxxxxxxxxxx`);

  /** The scrub steps of a 500 after a redirect to `values`, with `body`; and its HttpError. */
  async function redirected(secrets: string[], body: string): Promise<[number, HttpError]> {
    const target = route((_req, res) => res.writeHead(500, TEXT).end(body));
    const query = secrets.map((value, i) => `p${i}=${value}`).join('&');
    const url = route((_req, res) => res.writeHead(302, { location: `${target}?${query}` }).end());
    const before = scrubSteps.count;
    const error = await failure(url);
    return [scrubSteps.count - before, error];
  }

  it('a body holding the first 8 characters of each: the work 16x for 16x the values, not 256x', async () => {
    const run = async (count: number): Promise<number> => {
      const secrets = values(count);
      // Each value's start, as the review's attack, and one value whole, which goes.
      const body = `${secrets[count - 1]}: ${secrets.map((value) => value.slice(0, 8)).join(' ')}`;
      const [steps, error] = await redirected(secrets, body);
      expect(error.description?.startsWith('REDACTED: v0000xxx v0001xxx')).toBe(true);
      return steps;
    };
    const small = await run(40);
    const large = await run(640);
    expect(small).toBeGreaterThan(0);
    expect(large / small).toBeLessThan(20);
  });

  it('a JSON body of numbers, one of them a digits-only secret: that one REDACTED, the rest kept', async () => {
    const secrets = [...values(200), '4503599627370497'];
    const numbers = Array.from({ length: 2000 }, (_, i) => i);
    const body = JSON.stringify({ description: 'no', data: [...numbers, 4503599627370497] });
    const target = route((_req, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(body));
    const query = secrets.map((value, i) => `p${i}=${value}`).join('&');
    const url = route((_req, res) => res.writeHead(302, { location: `${target}?${query}` }).end());
    const error = await failure(url);
    expect(error.data).toEqual([...numbers, 'REDACTED']);
  });
});

describe('a Basic credential', () => {
  it('an API key sent as the user name, the password empty or short: the key out', async () => {
    const stripe = 'sk_live_51HabcdefGHIJKLmnop';
    const freshdesk = 'Fr3shd3skApiKey0123';
    for (const [key, pair] of [
      [stripe, `${stripe}:`],
      [freshdesk, `${freshdesk}:X`],
    ] as const) {
      const url = route((_req, res) =>
        res.writeHead(401, TEXT).end(`Invalid API Key provided: ${key}; as sent ${pair}`),
      );
      const error = await failure(url, { headers: { authorization: `Basic ${btoa(pair)}` } });
      expect(error.description).toBe('Invalid API Key provided: REDACTED; as sent REDACTED');
      expectNowhere(error, key);
    }
  });

  it('a Latin-1 password built with btoa: out when echoed, whatever encoding the server echoes it in', async () => {
    const password = 'pässwort123';
    const url = route((_req, res) =>
      res
        .writeHead(401, TEXT)
        .end(`bad password ${password} (${encodeURIComponent(password)}, p%E4sswort123) for alice`),
    );
    const error = await failure(url, { headers: { authorization: `Basic ${btoa(`alice:${password}`)}` } });
    expect(error.description).toBe('bad password REDACTED (REDACTED, REDACTED) for alice');
    expectNowhere(error, 'sswort');
  });
});

describe('a sent query value with a literal +', () => {
  // URLSearchParams output for `abc def/ghijklmnop`: a space as `+`, a `/` as `%2F`.
  const sent = 'abc+def%2Fghijklmnop';

  it('echoed percent-encoded whole, in upper or lower case hex: out', async () => {
    const echo = encodeURIComponent(`https://app/cb?token=${sent}`);
    // Every hex digit in lower case, of the escapes of the value as sent (`%252f`) too.
    const lower = echo.replace(/%(25)?[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
    const url = route((_req, res) =>
      res.writeHead(400, TEXT).end(`invalid redirect_uri=${echo} or ${lower}`),
    );
    const error = await failure(`${url}?token=${sent}`);
    expect(error.description).toBe(
      'invalid redirect_uri=https%3A%2F%2Fapp%2Fcb%3Ftoken%3DREDACTED or https%3a%2f%2fapp%2fcb%3ftoken%3dREDACTED',
    );
    expectNowhere(error, 'ghijklmnop');
  });

  it('echoed percent-encoded with its escapes in mixed case: out', async () => {
    const mixed = 'abc%2Fdef%3Dghijklmnop';
    const url = route((_req, res) =>
      res.writeHead(400, TEXT).end('invalid token%3Dabc%252fdef%253Dghijklmnop'),
    );
    const error = await failure(`${url}?token=${mixed}`);
    expect(error.description).toBe('invalid token%3DREDACTED');
    expectNowhere(error, 'ghijklmnop');
  });

  it('echoed so and cut short: its start before the cut out', async () => {
    const echo = encodeURIComponent(`https://app/cb?token=${sent}`);
    const stalled = route((_req, res) => res.writeHead(400, TEXT).write(`invalid ${echo.slice(0, -4)}`));
    const error = await failure(`${stalled}?token=${sent}`, undefined, 300);
    expect(error.description).toBe('invalid https%3A%2F%2Fapp%2Fcb%3Ftoken%3DREDACTED');
  });
});

describe('a read cut inside a UTF-8 character', () => {
  it('the start of the secret before the cut out (wrapFetch, the body stalled mid-character)', async () => {
    const password = 'correcthorseöbatterystaple';
    const url = route((_req, res) => {
      res.writeHead(401, TEXT);
      const body = Buffer.from(`wrong password ${password} for alice`);
      // Up to and with the first of ö's two bytes, then nothing more.
      res.write(body.subarray(0, body.indexOf(Buffer.from('ö')) + 1));
    });
    const basic = Buffer.from(`alice:${password}`).toString('base64');
    const error = await failure(url, { headers: { authorization: `Basic ${basic}` } }, 300);
    expect(error.description).toBe('wrong password REDACTED');
    expectNowhere(error, 'correct');
  });
});

describe('a read cut inside a percent-encoded character', () => {
  it("the start of the secret before the cut out, the cut falling after the character's first byte or inside its second", async () => {
    const token = encodeURIComponent('abcdefghijklmnöpqrstuvwxyz');
    for (const cut of ['%C3%B', '%C3%', '%C3']) {
      const stalled = route((_req, res) =>
        res.writeHead(400, TEXT).write(`invalid token=abcdefghijklmn${cut}`),
      );
      const error = await failure(`${stalled}?token=${token}`, undefined, 300);
      expect(error.description).toBe('invalid token=REDACTED');
    }
  });
});

describe('a read cut after the start of a short cookie or query value', () => {
  /** The description of a 401 to `url` whose body stalls after `text`. */
  async function stalledAfter(text: string, url: string, init?: UndiciInit): Promise<string | undefined> {
    const stalled = route((_req, res) => res.writeHead(401, TEXT).write(text));
    return (await failure(`${stalled}${url}`, init, 300)).description;
  }

  it('keeps up to 7 characters of it, as of a long secret: a word more likely than half of one', async () => {
    const cookie = { headers: { cookie: 'consent=accepted; theme=dark' } };
    expect(await stalledAfter('please acce', '', cookie)).toBe('please acce');
    expect(await stalledAfter('key Zq7xW2p', '?api_key=Zq7xW2pLm9')).toBe('key Zq7xW2p');
    expect(await stalledAfter('key Zq7xW2pL', '?api_key=Zq7xW2pLm9')).toBe('key REDACTED');
  });
});

describe('a decoded % right before or inside a secret (the third review)', () => {
  it('a percent sign escaped before a hex secret does not hide it, in a percent or a JSON escape', async () => {
    const key = { headers: { 'x-api-key': 'deadbeef0123456789' } };
    for (const [body, expected] of [
      ['id%25deadbeef0123456789', 'id%25REDACTED'],
      ['x \\u0025deadbeef0123456789', 'x \\u0025REDACTED'],
    ]) {
      const url = route((_req, res) => res.writeHead(403, TEXT).end(body));
      expect((await failure(url, key)).description).toBe(expected);
    }
  });

  it('a secret ending in an escaped %, echoed with a hex digit after it', async () => {
    const url = route((_req, res) => res.writeHead(403, TEXT).end('x Sup3rSecretToken%25ab'));
    const error = await failure(url, { headers: { 'x-api-key': 'Sup3rSecretToken%25a' } });
    expect(error.description).toBe('x REDACTEDb');
  });

  it('a cut read ending in a hex secret after an escaped %', async () => {
    const stalled = route((_req, res) => res.writeHead(400, TEXT).write('x %25deadbeef0123'));
    const error = await failure(`${stalled}?token=deadbeef0123456789abcdef`, undefined, 300);
    expect(error.description).toBe('x %25REDACTED');
  });

  it('a secret holding a %XX, echoed in another hex case after an escaped %: out, whole or cut', async () => {
    const key = { headers: { 'x-api-key': 'ab%2Fcdefghijklmnop' } };
    for (const body of ['x %25ab%252fcdefghijklmnop', 'x \\u0025ab%252fcdefghijklmnop']) {
      const url = route((_req, res) => res.writeHead(403, TEXT).end(body));
      expect((await failure(url, key)).description).toBe(`${body.slice(0, body.indexOf('ab%'))}REDACTED`);
    }
    const stalled = route((_req, res) => res.writeHead(400, TEXT).write('x %25ab%252fcdef'));
    expect((await failure(stalled, key, 300)).description).toBe('x %25REDACTED');
  });

  it('JSON short escapes in a text body read as their characters: a secret with / " \\ in it found', async () => {
    const secret = 'Ab/Cd"Ef\\Gh1234';
    const url = route((_req, res) =>
      res.writeHead(403, TEXT).end('token Ab\\/Cd\\"Ef\\\\Gh1234 \\u0041b/Cd"Ef\\\\Gh1234'),
    );
    const error = await failure(url, { headers: { 'x-api-key': secret } });
    expect(error.description).toBe('token REDACTED REDACTED');
  });
});
