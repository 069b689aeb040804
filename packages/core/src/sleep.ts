/**
 * The longest delay a timer holds: 2^31-1 ms (about 24.8 days). Node and browsers run a timer set
 * for longer after 1 ms, so no delay may reach `setTimeout` beyond this.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Waits `ms`, or rejects with the signal's reason as soon as it aborts. cockatiel's retry waits do not
 * listen to an AbortSignal, which is why breakwater keeps its own: a caller's abort must end a backoff
 * wait at once, and the timer must not outlive the call. A wait longer than {@link MAX_TIMER_MS} is
 * made of several timers, each within the limit, so it lasts as long as asked.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.reject(signal.reason);
  if (!(ms > 0)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    let left = ms;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const arm = (): void => {
      const step = Math.min(left, MAX_TIMER_MS);
      timer = setTimeout(() => {
        left -= step;
        if (left > 0) return arm();
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, step);
    };
    arm();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
