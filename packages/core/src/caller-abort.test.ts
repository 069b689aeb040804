import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { followCaller, followedCount } from './caller-abort.ts';
import { listenOnLoopback } from './local-server.test-util.ts';
import type { FetchLike } from './types.ts';
import { wrapFetch } from './wrap-fetch.ts';

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;

/** A WeakRef keeps its target until the end of the job that made or read it: collect after it. */
async function collect(): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    gc();
  }
}

/** An in-memory fetch that reads the attempt's signal, as every real fetch does. */
const readingSignal: FetchLike = async (_input, init) => {
  void init?.signal;
  return new Response('ok');
};

describe("the caller's abort, carried to the attempts (issue 17)", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it('without WeakRef (Cloudflare Workers without enable_weak_ref), the attempt still follows the caller', async () => {
    vi.stubGlobal('WeakRef', undefined);
    const caller = new AbortController();
    const signals: AbortSignal[] = [];
    const wrapped = wrapFetch((_input, init) => {
      if (init?.signal) signals.push(init.signal);
      return new Promise<Response>((_, reject) => {
        init?.signal?.addEventListener('abort', () => reject(init.signal?.reason), { once: true });
      });
    });
    const call = wrapped('https://api.test/v1/items', { signal: caller.signal }).catch((e: unknown) => e);
    const reason = new Error('caller gave up');
    caller.abort(reason);
    expect(signals[0]?.aborted).toBe(true);
    expect(await call).toBe(reason);
  });

  it('reaches every attempt followed under the signal, with its reason, and then forgets the signal', () => {
    const caller = new AbortController();
    const attempts = [new AbortController(), new AbortController()];
    for (const attempt of attempts) followCaller(caller.signal, attempt);
    expect(followedCount(caller.signal)).toBe(2);
    const reason = new Error('caller gave up');
    caller.abort(reason);
    expect(attempts.map((a) => a.signal.reason)).toEqual([reason, reason]);
    expect(followedCount(caller.signal)).toBe(0);
  });

  it('puts one listener on a long-lived signal, taken off once the attempts made under it are collected', async () => {
    const caller = new AbortController();
    const wrapped = wrapFetch(readingSignal);
    const calls = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) await (await wrapped('https://api.test/v1/items', caller)).text();
    };
    await calls(500);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    await collect();
    expect(followedCount(caller.signal)).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await calls(1);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
  });

  it("leaves a request's own composite signal collectable after its call (a listener would pin it)", async () => {
    const shutdown = new AbortController();
    const wrapped = wrapFetch(readingSignal);
    const signals: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 200; i++) {
      // What a server does per request: stop at shutdown or when the request's own client goes.
      const signal = AbortSignal.any([shutdown.signal, new AbortController().signal]);
      signals.push(new WeakRef(signal));
      await (await wrapped('https://api.test/v1/items', { signal })).text();
    }
    await collect();
    expect(signals.filter((ref) => ref.deref() !== undefined).length).toBeLessThan(20);
  });

  it('leaves the signals of hedged groups collectable under a long-lived caller signal', async () => {
    const made: WeakRef<AbortSignal>[] = [];
    const any = AbortSignal.any.bind(AbortSignal);
    const spy = vi.spyOn(AbortSignal, 'any').mockImplementation((signals) => {
      const signal = any(signals);
      made.push(new WeakRef(signal));
      return signal;
    });
    try {
      const caller = new AbortController();
      const wrapped = wrapFetch(readingSignal, { policy: { hedging: { enabled: true, delayMs: 1_000 } } });
      for (let i = 0; i < 200; i++) await (await wrapped('https://api.test/v1/items', caller)).text();
    } finally {
      spy.mockRestore();
    }
    expect(made.length).toBeGreaterThanOrEqual(200);
    await collect();
    expect(made.filter((ref) => ref.deref() !== undefined).length).toBeLessThan(20);
  });

  it('stops the body of a Response the caller holds, over real undici', async () => {
    await expect(abortWhileReading(takeResponse, false)).resolves.toBe('rejected with the reason');
  });

  it('stops the body of a Response the caller still holds after garbage collections', async () => {
    await expect(abortWhileReading(takeResponse, true)).resolves.toBe('rejected with the reason');
  });

  it('stops a body the caller holds without its Response, after garbage collections', async () => {
    await expect(abortWhileReading(takeBodyOnly, true)).resolves.toBe('rejected with the reason');
  });
});

