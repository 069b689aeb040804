import { DEFAULT_POLICY, type Policy, type Verdict } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClosingRule, type Closure } from './closing-rule.ts';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { CLOCK_GRAIN_MS } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/orders';
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Every call answered 200; the first one also says the quota is spent (`headers`). */
function quotaSpentOnce(headers: Record<string, string>): ReturnType<typeof fakeFetch> {
  return fakeFetch({ status: 200, headers }, { status: 200 });
}

/** Sends one call that spends the quota, then `others` calls; returns when each reached fetch. */
async function sendAfterQuotaSpent(
  fetch: ReturnType<typeof fakeFetch>,
  policy: Policy['throttle'] | object = {},
) {
  const events: BreakwaterEvent[] = [];
  const wrapped = wrapFetch(fetch, { onEvent: (e) => events.push(e), policy: { throttle: policy } });
  expect((await wrapped(URL_A)).status).toBe(200);
  const others = Array.from({ length: 5 }, () => wrapped(URL_A));
  await vi.runAllTimersAsync();
  const statuses = (await Promise.all(others)).map((r) => r.status);
  return { sentAfter: fetch.calls.slice(1).map((c) => c.at - NOW), statuses, events, wrapped };
}

describe('the gate holds the key while RateLimit headers say the quota is spent', () => {
  it('a 200 with RateLimit r=0;t=2 holds every other call until the reset, then lets them all through', async () => {
    const fetch = quotaSpentOnce({
      RateLimit: '"default";r=0;t=2',
      'RateLimit-Policy': '"default";q=100;w=60',
    });
    const { sentAfter, statuses, events } = await sendAfterQuotaSpent(fetch);
    expect(statuses).toEqual(Array(5).fill(200));
    expect(sentAfter).toHaveLength(5);
    for (const at of sentAfter) expect(at).toBeGreaterThanOrEqual(2_000);
    expect(events.filter((e) => e.type === 'throttled')).toEqual([
      {
        type: 'throttled',
        key: 'default https://api.test',
        at: NOW,
        delayMs: 2_000,
        until: NOW + 2_000 + CLOCK_GRAIN_MS,
        status: 200,
        source: 'ratelimit',
      },
    ]);
  });

  it("a missing t falls back to RateLimit-Policy's window", async () => {
    const fetch = quotaSpentOnce({ RateLimit: '"burst";r=0', 'RateLimit-Policy': '"burst";q=5;w=3' });
    const { sentAfter } = await sendAfterQuotaSpent(fetch);
    for (const at of sentAfter) expect(at).toBeGreaterThanOrEqual(3_000);
  });

  it('a 200 with X-RateLimit-Remaining: 0 and an epoch-seconds X-RateLimit-Reset (GitHub) holds until then', async () => {
    const fetch = quotaSpentOnce({
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(NOW / 1000 + 4),
    });
    const { sentAfter } = await sendAfterQuotaSpent(fetch);
    for (const at of sentAfter) expect(at).toBeGreaterThanOrEqual(4_000);
  });

  it('a 200 with RateLimit-Remaining: 0 and RateLimit-Reset holds too', async () => {
    const fetch = quotaSpentOnce({ 'RateLimit-Remaining': '0', 'RateLimit-Reset': '1' });
    const { sentAfter } = await sendAfterQuotaSpent(fetch);
    for (const at of sentAfter) expect(at).toBeGreaterThanOrEqual(1_000);
  });

  it("a spent quota's closure is strict, as a 429's (it holds calls that already waited)", () => {
    const rule = ruleWith();
    expect(rule.decide(response(200, { RateLimit: 'a;r=0;t=1' }), success, 1)).toMatchObject({
      strict: true,
      closedForMs: 1_000,
    });
  });

  it('no longer than retry.maxRetryAfterMs', async () => {
    const fetch = quotaSpentOnce({ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '86400' });
    const wrapped = wrapFetch(fetch, { policy: { retry: { maxRetryAfterMs: 5_000 } } });
    await wrapped(URL_A);
    expect(wrapped.breakers()[0]?.throttledUntil).toBe(NOW + 5_000 + CLOCK_GRAIN_MS);
  });

  it.each([
    [{ RateLimit: '"default";r=3;t=2' }],
    [{ RateLimit: '"default";r=0;t=-2' }],
    [{ 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': 'soon' }],
    [{ 'X-RateLimit-Remaining': '0' }],
    [{ 'X-RateLimit-Remaining': '-1', 'X-RateLimit-Reset': '30' }],
    [{ 'RateLimit-Remaining': '0', 'RateLimit-Reset': 'NaN' }],
  ])('units left or garbage (%j) never close the gate', async (headers) => {
    const { sentAfter, events } = await sendAfterQuotaSpent(quotaSpentOnce(headers));
    expect(sentAfter).toEqual(Array(5).fill(0));
    expect(events.filter((e) => e.type === 'throttled')).toEqual([]);
  });

  it('throttle.rateLimitHeaders: false ignores them', async () => {
    const fetch = quotaSpentOnce({ RateLimit: '"default";r=0;t=2' });
    const { sentAfter } = await sendAfterQuotaSpent(fetch, { rateLimitHeaders: false });
    expect(sentAfter).toEqual(Array(5).fill(0));
  });

  it('a 429 saying both Retry-After: 1 and a later reset holds until the later', () => {
    const headers = { 'retry-after': '1', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '30' };
    const verdict: Verdict = { action: 'retry', breaker: 'ignore', reason: 'throttled', delayMs: 1_000 };
    expect(ruleWith().decide(response(429, headers), verdict, 1)).toMatchObject({
      closedForMs: 30_000,
      strict: true,
      source: 'ratelimit',
    });
  });
});

const success: Verdict = { action: 'return', breaker: 'success', reason: 'success' };
const badGateway: Verdict = { action: 'retry', breaker: 'failure', reason: 'transient-status' };
const unavailable: Verdict = { ...badGateway, delayMs: 1_000 };
const response = (status: number, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
});
const ok = response(200);
const unavailable503 = response(503, { 'retry-after': '1' });

function ruleWith(throttle: Partial<Policy['throttle']> = {}, random = () => 0): ClosingRule {
  return new ClosingRule(
    { retry: DEFAULT_POLICY.retry, throttle: { ...DEFAULT_POLICY.throttle, ...throttle } },
    random,
  );
}

describe('ClosingRule: a 503 with Retry-After closes the gate for other callers only on evidence', () => {
  it('an occasional 503 with Retry-After among healthy responses never closes it (one in ten, 1000 responses)', () => {
    const rule = ruleWith();
    const closures: Closure[] = [];
    for (let i = 0; i < 1_000; i++) {
      vi.advanceTimersByTime(20);
      const closure =
        i % 10 === 9 ? rule.decide(unavailable503, unavailable, 1) : rule.decide(ok, success, 1);
      if (closure) closures.push(closure);
    }
    expect(closures).toEqual([]);
  });

  it('two 503s with Retry-After in a row after healthy traffic do not close it', () => {
    const rule = ruleWith();
    for (let i = 0; i < 20; i++) rule.decide(ok, success, 1);
    expect(rule.decide(unavailable503, unavailable, 1)).toBeUndefined();
    expect(rule.decide(unavailable503, unavailable, 1)).toBeUndefined();
  });

  it('an outage (503 with Retry-After on every request) closes it after the third response on a fresh key', () => {
    const rule = ruleWith();
    expect(rule.decide(unavailable503, unavailable, 1)).toBeUndefined();
    expect(rule.decide(unavailable503, unavailable, 1)).toBeUndefined();
    expect(rule.decide(unavailable503, unavailable, 1)).toEqual({
      delayMs: 1_000,
      closedForMs: 1_000,
      strict: false,
      cuts: false,
      source: 'retry-after',
    });
  });

  it('an outage after healthy traffic closes it once half of the last 20 responses asked for a delay', () => {
    const rule = ruleWith();
    for (let i = 0; i < 30; i++) rule.decide(ok, success, 1);
    const closedAt = Array.from(
      { length: 11 },
      () => rule.decide(unavailable503, unavailable, 1) !== undefined,
    );
    expect(closedAt.indexOf(true)).toBe(9);
    expect(closedAt.slice(9)).toEqual([true, true]);
  });

  it('a server asking for a delay on 15 % of its responses, spread evenly, never closes it', () => {
    const rule = ruleWith();
    for (let i = 0; i < 1_000; i++) {
      vi.advanceTimersByTime(20);
      const delayed = i % 20 >= 17;
      expect(
        delayed ? rule.decide(unavailable503, unavailable, 1) : rule.decide(ok, success, 1),
      ).toBeUndefined();
    }
  });

  it('forgets responses older than 10 s', () => {
    const rule = ruleWith();
    rule.decide(unavailable503, unavailable, 1);
    rule.decide(unavailable503, unavailable, 1);
    vi.advanceTimersByTime(10_001);
    expect(rule.decide(unavailable503, unavailable, 1)).toBeUndefined();
  });

  it('502s and 503s without a delay are no evidence: they never close it', () => {
    const rule = ruleWith();
    for (let i = 0; i < 20; i++) expect(rule.decide(response(502), badGateway, 1)).toBeUndefined();
    for (let i = 0; i < 20; i++) expect(rule.decide(response(503), badGateway, 1)).toBeUndefined();
  });

  it('a 429 closes it at once, strictly, with or without a delay', () => {
    const rule = ruleWith();
    const throttled: Verdict = { action: 'retry', breaker: 'ignore', reason: 'throttled', delayMs: 2_000 };
    expect(rule.decide(response(429), throttled, 1)).toMatchObject({ closedForMs: 2_000, strict: true });
    const bare: Verdict = { action: 'retry', breaker: 'ignore', reason: 'throttled', throttled: true };
    expect(rule.decide(response(429), bare, 1)).toMatchObject({ strict: true, source: 'backoff' });
  });

  it('closes nothing when the gate is off', () => {
    const rule = ruleWith({ enabled: false });
    expect(rule.decide(response(200, { RateLimit: 'a;r=0;t=1' }), success, 1)).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(rule.decide(unavailable503, unavailable, 1)).toBeUndefined();
  });
});
