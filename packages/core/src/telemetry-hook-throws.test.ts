/**
 * `TelemetryHooks` is a public interface a user may implement: a hook of theirs that throws must change
 * nothing of the call, as a throwing `callEnded` changes nothing (telemetry-call-end.test.ts).
 * `openTelemetry()`'s own hooks catch inside; these are the wrapped fetch's guards at the call sites.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { hangingFetch } from './fake-fetch.test-util.ts';
import type { Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
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

/**
 * The hook returns a promise that should settle as the pass does; one of a user's may not. The call waits
 * on the gate, not on the hook: whatever the hook's promise does changes nothing of the call.
 */
describe('a gateWait hook whose promise rejects or never settles changes nothing of the call (fake time)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  type Hook = TelemetryHooks['gateWait'];

  function watching(gateWait: Hook): Telemetry {
    const hooks: TelemetryHooks = { event: () => {}, attempt: () => () => {}, gateWait, callEnded: () => {} };
    return { bind: () => hooks };
  }

  /** The first call (a POST: not retried) is refused 429 with a 1 s delay, closing the gate; then 200s. */
  function closesOnce(): typeof fetch & { sent: () => number } {
    let n = 0;
    const fetch = async () =>
      new Response('', n++ === 0 ? { status: 429, headers: { 'retry-after-ms': '1000' } } : { status: 200 });
    return Object.assign(fetch, { sent: () => n });
  }

  /** Rejections no one handled while `run` ran (and one real turn after, when Node reports them). */
  async function unhandledDuring(run: () => Promise<void>): Promise<unknown[]> {
    const unhandled: unknown[] = [];
    const record = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', record);
    try {
      await run();
      vi.useRealTimers();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('unhandledRejection', record);
    }
    return unhandled;
  }

  const hooks: [string, Hook][] = [
    ['rejects at once with its own error', () => Promise.reject(BROKEN)],
    [
      'rejects with its own error once the gate lets the call by',
      (_key, pass) =>
        pass.then(() => {
          throw BROKEN;
        }),
    ],
    ['never settles', () => new Promise(() => {})],
  ];

  it.each(hooks)('%s: the held call goes when the gate opens, and answers', async (_name, hook) => {
    const fetch = closesOnce();
    const wrapped = wrapFetch(fetch, { telemetry: watching(hook) });
    const unhandled = await unhandledDuring(async () => {
      expect((await wrapped(URL_A, { method: 'POST' })).status).toBe(429);
      const call = wrapped(URL_A).then(
        (r) => r.status,
        (e: unknown) => e,
      );
      await vi.advanceTimersByTimeAsync(1_000 + CLOCK_GRAIN_MS - 1);
      expect(fetch.sent()).toBe(1); // held at the gate
      await vi.advanceTimersByTimeAsync(1);
      expect(await Promise.race([call, 'still waiting'])).toBe(200);
      expect(fetch.sent()).toBe(2);
    });
    expect(unhandled).toEqual([]);
  });

  // A hook rejecting only once the pass settles met the abort's own check already.
  const early = hooks.filter(([name]) => !name.includes('once the gate'));
  it.each(early)("%s: the caller's abort while held still wins", async (_name, hook) => {
    const fetch = closesOnce();
    const wrapped = wrapFetch(fetch, { telemetry: watching(hook) });
    const reason = new Error('caller gave up');
    const unhandled = await unhandledDuring(async () => {
      expect((await wrapped(URL_A, { method: 'POST' })).status).toBe(429);
      const controller = new AbortController();
      const call = wrapped(URL_A, { signal: controller.signal }).then(
        (r) => r.status,
        (e: unknown) => e,
      );
      await vi.advanceTimersByTimeAsync(500);
      controller.abort(reason);
      await vi.advanceTimersByTimeAsync(0);
      expect(await Promise.race([call, 'still waiting'])).toBe(reason);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(fetch.sent()).toBe(1); // the aborted call sent nothing
    });
    expect(unhandled).toEqual([]);
  });
});
