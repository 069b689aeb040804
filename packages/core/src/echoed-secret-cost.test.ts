/**
 * The scrub of echoed request secrets against what broke its session-20 version (a pattern built from
 * each secret): a secret long enough that the pattern failed to compile, a secret a redirect picks
 * with a body built to almost match it, runs of backslashes, and a cut read that took ordinary words
 * for a secret's start. Every call still ends in an HttpError, no secret gets out, and the work, counted
 * in steps rather than timed, grows linearly. Real loopback HTTP, undici's fetch, through `wrapFetch`
 * and `HttpError.from`.
 */
import { describe, expect, it } from 'vitest';
import { expectNowhere, failure, routesOnLoopback } from './echoed-secrets.test-util.ts';
import { scrubSteps } from './echoed-secrets.ts';
import { HttpError } from './http-error.ts';
import { truncate } from './payload.ts';

const MARK = 'S3CR3T';

const route = routesOnLoopback();

/** A route that redirects to another answering 500 with `body`, the query of the redirect chosen by the server. */
function redirected(query: string, body: string): string {
  const target = route((_req, res) => res.writeHead(500, { 'content-type': 'text/plain' }).end(body));
  return route((_req, res) => res.writeHead(302, { location: `${target}?${query}` }).end());
}

/** Scrub steps `run` took. */
async function steps(run: () => Promise<unknown>): Promise<number> {
  const before = scrubSteps.count;
  await run();
  return scrubSteps.count - before;
}

describe('a long secret', () => {
  it('an 8 KB Cookie header, a body with \\, % and +: an HttpError without the session', async () => {
    const cookies = Array.from({ length: 64 }, (_, i) => `pref${i}=${'v'.repeat(120)}`);
    const sid = `${MARK}-session-${'s'.repeat(40)}`;
    const cookie = [...cookies, `sid=${sid}`].join('; ');
    expect(cookie.length).toBeGreaterThan(8000);
    const url = route((_req, res) =>
      res
        .writeHead(500, { 'content-type': 'text/html' })
        .end(
          `<p>50% of servers down: C:\\logs + ${encodeURIComponent(sid)} and ${sid.replace('-', '\\u002d')}</p>`,
        ),
    );
    const error = await failure(url, { headers: { cookie } });
    expectNowhere(error, MARK);
    expect((error as HttpError).description).toBe(
      '<p>50% of servers down: C:\\logs + REDACTED and REDACTED</p>',
    );
  });

  it('a 12 000-character Bearer token, a JSON body with \\\\ and a challenge with +: an HttpError without it', async () => {
    const token = `${MARK}${'t'.repeat(12_000)}`;
    const url = route((_req, res) =>
      res
        .writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': `Bearer error="invalid_token", error_description="a+b ${token}"`,
        })
        .end(JSON.stringify({ description: `C:\\tmp refused ${token}` })),
    );
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    expectNowhere(error, MARK);
    expect((error as HttpError).description).toBe('C:\\tmp refused REDACTED');
    expect((error as HttpError).challenge?.params.error_description).toBe('a+b REDACTED');
  });
});

