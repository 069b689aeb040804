/**
 * Forms of an echoed request secret the session-21 scrub left whole (docs/architecture.md, "Still
 * uncovered"): a secret whose first characters an escape right before it takes (`\nS3CR3T…`,
 * `100%ab12…`), a header secret percent-encoded twice (`%2540`), HTML character references (`&#43;`,
 * `&amp;`); and what one error costs: its automata built once, whole read or cut. Real loopback HTTP,
 * undici's fetch, through `wrapFetch` and `HttpError.from`.
 */
import { describe, expect, it } from 'vitest';
import { expectNowhere, failure, routesOnLoopback, type UndiciInit } from './echoed-secrets.test-util.ts';
import { scrubSteps } from './echoed-secrets.ts';
import { HttpError } from './http-error.ts';

const MARK = 'S3CR3T';
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };
const HTML = { 'content-type': 'text/html; charset=utf-8' };

const route = routesOnLoopback();

/** The HttpError of a 401 answered with `body` (read whole) to a request with `init`. */
async function described(body: string, init?: UndiciInit, query = '', type = TEXT): Promise<HttpError> {
  const url = route((_req, res) => res.writeHead(401, type).end(body));
  return failure(`${url}${query}`, init);
}

/** The HttpError of a 401 whose body stalls after `text` (so is read cut short). */
async function stalledAfter(text: string, init?: UndiciInit, query = '', type = TEXT): Promise<HttpError> {
  const url = route((_req, res) => res.writeHead(401, type).write(text));
  return failure(`${url}${query}`, init, 300);
}

describe('a secret whose first characters an escape right before it takes', () => {
  const key = `n${MARK}-api-key-0123456789`;
  const headers = { 'x-api-key': key };

  it("after a JSON short escape (\\n…, the n the secret's), in a text body: out, the backslash kept", async () => {
    const error = await described(`line one\\${key} refused`, { headers });
    expect(error.description).toBe('line one\\REDACTED refused');
    expectNowhere(error, MARK);
  });

  it('a token with a + whose first character is that of \\t: out', async () => {
    const token = `t${MARK}+abc/def==ghijkl`;
    const error = await described(`denied:\\${token}`, { headers: { authorization: `Bearer ${token}` } });
    expect(error.description).toBe('denied:\\REDACTED');
    expectNowhere(error, MARK);
  });

  it('a hex secret after a literal % (100%ab12… read as the byte %ab): out', async () => {
    const hex = 'ab12cd34ef567890abcd';
    const error = await described(`quota 100%${hex} used`, undefined, `?token=${hex}`);
    expect(error.description).toBe('quota 100%REDACTED used');
    expectNowhere(error, 'ab12cd34');
  });

  it('cut short after such an escape: the start of the secret before the cut out', async () => {
    expect((await stalledAfter(`x \\${key.slice(0, 12)}`, { headers })).description).toBe('x \\REDACTED');
    const hex = 'ab12cd34ef567890abcd';
    expect((await stalledAfter(`x 100%${hex.slice(0, 10)}`, undefined, `?token=${hex}`)).description).toBe(
      'x 100%REDACTED',
    );
  });

  it('keeps text that only resembles the secret after an escape', async () => {
    const body = `line\\${key.slice(0, -1)}X`;
    expect((await described(body, { headers })).description).toBe(body);
  });
});

