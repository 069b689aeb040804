import { DEFAULT_POLICY, type Verdict } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveRate } from './adaptive-rate.ts';
import { BETA } from './cubic.ts';
import { ThrottledError } from './errors.ts';
import { Reporter } from './reporter.ts';
import { ThrottleGate } from './throttle-gate.ts';

const never = new AbortController().signal;
const ok: Verdict = { action: 'return', breaker: 'success', reason: 'success' };
const throttled: Verdict = {
  action: 'retry',
  breaker: 'ignore',
  reason: 'throttled',
  throttled: true,
  delayMs: 1_000,
};
const answer = (status: number) => ({ status, headers: new Headers() });

function gate(): ThrottleGate {
  const policy = { retry: DEFAULT_POLICY.retry, throttle: DEFAULT_POLICY.throttle };
  return new ThrottleGate(policy, () => 0, new Reporter('k', () => {}, false));
}

/** Sends one request through `g` now, as `runAttempt` does; returns when it went. */
async function send(g: ThrottleGate): Promise<number> {
  await g.pass(never, Date.now() + 60_000);
  const at = Date.now();
  g.sent(at);
  return at;
}

/** Starts a call at the gate; records when it is let through, or what refused it and when. */
function caller(g: ThrottleGate, deadlineAt: number) {
  const seen: { passedAt?: number; refused?: unknown; refusedAt?: number } = {};
  void g.pass(never, deadlineAt).then(
    () => {
      seen.passedAt = Date.now();
    },
    (error: unknown) => {
      seen.refused = error;
      seen.refusedAt = Date.now();
    },
  );
  return seen;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a cut waits for the answers still on their way at the 429 (audit s22 F1)', () => {
  it('revises the cut from the accepted answers that come during the cool-down, before anything is paced', async () => {
    const g = gate();
    // Six requests 70 ms apart (together, they would read a burst: session 24); the limiter refuses the
    // sixth at once while the five it took are served.
    const sent: number[] = [];
    for (let i = 0; i < 6; i++) {
      sent.push(await send(g));
      await vi.advanceTimersByTimeAsync(70);
    }
    await vi.advanceTimersByTimeAsync(30);
    g.observe(answer(429), throttled, 1, Date.now(), sent[5]);
    // Counted as accepted while out: a guess from above, not the 0/s nothing answered would say.
    expect(g.rateLimit).toBeGreaterThan(BETA * 5);
    await vi.advanceTimersByTimeAsync(20);
    for (const at of sent.slice(0, 5)) g.observe(answer(200), ok, 1, Date.now(), at);
    // Five accepted in the second up to the 429 (counted from its first whole slot, 950 ms).
    expect(g.rateLimit).toBeCloseTo((BETA * 5) / 0.95, 9);
  });

  it('a request still out at the 429 makes the cut no lower bound: the queue refuses no caller by the one answer that came', async () => {
    const g = gate();
    const sent: number[] = [];
    for (let i = 0; i < 6; i++) sent.push(await send(g));
    await vi.advanceTimersByTimeAsync(1);
    g.observe(answer(200), ok, 1, Date.now(), sent[0]);
    g.observe(answer(429), throttled, 1, Date.now(), sent[5]);
    await vi.advanceTimersByTimeAsync(20);
    for (const at of sent.slice(1, 5)) g.observe(answer(200), ok, 1, Date.now(), at);
    // Reopening at 1 001 ms: the probe, then 9 callers due by 6 s: at 0.7/s (one accepted answer read
    // as the rate) the last ones would have been refused at once.
    const callers = Array.from({ length: 10 }, () => caller(g, 6_000));
    await vi.advanceTimersByTimeAsync(1_000);
    g.observe(answer(200), ok, 1, Date.now(), Date.now());
    await vi.advanceTimersByTimeAsync(5_000);
    expect(callers.filter((c) => c.refused !== undefined)).toEqual([]);
  });

  it('an answer that never comes (an error) is counted when the attempt ends: the cut is known then', async () => {
    const g = gate();
    const sent: number[] = [];
    for (let i = 0; i < 3; i++) sent.push(await send(g));
    await vi.advanceTimersByTimeAsync(10);
    g.observe(answer(200), ok, 1, Date.now(), sent[0]);
    g.observe(answer(429), throttled, 1, Date.now(), sent[2]);
    const guessed = g.rateLimit ?? 0;
    g.lost(sent[1] as number, Date.now());
    expect(g.rateLimit).toBeLessThan(guessed);
    expect(g.rateLimit).toBeCloseTo((BETA * 1) / 0.96, 9);
  });
});

