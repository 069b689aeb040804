/**
 * `TelemetryHooks.active`: asked once per call; `false` spares the call the attempt, gate-wait and call-end
 * hooks (which would record nothing: `openTelemetry()` with no SDK), while events still reach the
 * telemetry; absent, every call is observed, as before the member existed.
 */
import { describe, expect, it } from 'vitest';
import type { Telemetry, TelemetryHooks } from './telemetry/hooks.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/items';

/** A telemetry that counts its hooks' calls; `active` as given (absent when undefined). */
function counting(active: (() => boolean) | undefined) {
  const calls: string[] = [];
  const hooks: TelemetryHooks = {
    ...(active ? { active } : {}),
    event: (event) => calls.push(`event ${event.type}`),
    attempt: () => {
      calls.push('attempt');
      return () => calls.push('attempt end');
    },
    gateWait: (_key, pass) => {
      calls.push('gate wait');
      return pass;
    },
    callEnded: () => calls.push('call end'),
  };
  const telemetry: Telemetry = { bind: () => hooks };
  return { telemetry, calls };
}

/** A fetch answering 503 once, then 200. */
function flaky() {
  let n = 0;
  return async () => (n++ === 0 ? new Response('', { status: 503 }) : new Response('ok'));
}

const fast = { retry: { backoff: { initialDelayMs: 1, maxDelayMs: 1 } } } as const;

describe('TelemetryHooks.active', () => {
  it('false: the call takes no attempt or call-end hook, and its events still reach the telemetry', async () => {
    const { telemetry, calls } = counting(() => false);
    const wrapped = wrapFetch(flaky(), { telemetry, policy: fast });
    expect((await wrapped(URL_A)).status).toBe(200);
    expect(calls).toEqual(['event retry']);
  });

  it('absent: every hook is called, as before', async () => {
    const { telemetry, calls } = counting(undefined);
    const wrapped = wrapFetch(flaky(), { telemetry, policy: fast });
    expect((await wrapped(URL_A)).status).toBe(200);
    expect(calls).toEqual(['attempt', 'attempt end', 'event retry', 'attempt', 'attempt end', 'call end']);
  });

  it('is asked at each call: a call that starts once it says true is observed', async () => {
    let on = false;
    const { telemetry, calls } = counting(() => on);
    const wrapped = wrapFetch(async () => new Response('ok'), { telemetry });
    await wrapped(URL_A);
    on = true;
    await wrapped(URL_A);
    expect(calls).toEqual(['attempt', 'attempt end', 'call end']);
  });

  it('throwing: the call goes on, observed, as before the member existed', async () => {
    const { telemetry, calls } = counting(() => {
      throw new Error('broken hook');
    });
    const wrapped = wrapFetch(async () => new Response('ok'), { telemetry });
    expect((await wrapped(URL_A)).status).toBe(200);
    expect(calls).toEqual(['attempt', 'attempt end', 'call end']);
  });
});