describe('a header secret percent-encoded twice', () => {
  const token = `${MARK}+abc/def==ghij@x`;
  const headers = { authorization: `Bearer ${token}` };
  const twice = encodeURIComponent(encodeURIComponent(token));

  it('whole, through encodeURIComponent twice, in upper, lower or mixed hex case: out', async () => {
    const lower = twice.toLowerCase().replaceAll('s3cr3t', MARK);
    const mixed = twice.replace('%252B', '%252b');
    const error = await described(`next=/login%3Fr%3D${twice} or ${lower} or ${mixed}`, { headers });
    expect(error.description).toBe('next=/login%3Fr%3DREDACTED or REDACTED or REDACTED');
    expectNowhere(error, MARK, 'ghij');
  });

  it('only its @ so (%2540), in a cookie value: out', async () => {
    const sid = `${MARK}@session-value-42`;
    const error = await described(`bad session ${MARK}%2540session-value-42`, {
      headers: { cookie: `sid=${sid}` },
    });
    expect(error.description).toBe('bad session REDACTED');
  });

  it('by an encoder that escapes more than encodeURIComponent (! * ( ) too): out', async () => {
    const key = `${MARK}!abc*def(ghi)@jk`;
    const escapedAll = [...key]
      .map((c) => (/\w/.test(c) ? c : `%25${c.charCodeAt(0).toString(16)}`))
      .join('');
    const error = await described(`log ${escapedAll}`, { headers: { 'x-api-key': key } });
    expect(error.description).toBe('log REDACTED');
  });

  it('cut short inside an escape: the start of the secret before the cut out', async () => {
    const error = await stalledAfter(`next=%2Fcb%253Ft%253D${twice.slice(0, twice.indexOf('%252F') + 3)}`, {
      headers,
    });
    expect(error.description).toBe('next=%2Fcb%253Ft%253DREDACTED');
    expectNowhere(error, MARK);
  });

  it('HTML-escaped then percent-encoded, or JSON-escaped twice (JSON in a JSON string): out', async () => {
    const key = `${MARK}+ab/cd==ef&gh`;
    const html = encodeURIComponent(`${MARK}&#43;ab/cd==ef&amp;gh`);
    const json = JSON.stringify(JSON.stringify(key).slice(1, -1).replace('+', '\\u002B')).slice(1, -1);
    const error = await described(`a ${html} b ${json} c`, { headers: { 'x-api-key': key } });
    expect(error.description).toBe('a REDACTED b REDACTED c');
  });

  it('keeps a near miss encoded twice, and ordinary %25 text', async () => {
    const near = encodeURIComponent(encodeURIComponent(`${MARK}+abc/def==ghiJ@x`));
    const body = `${near} at 100%25 and 50%2525 load`;
    expect((await described(body, { headers })).description).toBe(body);
  });
});

describe('HTML character references in a text body', () => {
  const token = `${MARK}+ab/cd==ef&gh`;
  const headers = { authorization: `Bearer ${token}` };

  it('decimal, hex (x or X, either case, leading zeros) and &amp;: out', async () => {
    const forms = [
      `${MARK}&#43;ab&#x2F;cd&#X3d;&#61;ef&amp;gh`,
      `${MARK}&#0043;ab/cd&#x3D;=ef&#38;gh`,
      `${MARK}&#x2B;ab&#47;cd==ef&#x26;gh`,
    ];
    const error = await described(`<p>Invalid token ${forms.join(' or ')}</p>`, { headers }, '', HTML);
    expect(error.description).toBe('<p>Invalid token REDACTED or REDACTED or REDACTED</p>');
    expectNowhere(error, MARK);
  });

  it('&quot; &lt; &gt; &apos; and &#39;: out', async () => {
    const key = `${MARK}"q<l>g'a'1`;
    const body = `key ${MARK}&quot;q&lt;l&gt;g&apos;a&#39;1 refused`;
    const error = await described(body, { headers: { 'x-api-key': key } }, '', HTML);
    expect(error.description).toBe('key REDACTED refused');
  });

  it('a near miss, a reference to no character, and an ordinary HTML page kept as sent', async () => {
    const page = `<p>100&#37; &amp; more &lt;b&gt; &#0; &#x110000; ${MARK}&#44;ab/cd==ef&amp;gh</p>`;
    expect((await described(page, { headers }, '', HTML)).description).toBe(page);
  });

  it('cut inside a reference (&#4, &#x2, &am): the start of the secret before the cut out', async () => {
    const secret = `${MARK}+abcdef/gh&ij=kl`;
    const auth = { headers: { authorization: `Bearer ${secret}` } };
    const cuts = [`${MARK}&#43;abcdef&#4`, `${MARK}&#43;abcdef&#x2`, `${MARK}&#43;abcdef&#47;gh&am`];
    // HTML-escaped then percent-encoded, cut after the `&#` of a reference.
    cuts.push(`${MARK}%26%2343%3Babcdef%26%23`);
    for (const cut of cuts) {
      expect((await stalledAfter(`token ${cut}`, auth, '', HTML)).description).toBe('token REDACTED');
    }
  });

  it('cut after an ordinary reference: kept', async () => {
    expect((await stalledAfter('Tom &amp', { headers }, '', HTML)).description).toBe('Tom &amp');
  });
});