describe('refusing ahead, whatever the cut is read from', () => {
  /** A key paced after a 429 at 100 ms that cut from 2 accepted answers; the probe out from 1.1 s. */
  async function pacedFromTwoAnswers(): Promise<ThrottleGate> {
    const g = gate();
    for (let i = 0; i < 2; i++) {
      const at = await send(g);
      g.observe(answer(200), ok, 1, Date.now(), at);
    }
    await vi.advanceTimersByTimeAsync(100);
    const at = await send(g);
    g.observe(answer(429), throttled, 1, Date.now(), at);
    await vi.advanceTimersByTimeAsync(1_000);
    // The probe goes at the reopening (1.1 s); the others wait for its answer (up to 2.1 s).
    caller(g, 60_000);
    await vi.advanceTimersByTimeAsync(0);
    return g;
  }

  it('a newcomer whose deadline comes before its slot is refused at once, not after its deadline', async () => {
    const g = await pacedFromTwoAnswers();
    caller(g, 60_000);
    caller(g, 60_000);
    await vi.advanceTimersByTimeAsync(100);
    const arrivedAt = Date.now();
    const late = caller(g, arrivedAt + 500);
    await vi.advanceTimersByTimeAsync(0);
    expect(late.refused).toBeInstanceOf(ThrottledError);
    expect(late.refusedAt).toBe(arrivedAt);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(late.passedAt).toBeUndefined();
  });

  it("a 429's closure past a queued call's deadline refuses it ahead, not when its deadline comes", async () => {
    const g = await pacedFromTwoAnswers();
    // The probe is answered; two callers queue for their slots, due within 5 s.
    g.observe(answer(200), ok, 1, Date.now(), Date.now());
    const queued = [
      caller(g, Date.now() + 5_000),
      caller(g, Date.now() + 5_000),
      caller(g, Date.now() + 5_000),
    ];
    await vi.advanceTimersByTimeAsync(0);
    // A 429 with a 10 s closure (Retry-After: 10) on the first of them.
    const closedAt = Date.now();
    g.observe(answer(429), { ...throttled, delayMs: 10_000 }, 1, closedAt, closedAt);
    await vi.advanceTimersByTimeAsync(5_000);
    const refused = queued.filter((c) => c.refused instanceof ThrottledError);
    expect(refused.length).toBeGreaterThan(0);
    for (const c of refused) expect((c.refusedAt ?? Number.POSITIVE_INFINITY) - closedAt).toBeLessThan(1_500);
  });
});

describe('in a fleet (the cut published with the closure)', () => {
  it('a cut with answers still out is published as an upper bound (the concave half alone), and not revised under the others', () => {
    const none = (): void => {};
    const rate = new AdaptiveRate(30_000, none, () => 2, false);
    for (let i = 0; i < 4; i++) rate.onRequest(10_000 + i);
    rate.onAnswer(10_003, false, 10_004);
    rate.onThrottle(10_004, 11_004);
    // 3 out: counted as accepted, times 2 instances; an upper bound, so the fleet's curve stops under
    // it (review s23: taken as a guess, some request always out in a fleet ran the convex half past it).
    const published = rate.cut;
    expect(published?.known).toBe(true);
    expect(published?.wMax).toBeCloseTo(((3 * 1_000) / 954) * 2, 9);
    for (let i = 0; i < 3; i++) rate.onAnswer(10_000 + i, false, 10_050);
    expect(rate.cut).toBe(published);
    expect(rate.rate(10_050)).toBeCloseTo((BETA * (published?.wMax ?? 0)) / 2, 9);
  });
});

/**
 * A lone process's adaptive rate that sent `sent` requests from 10 000 ms, 1 ms apart, and met a 429
 * on the last, answered 1 ms later, with a cool-down of 1 s: the others are still out. The rate
 * changes it reported, with their reasons.
 */
function throttledWithOut(sent: number): { rate: AdaptiveRate; events: Array<[number | null, string]> } {
  const events: Array<[number | null, string]> = [];
  const rate = new AdaptiveRate(
    30_000,
    (r, reason) => events.push([r, reason]),
    () => 1,
    true,
  );
  for (let i = 0; i < sent; i++) rate.onRequest(10_000 + i);
  const last = 10_000 + sent - 1;
  rate.onAnswer(last, false, last + 1);
  rate.onThrottle(last + 1, last + 1_001);
  return { rate, events };
}

