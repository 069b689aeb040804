/**
 * The fetch every client builds on in a scenario. It counts the upstream attempts of the current
 * logical call (through AsyncLocalStorage, so it works inside any library), stamps the send time for
 * the server's Retry-After ledger and the attempt number (so the server tells first attempts from
 * retries), and reports when a throttling response reached the client.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ATTEMPT_HEADER, SENT_HEADER, THROTTLE_HEADER } from './fault-server.ts';

/** Per logical call: how many times it reached for the network. */
export interface CallContext {
  attempts: number;
}

export const callContext: AsyncLocalStorage<CallContext> = new AsyncLocalStorage<CallContext>();

/** Where throttle receipts go (the client's own fault server). */
export interface ThrottleSink {
  seen(token: string, at: number): void;
}

/** Wraps `base` to count attempts, stamp send times and report throttle receipts to `sink`. */
export function instrumentFetch(
  base: typeof globalThis.fetch,
  sink: ThrottleSink,
  now: () => number,
): typeof globalThis.fetch {
  return async (input, init) => {
    const context = callContext.getStore();
    if (context) context.attempts++;
    const request = new Request(input, init);
    request.headers.set(SENT_HEADER, String(now()));
    if (context) request.headers.set(ATTEMPT_HEADER, String(context.attempts));
    const response = await base(request);
    const token = response.headers.get(THROTTLE_HEADER);
    if (token !== null) sink.seen(token, now());
    return response;
  };
}
