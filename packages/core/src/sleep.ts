/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. cockatiel's retry waits do not
 * listen to an AbortSignal, which is why breakwater keeps its own: a caller's abort must end a backoff
 * wait at once, and the timer must not outlive the call.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
