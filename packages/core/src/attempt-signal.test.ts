import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';

/** A fetch that copies init as a wrapper would, keeps the copy, and answers only when its signal aborts. */
function copying(): FetchLike & { inits: RequestInit[] } {
  const inits: RequestInit[] = [];
  const fetch = (_input: RequestInfo | URL, init?: RequestInit) => {
    const copy = { ...init };
    inits.push(copy);
    return new Promise<Response>((_, reject) => {
      copy.signal?.addEventListener('abort', () => reject(copy.signal?.reason), { once: true });
    });
  };
  return Object.assign(fetch, { inits });
}

describe("the attempt's signal in the init the wrapped fetch gets (issue 17)", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('without a caller signal it is a plain AbortSignal member (no getter to pay for), aborted by the attempt timeout', async () => {
    vi.useFakeTimers();
    const inits: RequestInit[] = [];
    const inner = copying();
    const wrapped = wrapFetch(
      (input, init) => {
        if (init) inits.push(init);
        return inner(input, init);
      },
      { policy: { timeout: { attemptMs: 2_000 }, retry: { maxAttempts: 1 } } },
    );
    const call = wrapped(URL_A).catch((e: unknown) => e);
    const descriptor = Object.getOwnPropertyDescriptor(inits[0], 'signal');
    expect(descriptor?.get).toBeUndefined();
    expect(descriptor?.value).toBeInstanceOf(AbortSignal);
    const copied = inner.inits[0]?.signal;
    expect(copied).toBe(descriptor?.value);
    expect(copied?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(2_200);
    expect(copied?.aborted).toBe(true);
    expect((await call) as Error).toMatchObject({ name: 'BreakwaterTimeoutError' });
  });

  it("with a caller signal, a fetch that copies init gets a signal that follows the caller's abort", async () => {
    const caller = new AbortController();
    const fetch = copying();
    const wrapped = wrapFetch(fetch);
    const call = wrapped(URL_A, { signal: caller.signal }).catch((e: unknown) => e);
    const copied = fetch.inits[0]?.signal;
    expect(copied).toBeInstanceOf(AbortSignal);
    expect(copied).not.toBe(caller.signal);
    const reason = new Error('caller gave up');
    caller.abort(reason);
    expect(copied?.aborted).toBe(true);
    expect(await call).toBe(reason);
  });

  it('with a caller signal, is a getter until the wrapped fetch reads one, then a plain member, which still follows the caller', async () => {
    const inits: RequestInit[] = [];
    let reading = false;
    const wrapped = wrapFetch(async (_input, init) => {
      if (init) inits.push(init);
      if (reading) void init?.signal;
      return new Response('{}');
    });
    const kind = (init: RequestInit | undefined) =>
      Object.getOwnPropertyDescriptor(init, 'signal')?.get ? 'getter' : 'value';
    await wrapped(URL_A, { signal: new AbortController().signal });
    await wrapped(URL_A, { signal: new AbortController().signal });
    reading = true;
    await wrapped(URL_A, { signal: new AbortController().signal });
    const caller = new AbortController();
    const last = wrapped(URL_A, { signal: caller.signal });
    expect(inits.map(kind)).toEqual(['getter', 'getter', 'getter', 'value']);
    const signal = inits[3]?.signal;
    expect(signal).toBeInstanceOf(AbortSignal);
    expect(signal).not.toBe(caller.signal);
    await last;
    caller.abort(new Error('caller gave up'));
    expect(signal?.aborted).toBe(true);
  });

  it('learns per wrapped fetch: one that reads the signal does not make another eager', async () => {
    const reader = wrapFetch(async (_input, init) => {
      void init?.signal;
      return new Response('{}');
    });
    const inits: RequestInit[] = [];
    const other = wrapFetch(async (_input, init) => {
      if (init) inits.push(init);
      return new Response('{}');
    });
    await reader(URL_A, { signal: new AbortController().signal });
    await other(URL_A, { signal: new AbortController().signal });
    expect(Object.getOwnPropertyDescriptor(inits[0], 'signal')?.get).toBeTypeOf('function');
  });
});