type Take = (response: ReturnType<typeof undiciFetch>) => Promise<ReadableStreamDefaultReader<Uint8Array>>;

/** The caller keeps the Response and reads its body. */
const takeResponse: Take = async (answer) => {
  const response = await answer;
  return (response.body as ReadableStream<Uint8Array>).getReader();
};

/** `const { body } = await fetch(...)`: the Response itself is dropped. */
const takeBodyOnly: Take = async (answer) => ((await answer).body as ReadableStream<Uint8Array>).getReader();

/**
 * Through real undici on loopback, a body whose rest never comes: the caller reads its first chunk,
 * (after garbage collections, with `collecting`) aborts during the next read, and says how that read ended.
 */
async function abortWhileReading(take: Take, collecting: boolean): Promise<string> {
  const server = await listenOnLoopback((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.write('first chunk');
  });
  try {
    const wrapped = wrapFetch(undiciFetch);
    const caller = new AbortController();
    const reader = await take(wrapped(`${server.origin}/stream`, { signal: caller.signal }));
    await reader.read();
    if (collecting) await collect();
    const reason = new Error('caller gave up');
    const pending = reader.read();
    caller.abort(reason);
    return await Promise.race([
      pending.then(
        () => 'read on',
        (error: unknown) => (error === reason ? 'rejected with the reason' : `rejected: ${String(error)}`),
      ),
      new Promise<string>((resolve) => setTimeout(() => resolve('still reading after 2 s'), 2_000)),
    ]);
  } finally {
    await server.close();
  }
}

describe("the caller's abort, kept with the body handed back", () => {
  it('adds nothing a caller can list to the body', async () => {
    const bodies: ReadableStream[] = [];
    const wrapped = wrapFetch(async (_input, init) => {
      void init?.signal;
      const response = new Response('ok');
      bodies.push(response.body as ReadableStream);
      return response;
    });
    const plain = new Response('ok').body as ReadableStream;
    const response = await wrapped('https://api.test/v1/items', { signal: new AbortController().signal });
    expect(response.body).toBe(bodies[0]);
    expect(Reflect.ownKeys(bodies[0] as object)).toEqual(Reflect.ownKeys(plain));
    expect(await response.text()).toBe('ok');
  });

  it('takes a body a test double hands out again, and its abort reaches the latest attempt', async () => {
    const body = new ReadableStream<Uint8Array>();
    const signals: AbortSignal[] = [];
    const wrapped = wrapFetch(async (_input, init) => {
      if (init?.signal) signals.push(init.signal);
      return { ok: true, status: 200, statusText: 'OK', headers: new Headers(), body } as unknown as Response;
    });
    const caller = new AbortController();
    await wrapped('https://api.test/v1/items', { signal: caller.signal });
    await wrapped('https://api.test/v1/items', { signal: caller.signal });
    caller.abort(new Error('caller gave up'));
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
  });
});

describe("the caller's abort, with a Response-like whose body is not a stream", () => {
  it('hands the answer back as it came', async () => {
    const answer = { ok: true, status: 200, statusText: 'OK', headers: new Headers(), body: 'text' };
    const wrapped = wrapFetch(async (_input, init) => {
      void init?.signal;
      return answer as unknown as Response;
    });
    expect(await wrapped('https://api.test/v1/items', { signal: new AbortController().signal })).toBe(answer);
  });
});
