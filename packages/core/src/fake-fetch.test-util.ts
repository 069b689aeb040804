import { vi } from 'vitest';
import type { FetchLike } from './types.ts';

/** One scripted answer: a response description, an error to throw, or a function of the call. */
export type Script =
  | { status: number; headers?: Record<string, string>; body?: string }
  | Error
  | ((call: RecordedCall) => Response | Promise<Response>);

export interface RecordedCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Headers;
  readonly body: string | null;
  readonly signal: AbortSignal | undefined;
  /** Date.now() when the call reached fetch (fake time in tests). */
  readonly at: number;
}

/**
 * A test double of fetch that answers from a script, one entry per call (the last entry repeats), and
 * records every call it receives.
 */
export function fakeFetch(...script: Script[]): FetchLike & { calls: RecordedCall[] } {
  const calls: RecordedCall[] = [];
  const fn = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const body = request.body ? await request.text() : null;
    const call: RecordedCall = {
      url: request.url,
      method: request.method,
      headers: new Headers(request.headers),
      body,
      signal: init?.signal ?? undefined,
      at: Date.now(),
    };
    calls.push(call);
    const entry = script[Math.min(calls.length - 1, script.length - 1)];
    if (entry === undefined) throw new Error('fakeFetch: empty script');
    if (entry instanceof Error) throw entry;
    if (typeof entry === 'function') return entry(call);
    return new Response(entry.body ?? null, { status: entry.status, headers: entry.headers ?? {} });
  };
  return Object.assign(fn, { calls });
}

/** A script entry that never answers until the call's signal aborts, then rejects with its reason. */
export const hang = ({ signal }: RecordedCall): Promise<Response> =>
  new Promise<Response>((_, reject) => {
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });

/** A fetch that never answers until its signal aborts, then rejects with the signal's reason. */
export function hangingFetch(): FetchLike & { calls: RecordedCall[] } {
  return fakeFetch(hang);
}

/** Runs `call` to its end on fake time (vitest's): resolves with its value, or with what it threw. */
export async function settleOnFakeTime<T>(call: Promise<T>): Promise<T | unknown> {
  const caught = call.catch((error: unknown) => error);
  await vi.runAllTimersAsync();
  return caught;
}

/** undici's shape of a connection reset. */
export function connectionReset(): TypeError {
  return new TypeError('fetch failed', {
    cause: Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
  });
}
