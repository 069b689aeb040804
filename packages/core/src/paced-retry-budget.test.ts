import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { fleetStore } from './store.test-util.ts';
import type { BreakwaterStore, FleetCounts } from './store.ts';
import type { WrapFetchOptions } from './wrap-fetch.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/orders';
const CALLERS = 80;
/** The default budget for `CALLERS` first attempts: minRetries + ratio x calls. */
const BUDGET = 10 + 0.2 * CALLERS;

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A limiter that refuses a burst: 429 without a delay header to the first `refused` requests, then 200. */
function burstLimiter(refused: number): ReturnType<typeof fakeFetch> {
  return fakeFetch(...Array.from({ length: refused }, () => ({ status: 429 })), { status: 200 });
}

interface Burst {
  readonly statuses: number[];
  readonly budgetGiveUps: number;
  readonly budgetLeft: number | null | undefined;
  readonly requests: number;
}

/** `CALLERS` calls at once through a wrapped `fetch`, run to their end. */
async function burst(
  fetch: ReturnType<typeof fakeFetch>,
  options: Omit<WrapFetchOptions, 'onEvent'> = {},
): Promise<Burst> {
  const events: BreakwaterEvent[] = [];
  const wrapped = wrapFetch(fetch, { random: () => 0.5, ...options, onEvent: (e) => events.push(e) });
  const calls = Array.from({ length: CALLERS }, () => wrapped(URL_A));
  await vi.runAllTimersAsync();
  const statuses = (await Promise.all(calls)).map((r) => r.status);
  return {
    statuses,
    budgetGiveUps: events.filter((e) => e.type === 'give-up' && e.reason === 'retry-budget-exhausted').length,
    budgetLeft: wrapped.breakers()[0]?.retryBudgetLeft,
    requests: fetch.calls.length,
  };
}

describe('retries that the throttle gate paces take nothing from the retry budget', () => {
  it(`with defaults, ${CALLERS} callers refused at once by a limiter are all served, the budget untouched`, async () => {
    const result = await burst(burstLimiter(CALLERS));
    expect(result.budgetGiveUps).toBe(0);
    expect(result.statuses).toEqual(Array(CALLERS).fill(200));
    // Each call retried once, through the gate's probe and send slots.
    expect(result.requests).toBe(2 * CALLERS);
    expect(result.budgetLeft).toBe(BUDGET);
  });

  it('the same burst where nothing paces a 429 retry (the gate off, or not adaptive) is bounded by the budget', async () => {
    const paced = await burst(burstLimiter(CALLERS));
    const off = await burst(burstLimiter(CALLERS), { policy: { throttle: { enabled: false } } });
    // Not adaptive, the gate only waits out the delay and releases everyone within releaseSpreadMs.
    const unpaced = await burst(burstLimiter(CALLERS), { policy: { throttle: { adaptive: false } } });
    expect([paced, off, unpaced].map((r) => [r.requests, r.budgetGiveUps])).toEqual([
      [2 * CALLERS, 0],
      [CALLERS + BUDGET, CALLERS - BUDGET],
      [CALLERS + BUDGET, CALLERS - BUDGET],
    ]);
  });

  it('a 5xx storm on a key the gate paces is still cut by the budget (breaker off)', async () => {
    let failing = false;
    // A 429 paces the key first; then the upstream fails every request with a 503 (no Retry-After).
    const fetch = fakeFetch(
      () => new Response(null, { status: failing ? 503 : fetch.calls.length === 1 ? 429 : 200 }),
    );
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      random: () => 0.5,
      policy: { breaker: { enabled: false } },
      onEvent: (e) => events.push(e),
    });
    const pacing = wrapped(URL_A);
    await vi.runAllTimersAsync();
    expect((await pacing).status).toBe(200);
    expect(wrapped.breakers()[0]?.rateLimit).not.toBeNull();
    failing = true;
    const sent = fetch.calls.length;
    const calls = Array.from({ length: CALLERS }, () => wrapped(URL_A));
    await vi.runAllTimersAsync();
    expect((await Promise.all(calls)).every((r) => r.status === 503)).toBe(true);
    // One first attempt and the 429's paced retry counted before: floor(10 + 0.2 x 81) budgeted retries.
    const budget = Math.floor(10 + 0.2 * (CALLERS + 1));
    expect(fetch.calls.length - sent).toBe(CALLERS + budget);
    // Every call ends on a spent budget: those that had a retry, after it.
    const giveUps = events.filter((e) => e.type === 'give-up' && e.reason === 'retry-budget-exhausted');
    expect(giveUps).toHaveLength(CALLERS);
  });

  it("in a fleet whose budget the others spent, a paced retry still goes and is not counted as the fleet's retry", async () => {
    const added: string[] = [];
    // The other instances used up the key's budget: floor(10 + 0.2 x 100) - 40 < 1.
    const spent: FleetCounts = { calls: 100, retries: 40, failures: 0 };
    const store: BreakwaterStore = {
      ...fleetStore().instance(),
      counter: (name) => ({
        add: (count) => {
          if (name.startsWith('budget:')) added.push(count);
        },
        others: () => (name.startsWith('budget:') ? [spent] : []),
      }),
    };
    const fetch = fakeFetch({ status: 429 }, { status: 200 }, { status: 503 }, { status: 200 });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, { store, random: () => 0.5, onEvent: (e) => events.push(e) });
    const throttled = wrapped(URL_A);
    await vi.runAllTimersAsync();
    expect((await throttled).status).toBe(200);
    const failed = wrapped(URL_A);
    await vi.runAllTimersAsync();
    expect((await failed).status).toBe(503);
    expect(events.filter((e) => e.type === 'give-up').map((e) => e.type === 'give-up' && e.reason)).toEqual([
      'retry-budget-exhausted',
    ]);
    expect(added).toEqual(['calls', 'calls']);
  });
  it('a paced retry sent after the pace lapsed (the quiet period passed during a long Retry-After) pays the budget, or is not sent', async () => {
    // The first 429 cuts the rate and closes the gate for 1 s; the others, in flight, say 45 s: their
    // retries were decided paced, but are due 15 s after the key's quiet period dropped the pace.
    let n = 0;
    const fetch = fakeFetch(() => {
      n++;
      const retryAfter = n === 1 ? '1' : '45';
      return new Promise<Response>((resolve) =>
        setTimeout(
          () => resolve(new Response(null, { status: 429, headers: { 'Retry-After': retryAfter } })),
          n === 1 ? 10 : 50,
        ),
      );
    });
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      random: () => 0.5,
      policy: { timeout: { totalMs: 120_000 } },
      onEvent: (e) => events.push(e),
    });
    const t0 = Date.now();
    const calls = Array.from({ length: CALLERS }, () => wrapped(URL_A).then((r) => r.status));
    await vi.runAllTimersAsync();
    await Promise.all(calls);
    const late = fetch.calls.filter((c) => c.at - t0 >= 45_000 && c.at - t0 < 46_000).length;
    // Unpaced, the retries are the budget's again: at most what it holds, not all 80 at once.
    expect(late).toBeGreaterThan(0);
    expect(late).toBeLessThanOrEqual(BUDGET);
    expect(events.some((e) => e.type === 'give-up' && e.reason === 'retry-budget-exhausted')).toBe(true);
  });
});
