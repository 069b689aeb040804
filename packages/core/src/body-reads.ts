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

/** Cancels the body of a Response nobody will read; a body already read or locked is left alone. */
export function discardBody(response: Response | undefined): void {
  const body = response?.body;
  if (body && !body.locked) body.cancel().catch(() => {});
}