const reasons = (events: Array<[number | null, string]>): string[] => events.map(([, reason]) => reason);

describe('rate-change events of a revised cut', () => {
  it("a 429 is one 'throttled'; a revision that moves the cut is 'revised', one that does not says nothing", () => {
    const { rate, events } = throttledWithOut(4);
    // Two accepted (counted as accepted already: the cut stays), then one refused (it falls).
    rate.onAnswer(10_000, true, 10_030);
    rate.onAnswer(10_001, true, 10_040);
    rate.onAnswer(10_002, false, 10_050);
    expect(reasons(events)).toEqual(['throttled', 'revised']);
  });

  it("answers moving the cut one by one make one 'revised', when the last has come (not one per answer)", () => {
    const { rate, events } = throttledWithOut(10);
    for (let i = 0; i < 9; i++) rate.onAnswer(10_000 + i, i % 2 === 0, 10_020 + i);
    expect(reasons(events)).toEqual(['throttled', 'revised']);
  });

  it("every answer still out refused: the cut the 429 reported stands, and no 'revised' says otherwise", () => {
    const { rate, events } = throttledWithOut(10);
    const reported = rate.cut;
    for (let i = 0; i < 9; i++) rate.onAnswer(10_000 + i, false, 10_020 + i);
    expect(reasons(events)).toEqual(['throttled']);
    expect(rate.cut?.wMax).toBe(reported?.wMax);
  });

  it("the cool-down ends with answers still out: 'revised' reports the cut that paces the key, at the reopening", () => {
    const { rate, events } = throttledWithOut(10);
    // 8 refused during the cool-down lower the cut; the last answer is still out at the reopening.
    for (let i = 0; i < 8; i++) rate.onAnswer(10_000 + i, false, 10_020 + i);
    const paced = rate.rate(11_010);
    expect(reasons(events)).toEqual(['throttled', 'revised']);
    expect(events[1]?.[0]).toBe(paced);
    // Its answer after the reopening revises nothing more, and says nothing.
    rate.onAnswer(10_008, true, 11_500);
    expect(events).toHaveLength(2);
  });
});

describe("a burst's reading (session 24): one instant's answers tell a bucket's burst, not its rate", () => {
  /**
   * A lone process's rate after `sent` requests, `spacing` ms apart from `at`, every `every`-th of them
   * accepted (5 at most), and a 429 on the last, with a cool-down of 1 s.
   */
  function throttledAfter(
    sent: number,
    spacing: number,
    every = 1,
    at = 10_000,
    rate = fresh(),
  ): AdaptiveRate {
    for (let i = 0; i < sent; i++) rate.onRequest(at + i * spacing);
    const last = at + (sent - 1) * spacing;
    for (let i = 0; i < sent; i++)
      rate.onAnswer(at + i * spacing, i % every === 0 && i / every < 5, last + 1);
    rate.onThrottle(last + 1, last + 1_001);
    return rate;
  }
  function fresh(): AdaptiveRate {
    return new AdaptiveRate(
      30_000,
      () => {},
      () => 1,
      true,
    );
  }

  it('200 sent in one instant, 5 accepted: a guess, whose curve climbs past the reading within seconds', () => {
    const rate = throttledAfter(200, 0);
    expect(rate.cut?.known).toBe(false);
    const wMax = rate.cut?.wMax ?? 0;
    // From the reading itself at the reopening (its convex half at once), past 3x it 3.5 s later.
    expect(rate.rate(11_001, true)).toBeCloseTo(wMax, 9);
    expect(rate.rate(14_501, true)).toBeGreaterThan(3 * wMax);
    // The queue can count on the climb: more than the reading's pace would let out over 5 s.
    expect(rate.reach(11_001, 16_001)).toBeGreaterThan(5 * wMax * 2);
  });

  it('5 accepted among sends spread over the second are a rate, held under it (known)', () => {
    const rate = throttledAfter(20, 50, 4);
    expect(rate.cut?.known).toBe(true);
    expect(rate.reach(11_001, 16_001)).toBeNull();
    expect(rate.rate(20_000, true)).toBeLessThanOrEqual(0.95 * (rate.cut?.wMax ?? 0) + 1e-9);
  });

  it("a paced key's second is a rate however short: what the limiter refilled during the cool-down", () => {
    const rate = throttledAfter(200, 0);
    // Paced from 11 s; three sends 10 ms apart, the last refused.
    throttledAfter(3, 10, 1, 11_100, rate);
    expect(rate.cut?.known).toBe(true);
  });
});