describe('a secret the server picks, with a body built to almost match it', () => {
  /** The review's attack at `size`: a run of `A` as the redirect's query value, and near-copies of it. */
  const attack = (size: number): { secret: string; body: string } => {
    const secret = 'A'.repeat(size);
    // 32 copies of the secret but its last character: 64 KiB at size 2048, one byte short of the bound.
    return { secret, body: `${'A'.repeat(size - 1)}\\`.repeat(32).slice(0, -1) };
  };

  it('read whole through wrapFetch: an HttpError, the work 16x for a 16x text and secret', async () => {
    const run = async (size: number): Promise<number> => {
      const { secret, body } = attack(size);
      let error: unknown;
      const count = await steps(async () => {
        error = await failure(redirected(`q=${secret}`, body));
      });
      expect(error).toBeInstanceOf(HttpError);
      // Nothing taken out (the secret is not there), and the description is the body's start as ever.
      expect((error as HttpError).description === truncate(body)).toBe(true);
      return count;
    };
    const small = await run(128);
    const large = await run(2048);
    expect(small).toBeGreaterThan(0);
    expect(large / small).toBeLessThan(17);
    // A few steps per character of text and of secret, per form of the secret.
    expect(large).toBeLessThan(10 * 65_536);
  });

  it('cut by the bound: the start of the secret the read ends with is out, the work 16x for 16x', async () => {
    const run = async (size: number): Promise<number> => {
      const { secret, body } = attack(size);
      let error: HttpError | undefined;
      const count = await steps(async () => {
        const response = new Response(`${body}${secret.slice(0, -1)}`, { status: 500 });
        error = await HttpError.from(response, {
          url: `http://127.0.0.1/err?q=${secret}`,
          bodyLimitBytes: body.length + size / 2,
        });
      });
      // The cut end is past the description's 1024 characters: what it shows is the body's start.
      expect(error?.description === truncate(body)).toBe(true);
      return count;
    };
    const small = await run(128);
    const large = await run(2048);
    expect(large / small).toBeLessThan(17);
  });

  it('a run of 30 backslashes: an HttpError, its JSON-escaped echo out, a near miss kept, linear work', async () => {
    const run = async (backslashes: number): Promise<number> => {
      const secret = `x${'\\'.repeat(backslashes)}y`;
      const query = `q=${encodeURIComponent(secret)}`;
      const echo = `x${'\\'.repeat(2 * backslashes)}`;
      let near: unknown;
      let hit: unknown;
      const count = await steps(async () => {
        near = await failure(redirected(query, `${echo}z`));
        hit = await failure(redirected(query, `seen ${echo}y.`));
      });
      expect((near as HttpError).description).toBe(`${echo}z`);
      expectNowhere(hit, `${'\\'.repeat(backslashes)}y`);
      expect((hit as HttpError).description).toBe('seen REDACTED.');
      return count;
    };
    const small = await run(30);
    const large = await run(480);
    expect(large / small).toBeLessThan(17);
  });
});

describe('a read cut short', () => {
  /** The description of a body of `text` read up to its last byte (so: cut, as by the bound). */
  async function cutAtEnd(text: string, headers: Record<string, string>, url?: string): Promise<string> {
    const response = new Response(`${text}, and more`, { status: 401 });
    const error = await HttpError.from(response, {
      requestHeaders: new Headers(headers),
      bodyLimitBytes: Buffer.byteLength(text),
      ...(url === undefined ? {} : { url }),
    });
    return String(error.description);
  }

  it('keeps the words a whole header or user:password start with: a user name, the scheme, a cookie name', async () => {
    const basic = { authorization: `Basic ${btoa(`alice:${MARK}-correct-horse`)}` };
    expect(await cutAtEnd('no access for user alice', basic)).toBe('no access for user alice');
    const bearer = { authorization: `Bearer ${MARK}-bearer-token-value` };
    expect(await cutAtEnd('expected scheme Bear', bearer)).toBe('expected scheme Bear');
    const cookie = { cookie: `session=${MARK}-session-value-123` };
    expect(await cutAtEnd('please renew your session', cookie)).toBe('please renew your session');
  });

  it('takes out the start of a password, a cookie value, a token, an API key or a query value', async () => {
    const basic = { authorization: `Basic ${btoa(`alice:${MARK}-correct-horse`)}` };
    expect(await cutAtEnd(`alice tried ${MARK}-corr`, basic)).toBe('alice tried REDACTED');
    const cookie = { cookie: `theme=dark; sid=${MARK}-session-value-123` };
    expect(await cutAtEnd(`sid ${MARK}-sess`, cookie)).toBe('sid REDACTED');
    const key = { 'x-api-key': `${MARK}-api-key-0123456789` };
    expect(await cutAtEnd(`key ${MARK}-api`, key)).toBe('key REDACTED');
    // In escapes, one of them cut (`\u00` of the next character).
    const bearer = { authorization: `Bearer ${MARK}/bearer-token-value` };
    expect(await cutAtEnd(`token ${MARK}\\u002fbear\\u00`, bearer)).toBe('token REDACTED');
    const url = `http://127.0.0.1/x?code=${MARK}0123456789abcdef`;
    expect(await cutAtEnd(`code ${MARK}%30123`, {}, url)).toBe('code REDACTED');
  });

  it('keeps fewer than 8 characters of a long secret, and of a short one less than half', async () => {
    const bearer = { authorization: `Bearer ${MARK}-bearer-token-value` };
    expect(await cutAtEnd(`token ${MARK}-`, bearer)).toBe(`token ${MARK}-`);
    expect(await cutAtEnd(`token ${MARK}-b`, bearer)).toBe('token REDACTED');
    // A password of 10: cut after 4 characters, 5 stay hidden.
    const basic = { authorization: `Basic ${btoa('bob:Zq7!xW2#pL')}` };
    expect(await cutAtEnd('pw Zq7', basic)).toBe('pw Zq7');
    expect(await cutAtEnd('pw Zq7!x', basic)).toBe('pw REDACTED');
  });
});

