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

/** One call with a caller's signal; the init the wrapped fetch was handed, and the caller's controller. */
async function attemptInit(given: RequestInit = {}) {
  const { fetch, inits } = recording();
  const caller = new AbortController();
  await wrapFetch(fetch)(URL_A, { ...given, signal: caller.signal });
  return { init: inits[0] as RequestInit, caller };
}

describe("the init an attempt hands the wrapped fetch, with a caller's signal", () => {
  it("keeps signal an own enumerable member, the attempt's (not the caller's), and the caller's other members", async () => {
    const { init, caller } = await attemptInit({ redirect: 'error', cache: 'no-store' });
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

  it('keeps the order of the caller’s members, signal where the caller had it (what logs and JSON show)', async () => {
    const { fetch, inits } = recording();
    const caller = new AbortController();
    await wrapFetch(fetch)(URL_A, { method: 'GET', signal: caller.signal, redirect: 'error' });
    expect(Object.keys(inits[0] as RequestInit)).toEqual(['method', 'signal', 'redirect']);
  });

  it('gives the signal to a wrapper that reads init through a Proxy, a prototype or a copy of its descriptors', async () => {
    const { init } = await attemptInit({ redirect: 'error' });
    const reads: (() => unknown)[] = [
      () => new Proxy(init, {}).signal,
      () => (Object.create(init) as RequestInit).signal,
      () => (Object.defineProperties({}, Object.getOwnPropertyDescriptors(init)) as RequestInit).signal,
      () => Reflect.get(init, 'signal', {}),
    ];
    for (const read of reads) expect(read()).toBe(init.signal);
  });
});
