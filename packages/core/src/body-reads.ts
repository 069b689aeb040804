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
 * Most bytes of a body read ahead by {@link readAhead} (256 KiB: error pages are far smaller, and a
 * storm of retried calls must not buffer megabytes each): past it, the rest stays with the connection
 * until the body is discarded.
 */
export const READ_AHEAD_BYTES = 262_144;

/** The clone's reader of each Response being read ahead: discarding the Response stops it too. */
const readingAhead = new WeakMap<Response, ReadableStreamDefaultReader<Uint8Array>>();

/**
 * Frees the connection under a Response the call may still hand back (its retry is waited for): the
 * body is read to its end through a clone, and the tee keeps what the clone read for the Response's
 * own branch. undici gives a socket back to its pool only once a body is read or cancelled, and a
 * body larger than its stream buffer (about 64 KiB) held it through the wait and the retry, which then
 * waited for it (with a pool of one, until its attempt timeout). The Response stays whole and readable.
 * A body longer than {@link READ_AHEAD_BYTES} is read that far and left, still holding its socket
 * ({@link discardBody} cancels it), and `capped` is then told.
 */
export function readAhead(response: Response | undefined, capped?: () => void): void {
  // A web stream only: node-fetch's clone pipes its Node stream into two, and an unread clone would
  // stall the original.
  const body: unknown = response?.body;
  if (!response || !isWebStream(body) || response.bodyUsed || body.locked || readingAhead.has(response))
    return;
  let reader: ReadableStreamDefaultReader<Uint8Array>;
  try {
    reader = (response.clone().body as ReadableStream<Uint8Array>).getReader();
  } catch {
    // A Response-like object of a fetch that is not one (no clone, no stream): left as it was.
    return;
  }
  readingAhead.set(response, reader);
  // Whole only if read to its end by this read: a read stopped (the body discarded) ends `done` too.
  void drain(reader, capped).then(
    (whole) => whole && readingAhead.get(response) === reader && readWhole.add(response),
  );
}

/** Responses read ahead to their end: their bodies hold no connection any more. */
const readWhole = new WeakSet<Response>();

/**
 * Whether `response`'s body is in memory whole (read ahead to its end) or it has none: a call can
 * still end on it after a later attempt, at no cost to the connection pool.
 */
export function heldWhole(response: Response | undefined): boolean {
  return response !== undefined && (response.body === null || readWhole.has(response));
}

/**
 * A later attempt supersedes `response`: its body is discarded, unless it is in memory whole, when it
 * is kept, for the call may still end on it (see {@link heldWhole}). A body still being read (it may
 * stall) or past the read-ahead's cap holds its connection, and goes.
 */
export function supersede(response: Response): void {
  if (!heldWhole(response)) discardBody(response);
}

/** Reads `reader` to its end or to the cap, past which `capped` is told: the connection is still held. */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, capped?: () => void): Promise<boolean> {
  let read = 0;
  try {
    while (read <= READ_AHEAD_BYTES) {
      const { done, value } = await reader.read();
      if (done) return true;
      read += value.byteLength;
    }
  } catch {
    // The body failed: the Response's branch fails as fetch's would, for whoever reads it.
    return false;
  }
  // The clone's branch would otherwise buffer whatever the caller reads of a long body.
  reader.cancel().catch(() => {});
  capped?.();
  return false;
}

/**
 * The call hands `response` back after all: its read-ahead (if any) stops, and what it read stays in
 * the body. Left running, the clone's branch kept the tee from passing the caller's cancel on to the
 * connection (a tee cancels its source once both branches are), and the caller's `body.cancel()`
 * waited for it, forever with a body that stalls.
 */
export function stopReadAhead(response: Response | undefined): void {
  if (!response) return;
  readingAhead
    .get(response)
    ?.cancel()
    .catch(() => {});
  readingAhead.delete(response);
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
  // The tee lets the connection go only once both of its branches are cancelled.
  stopReadAhead(response);
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