describe('a failing scrub', () => {
  it('fails closed: the body is REDACTED whole, and neither an exception nor the secret gets out', async () => {
    const requestHeaders = {
      get: () => null,
      has: () => false,
      [Symbol.iterator]: (): Iterator<[string, string]> => {
        throw new Error(`headers broke holding ${MARK}-broken`);
      },
    };
    const error = await HttpError.from(
      new Response(`refused ${MARK}-broken`, { status: 401, statusText: `Bad ${MARK}-broken` }),
      { requestHeaders },
    );
    expect(error.description).toBe('REDACTED');
    expect(error.statusText).toBe('REDACTED');
    expectNowhere(error, MARK);
  });
});

describe('other forms', () => {
  it('a non-ASCII password echoed as UTF-8 or Latin-1 percent escapes, or a \\u escape', async () => {
    const password = `${MARK}-pässwörd`;
    const url = route((_req, res) => {
      const latin1 = `${MARK}-p%E4ssw%F6rd`;
      const text = `${encodeURIComponent(password)} ${latin1} ${MARK}-p\\u00e4ssw\\u00F6rd`;
      res.writeHead(401, { 'content-type': 'text/plain' }).end(text);
    });
    const basic = Buffer.from(`carol:${password}`).toString('base64');
    const error = await failure(url, { headers: { authorization: `Basic ${basic}` } });
    expectNowhere(error, MARK);
    expect((error as HttpError).description).toBe('REDACTED REDACTED REDACTED');
  });

  it('a key with a character outside the BMP, echoed as a surrogate pair of \\u escapes or 4 bytes of UTF-8', async () => {
    const key = `${MARK}-key-\u{1F600}-end`;
    const url = route((_req, res) =>
      res
        .writeHead(403, { 'content-type': 'text/plain' })
        .end(`${MARK}-key-\\uD83D\\ude00-end / ${encodeURIComponent(key)} / ${MARK}-key-\\uD83D-end`),
    );
    const error = await failure(url, { headers: { 'x-api-key': encodeURIComponent(key) } });
    // The lone high surrogate is no form of the key: kept.
    expect((error as HttpError).description).toBe(`REDACTED / REDACTED / ${MARK}-key-\\uD83D-end`);
  });

  it('bytes that start no UTF-8 character (a lone lead, an overlong form) are one Latin-1 character each', async () => {
    const key = `${MARK}-\u00e9-end`;
    // The key in UTF-8 and in Latin-1 after bytes of %FF; an overlong é (three bytes) is no é.
    const body = `${'%FF'.repeat(100)} ${MARK}-%C3%A9-end ${MARK}-%E9-end ${MARK}-%E0%83%A9-end`;
    const url = route((_req, res) => res.writeHead(403, { 'content-type': 'text/plain' }).end(body));
    const error = await failure(url, { headers: { 'x-api-key': encodeURIComponent(key) } });
    expect((error as HttpError).description).toBe(
      `${'%FF'.repeat(100)} REDACTED REDACTED ${MARK}-%E0%83%A9-end`,
    );
  });

  it('near misses in escapes kept as sent: one character off, or the secret with a character missing', async () => {
    const token = `${MARK}+abc/def==ghij`;
    const near = [
      encodeURIComponent(`${MARK}+abc/dEf==ghij`),
      `${MARK}\\u002babc\\/def=ghij`,
      `${MARK}%2Babc%2Fdef%3D%3Dghi`,
    ].join(' ');
    const url = route((_req, res) => res.writeHead(401, { 'content-type': 'text/plain' }).end(near));
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    expect((error as HttpError).description).toBe(near);
  });

  it('a form-encoded query value echoed with + for its spaces, or %20', async () => {
    const url = route((_req, res) =>
      res
        .writeHead(400, { 'content-type': 'text/plain' })
        .end(`state ${MARK}+one+two+three, ${MARK}%20one%20two%20three`),
    );
    const error = await failure(`${url}?state=${MARK}+one+two+three`);
    expect((error as HttpError).description).toBe('state REDACTED, REDACTED');
  });
});
