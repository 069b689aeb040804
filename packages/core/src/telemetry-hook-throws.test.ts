/**
 * `TelemetryHooks` is a public interface a user may implement: a hook of theirs that throws must change
 * nothing of the call, as a throwing `callEnded` changes nothing (telemetry-call-end.test.ts).
 * `openTelemetry()`'s own hooks catch inside; these are the wrapped fetch's guards at the call sites.
 */
import { describe, expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { hangingFetch } from './fake-fetch.test-util.ts';
import type { Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';
const BROKEN = new Error('telemetry hook broke');

/** Hooks that record nothing and throw from the ones named. */
function throwing(...broken: ('attempt' | 'attemptEnd' | 'gateWait' | 'event')[]): Telemetry {
  const hooks: TelemetryHooks = {
    event: () => {
      if (broken.includes('event')) throw BROKEN;
    },
    attempt: () => {
      if (broken.includes('attempt')) throw BROKEN;
      return () => {
        if (broken.includes('attemptEnd')) throw BROKEN;
      };
    },
    gateWait: (_key, pass) => {
      if (broken.includes('gateWait')) throw BROKEN;
      return pass;
    },
    callEnded: () => {},
  };
  return { bind: () => hooks };
}

/** One 503 (retried after 1 ms), then 200s: the retry's path as well as the first attempt's. */
function flaky(): typeof fetch {
  let n = 0;
  return async () => new Response(`answer ${n}`, { status: n++ === 0 ? 503 : 200 });
}

const QUICK = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 1 } } } as const;

describe('a telemetry hook that throws changes nothing of the call', () => {
  it.each([['attempt'], ['attemptEnd'], ['event']] as const)(
    '%s: the call retries and answers as without it',
    async (hook) => {
      const events: BreakwaterEvent['type'][] = [];
      const wrapped = wrapFetch(flaky(), {
        telemetry: throwing(hook),
        onEvent: (e) => events.push(e.type),
        policy: QUICK,
      });
      const response = await wrapped(URL_A);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('answer 1');
      expect(events).toEqual(['attempt', 'retry', 'attempt']);
    },
  );

  it('gateWait: a call held at the closed gate is let by when it opens', async () => {
    let n = 0;
    const fetch = async () =>
      new Response('', n++ === 0 ? { status: 429, headers: { 'retry-after-ms': '20' } } : { status: 200 });
    const wrapped = wrapFetch(fetch, { telemetry: throwing('gateWait') });
    expect((await wrapped(URL_A, { method: 'POST' })).status).toBe(429); // closes the gate for 20 ms
    expect((await wrapped(URL_A)).status).toBe(200); // held at the gate: the hook is called, and throws
    expect(n).toBe(2);
  });

  it("the caller's abort still wins over a throwing attempt hook", async () => {
    const wrapped = wrapFetch(hangingFetch(), { telemetry: throwing('attempt', 'attemptEnd') });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const call = wrapped(URL_A, { signal: controller.signal });
    setTimeout(() => controller.abort(reason), 5);
    await expect(call).rejects.toBe(reason);
  });
});
