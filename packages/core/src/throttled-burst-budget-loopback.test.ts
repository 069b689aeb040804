import { fetch as undiciFetch } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import type { LoopbackServer } from './local-server.test-util.ts';
import { tokenBucketServer } from './token-bucket.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

/** The limiter: a token bucket of `RATE` tokens/s holding at most `BURST`. */
const RATE = 20;
const BURST = 5;
/** An accepted request is answered after this many ms (a 429 at once). */
const SERVE_MS = 20;
/** Callers starting in the same instant. */
const CALLERS = 80;

let limiter: LoopbackServer | undefined;
afterEach(async () => {
  await limiter?.close();
  limiter = undefined;
});

describe('a throttled burst against a real token-bucket limiter, retry budget on (loopback, undici)', () => {
  it(`${CALLERS} callers at once into a ${RATE}/s bucket: none is given up for the budget`, async () => {
    limiter = await tokenBucketServer(RATE, BURST, SERVE_MS, false);
    const url = `${limiter.origin}/orders`;
    const events: BreakwaterEvent[] = [];
    // The defaults but a shorter deadline, for the test's time: the budget is asked (or not) on each
    // call's first 429, long before it.
    const wrapped = wrapFetch(undiciFetch, {
      policy: { timeout: { totalMs: 5_000 } },
      onEvent: (e) => events.push(e),
    });
    const statuses = await Promise.all(
      Array.from({ length: CALLERS }, () =>
        wrapped(url).then(async (r) => {
          await r.text();
          return r.status;
        }),
      ),
    );
    // Every call ends on a response: served, or its last 429 once the gate's pace left it no time.
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses).toContain(200);
    const giveUps = events.flatMap((e) => (e.type === 'give-up' ? [e.reason] : []));
    expect(giveUps).not.toContain('retry-budget-exhausted');
  }, 30_000);
});
