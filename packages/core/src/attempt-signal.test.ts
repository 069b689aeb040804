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
});