describe("HTML5's named references of punctuation in a text body", () => {
  it('&plus; &sol; &equals; &percnt; &commat; &colon; in a key: out', async () => {
    const key = `${MARK}+k3y/0123=4567%89@ab:cdef`;
    const body = `<p>key ${MARK}&plus;k3y&sol;0123&equals;4567&percnt;89&commat;ab&colon;cdef refused</p>`;
    const error = await described(body, { headers: { 'x-api-key': key } }, '', HTML);
    expect(error.description).toBe('<p>key REDACTED refused</p>');
    expectNowhere(error, 'k3y');
  });

  it('an opaque query value (a SAS signature, its name nothing secret) echoed with &plus; and &sol;: out', async () => {
    const sig = 'AbCdEf0123456789GhIjKl%2BMnOpQr0123456789StUv%2FwXyZ%3D';
    const echoed = 'AbCdEf0123456789GhIjKl&plus;MnOpQr0123456789StUv&sol;wXyZ&equals;';
    const error = await described(
      `<p>Signature did not match: ${echoed}</p>`,
      undefined,
      `?sv=2021-06-08&sig=${sig}`,
      HTML,
    );
    expect(error.description).toBe('<p>Signature did not match: REDACTED</p>');
  });

  it('an ordinary page with such names kept as sent', async () => {
    const page =
      '<p>1 &plus; 1 &equals; 2&comma; &commat;home&colon; 100&percnt;&nbsp;sure&excl; &copy;&hellip;</p>';
    const key = { headers: { 'x-api-key': `${MARK}+k3y/0123=4567` } };
    expect((await described(page, key, '', HTML)).description).toBe(page);
  });

  it('cut inside such a name (&plu): the start of the secret before the cut out', async () => {
    const key = { headers: { 'x-api-key': `${MARK}abcd+efgh/ijkl` } };
    expect((await stalledAfter(`key ${MARK}abcd&plu`, key, '', HTML)).description).toBe('key REDACTED');
  });
});

describe('the forms in a parsed JSON body', () => {
  it('an HTML reference, a twice-encoded echo and a swallowed first character in its fields: out of every printed form', async () => {
    const token = `n${MARK}+ab/cd==ef&gh`;
    const message = `token ${token.replace('+', '&#43;')}, in ${encodeURIComponent(encodeURIComponent(token))}`;
    const body = JSON.stringify({ error: { code: 'Denied', message, detail: `\\${token}` } });
    const url = route((_req, res) => res.writeHead(401, { 'content-type': 'application/json' }).end(body));
    const error = await failure(url, { headers: { authorization: `Bearer ${token}` } });
    expect(error.serverMessage).toBe('token REDACTED, in REDACTED');
    expect(error.code).toBe('Denied');
    expectNowhere(error, MARK);
  });
});

describe('what one error costs', () => {
  const values = Array.from({ length: 290 }, (_, i) => `v${i}Ab%2fCd%2F${'k'.repeat(20)}%3d%3D${i}`);
  const url = `http://127.0.0.1/x?${values.map((value, i) => `q${i}=${value}`).join('&')}`;
  const requestHeaders = new Headers({ 'x-api-key': `K${'z'.repeat(10_000)}` });
  const body = 'word 100% a%2F b&amp;c '.repeat(2800);

  /** The characters of secrets put in automata for one HttpError of `body`, read whole or `cut`. */
  async function built(cut: boolean): Promise<number> {
    const before = scrubSteps.built;
    await HttpError.from(new Response(`${body} and more`, { status: 500 }), {
      url,
      requestHeaders,
      ...(cut ? { bodyLimitBytes: body.length } : {}),
    });
    return scrubSteps.built - before;
  }

  it('a read cut short builds no automaton more than one read whole: one for every scrub of the error', async () => {
    const whole = await built(false);
    expect(whole).toBeGreaterThan(10_000);
    expect(await built(true)).toBe(whole);
  });

  it('the views added (as sent, decoded twice, HTML references): the work 16x for a 16x text', async () => {
    const token = `${MARK}+ab/cd==ef&gh`;
    const run = async (repeat: number): Promise<number> => {
      const text = `${`\\n%25ab%2525 &#43;&amp; ${MARK}&#43;ab&#x2F;cd%253D%253Def&amp;gh `.repeat(repeat)}end`;
      const before = scrubSteps.count;
      const error = await HttpError.from(new Response(text, { status: 401 }), {
        requestHeaders: new Headers({ authorization: `Bearer ${token}` }),
      });
      expect(error.description?.startsWith('\\n%25ab%2525 &#43;&amp; REDACTED \\n')).toBe(true);
      return scrubSteps.count - before;
    };
    const small = await run(20);
    const large = await run(320);
    expect(large / small).toBeLessThan(17);
  });
});
