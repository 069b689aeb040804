/**
 * The scrub of echoed request secrets against the review of its session-22 merge (raw view, second
 * decoding, HTML references): the cut strip repeated on decoded views over characters that were
 * literal below (views made of nothing, text after a secret's start taken), a code unit written in
 * more characters than a cut read's tail allowed for, and work `scrubSteps` did not count.
 */
import { describe, expect, it } from 'vitest';
import { failure, routesOnLoopback } from './echoed-secrets.test-util.ts';
import { scrubSteps, secretScrubber } from './echoed-secrets.ts';

const MARK = 'S3CR3T';
const TEXT = { 'content-type': 'text/plain; charset=utf-8' };

const route = routesOnLoopback();

/** The scrub of a request sending `key` as its API key. */
function scrubOf(key: string): (text: string, cut: boolean) => unknown {
  const scrub = secretScrubber(new Headers({ 'x-api-key': key }), []);
  if (scrub === undefined) throw new Error('no scrub for a key');
  return (text, cut) => scrub(text, cut);
}

/** The steps `scrubSteps` counted for `scrub` of `text`. */
function steps(scrub: (text: string, cut: boolean) => unknown, text: string, cut: boolean): number {
  const before = scrubSteps.count;
  scrub(text, cut);
  return scrubSteps.count - before;
}

/** A key long enough that a cut read's tail is the whole of a 64 KiB text. */
const LONG_KEY = `K${'z'.repeat(10_000)}`;

describe('the cut strip of a decoded view', () => {
  it('takes no literal text after the start of a secret: a cut body ending S3CR3T-k3%a%a% kept', async () => {
    const headers = { 'x-api-key': `${MARK}-k3y-0123456789` };
    const body = `see ${MARK}-k3%a%a%`;
    const url = route((_req, res) => res.writeHead(401, TEXT).write(body));
    expect((await failure(url, { headers }, 300)).description).toBe(body);
  });

  it('still takes an escape cut on a decoded view (%25 decoded, &amp; decoded) with the secret before it', () => {
    const scrub = scrubOf(`${MARK}-k3y/0123456789`);
    expect(scrub(`see ${MARK}-k3y%252`, true)).toBe('see REDACTED');
    expect(scrub(`see ${MARK}-k3y&amp;#4`, true)).toBe('see REDACTED');
    expect(scrub(`see ${MARK}-k3y%25`, true)).toBe('see REDACTED');
    expect(scrub(`see ${MARK}-k3y%a%a%25`, true)).toBe(`see ${MARK}-k3y%a%a%25`);
  });

  it('a cut body with no escape (64 KiB of a%) costs what it costs read whole, not three views', () => {
    const scrub = scrubOf(LONG_KEY);
    const text = 'a%'.repeat(32_768);
    expect(scrub(text, true)).toBe(text);
    expect(steps(scrub, text, true)).toBeLessThanOrEqual(steps(scrub, text, false) + 2 * text.length);
  });
});

describe('a cut read whose characters are each written in 100', () => {
  it('HTML-escaped twice with 7-digit references: the start of the secret before the cut out', () => {
    const key = `${MARK}abcdefghij`;
    const reference = (c: string): string => `&#${String(c.codePointAt(0)).padStart(7, '0')};`;
    const twice = [...key.slice(0, 12)].map((c) => [...reference(c)].map(reference).join('')).join('');
    expect(twice.length).toBe(1_200);
    expect(scrubOf(key)(`x ${twice}`, true)).toBe('x REDACTED');
  });
});

describe('what scrubSteps counts', () => {
  it("a cut read's strip of its end: a pass over the text like the others", () => {
    const scrub = scrubOf(LONG_KEY);
    const text = 'word and more '.repeat(4_681);
    expect(steps(scrub, text, true)).toBeGreaterThanOrEqual(steps(scrub, text, false) + text.length);
  });
});
