import { describe, expect, it } from 'vitest';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';

/** Records the init of every attempt and answers 200 without reading it. */
function recording(): {
  fetch: (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
  inits: RequestInit[];
} {
  const inits: RequestInit[] = [];
  return {
    inits,
    fetch: (_input, init) => {
      if (init) inits.push(init);
      return Promise.resolve(new Response('{}'));
    },
  };
}

describe("the init of an attempt with a caller's signal (issue 17, round 3)", () => {
  it('shares one signal getter across calls: no closure, accessor pair and hidden class made per call', async () => {
    const { fetch, inits } = recording();
    const wrapped = wrapFetch(fetch);
    const caller = new AbortController();
    await wrapped(URL_A, { signal: caller.signal, method: 'GET' });
    await wrapped(URL_A, { signal: caller.signal, method: 'GET' });
    const [first, second] = inits.map((init) => Object.getOwnPropertyDescriptor(init, 'signal'));
    expect(first?.get).toBeTypeOf('function');
    expect(second?.get).toBe(first?.get);
  });

  it("keeps signal an own enumerable member, the attempt's (not the caller's), and the caller's other members", async () => {
    const { fetch, inits } = recording();
    const wrapped = wrapFetch(fetch);
    const caller = new AbortController();
    await wrapped(URL_A, { signal: caller.signal, redirect: 'error', cache: 'no-store' });
    const init = inits[0] as RequestInit;
    expect(Object.keys(init).sort()).toEqual(['cache', 'redirect', 'signal']);
    expect(Object.getOwnPropertySymbols(init)).toEqual([]);
    // A wrapper that spreads init gets the signal as a value.
    const copy = { ...init };
    expect(copy.signal).toBeInstanceOf(AbortSignal);
    expect(copy.signal).not.toBe(caller.signal);
    expect(copy.signal).toBe(init.signal);
    expect(copy).toMatchObject({ redirect: 'error', cache: 'no-store' });
    const reason = new Error('caller gave up');
    caller.abort(reason);
    expect(init.signal?.aborted).toBe(true);
    expect(init.signal?.reason).toBe(reason);
  });
});
