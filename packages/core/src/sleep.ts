import { MAX_TIMER_MS } from '@breakwater/policies';

/**
 * Runs `fn` once `ms` have passed; returns a function that cancels it. A delay longer than
 * {@link MAX_TIMER_MS} is made of several timers, each within the limit, so it lasts as long as asked.
 */
export function after(ms: number, fn: () => void): () => void {
  let left = ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (): void => {
    const step = Math.min(left, MAX_TIMER_MS);
    timer = setTimeout(() => {
      left -= step;
      if (left > 0) arm();
      else fn();
    }, step);
  };
  arm();
  return () => clearTimeout(timer);
}

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. cockatiel's retry waits do not
 * listen to an AbortSignal, which is why breakwater keeps its own: a caller's abort must end a backoff
 * wait at once, and the timer must not outlive the call. Waits past the timer limit are kept whole
 * (see {@link after}).
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      cancel();
      reject(signal.reason);
    };
    const cancel = after(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
