import { after } from './sleep.ts';

/**
 * Runs one of breakwater's own body reads under a signal that aborts at `until` (epoch ms; never, when
 * undefined) or when the caller aborts, whichever is first, so that no such read outlives the call.
 */
export async function readWithin<T>(
  until: number | undefined,
  callerSignal: AbortSignal | undefined,
  read: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  const cancelTimer = until === undefined ? undefined : after(Math.max(0, until - Date.now()), stop);
  if (callerSignal?.aborted) stop();
  callerSignal?.addEventListener('abort', stop, { once: true });
  try {
    return await read(controller.signal);
  } finally {
    cancelTimer?.();
    callerSignal?.removeEventListener('abort', stop);
  }
}

/**
 * Cancels the body of a Response nobody will read; a body already read or locked is left alone. A
 * Node Readable (node-fetch's body, which has no `cancel`) is destroyed instead.
 */
export function discardBody(response: Response | undefined): void {
  const body: unknown = response?.body;
  if (isWebStream(body)) {
    if (!body.locked) body.cancel().catch(() => {});
  } else (body as { destroy?: () => void } | null | undefined)?.destroy?.();
}

/**
 * A body as a web stream. node-fetch's Response has a Node Readable body, with no `getReader`: it is
 * read through `ReadableStream.from`, whose cancel destroys it.
 */
export function webStream(body: unknown): ReadableStream<Uint8Array> {
  return isWebStream(body)
    ? body
    : (ReadableStream as unknown as StreamFrom).from(body as AsyncIterable<Uint8Array>);
}

/** `ReadableStream.from` (Node 20.6, Deno, Bun), which the DOM library of TypeScript 5.9 lacks; never reached in browsers, whose bodies are web streams. */
interface StreamFrom {
  from(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array>;
}

/** By shape rather than `instanceof`: a polyfill's or another realm's stream is one too. */
function isWebStream(body: unknown): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream | null | undefined)?.getReader === 'function';
}
