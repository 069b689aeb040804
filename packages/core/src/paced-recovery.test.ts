import { DEFAULT_POLICY, type Policy, type Verdict } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BETA, cubicRate } from './cubic.ts';
import { ThrottledError } from './errors.ts';
import type { BreakwaterEvent, RateChangeEvent } from './events.ts';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { PROBE_WAIT_MS } from './paced-release.ts';
import { Reporter } from './reporter.ts';
import { CLOCK_GRAIN_MS, type GatePass, ThrottleGate } from './throttle-gate.ts';
import { wrapFetch } from './wrap-fetch.ts';

const never = new AbortController().signal;
const ok: Verdict = { action: 'return', breaker: 'success', reason: 'success' };
const throttledVerdict = (delayMs: number): Verdict => ({
  action: 'retry',
  breaker: 'ignore',
  reason: 'throttled',
  throttled: true,
  delayMs,
});
const answer = (status: number) => ({ status, headers: new Headers() });

function gateWith(throttle: Partial<Policy['throttle']> = {}): {
  gate: ThrottleGate;
  events: BreakwaterEvent[];
  rates: () => RateChangeEvent[];
} {
  const events: BreakwaterEvent[] = [];
  const policy = { retry: DEFAULT_POLICY.retry, throttle: { ...DEFAULT_POLICY.throttle, ...throttle } };
  const report = new Reporter('k', (event) => events.push(event), true);
  const rates = () => events.filter((e): e is RateChangeEvent => e.type === 'rate-change');
  return { gate: new ThrottleGate(policy, () => 0, report), events, rates };
}

/**
 * What the upstream accepted at 10/s, as measured at the 429 (t = 2 s): the last second, cut to whole
 * 50 ms slots (from 1.05 s), held the 9 requests accepted from 1.1 s to 1.9 s.
 */
const ACCEPTED = 9 / 0.95;

/** The 429's cool-down below: its 1 s, and the clock grain the gate adds to a response's closure. */
const COOL_DOWN_MS = 1_000 + CLOCK_GRAIN_MS;

/** Sends through the gate at 10/s for 2 s, every request accepted, then takes a 429 with a 1 s delay. */
async function throttledAfterTenPerSecond(gate: ThrottleGate): Promise<void> {
  for (let i = 0; i < 20; i++) {
    await gate.pass(never, Date.now() + 60_000);
    gate.observe(answer(200), ok, 1);
    await vi.advanceTimersByTimeAsync(100);
  }
  gate.observe(answer(429), throttledVerdict(1_000), 1);
}

/** Throttled as above, then the cool-down waited out and the probe sent and accepted: paced. */
async function pacedAfterProbe(gate: ThrottleGate): Promise<void> {
  await throttledAfterTenPerSecond(gate);
  await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
  await gate.pass(never, Date.now() + 60_000);
  gate.observe(answer(200), ok, 1);
}

/** Starts `count` calls at the gate; records when each is let through. */
function waiters(gate: ThrottleGate, count: number, deadlineAt = 60_000): { released: number[] } {
  const released: number[] = [];
  for (let i = 0; i < count; i++) void gate.pass(never, deadlineAt).then(() => released.push(Date.now()));
  return { released };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('paced recovery after a 429', () => {
  it('cuts the rate to 0.7 x what the upstream accepted, and reports it', async () => {
    const { gate, rates } = gateWith();
    expect(gate.rateLimit).toBeNull();
    expect(gate.phase).toBe('open');
    await throttledAfterTenPerSecond(gate);
    expect(rates()).toHaveLength(1);
    expect(rates()[0]?.reason).toBe('throttled');
    expect(rates()[0]?.rate).toBeCloseTo(BETA * ACCEPTED, 9);
    expect(gate.rateLimit).toBeCloseTo(BETA * ACCEPTED, 9);
    expect(gate.phase).toBe('closed');
  });

  it('a 429 answering a request sent before the closure does not cut again', async () => {
    const { gate, rates } = gateWith();
    await throttledAfterTenPerSecond(gate);
    gate.observe(answer(429), throttledVerdict(1_000), 1);
    expect(rates()).toHaveLength(1);
  });

  it('sends the probe alone when the gate opens; the others wait for its response', async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    const opensAt = Date.now() + COOL_DOWN_MS;
    const { released } = waiters(gate, 3);
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    expect(released).toEqual([opensAt]);
    expect(gate.phase).toBe('probing');
    await vi.advanceTimersByTimeAsync(300);
    expect(released).toHaveLength(1);
    gate.observe(answer(200), ok, 1);
    await vi.advanceTimersByTimeAsync(0);
    // Released by the probe's answer, then paced: the next slot is one interval after the probe's.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(released).toHaveLength(3);
    expect((released[1] ?? 0) - opensAt).toBe(300);
    // 300 ms into the ramp the curve stands at 8.25/s.
    expect((released[2] ?? 0) - (released[1] ?? 0)).toBe(Math.ceil(1_000 / cubicRate(ACCEPTED, 0.3)));
    expect(gate.phase).toBe('paced');
  });

  it(`holds the others at most ${PROBE_WAIT_MS} ms when the probe never answers`, async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    const opensAt = Date.now() + COOL_DOWN_MS;
    const { released } = waiters(gate, 2);
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS + PROBE_WAIT_MS - 1);
    expect(released).toEqual([opensAt]);
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toEqual([opensAt, opensAt + PROBE_WAIT_MS]);
  });

  it("a probe's pass handed back unused (its breaker refused it): the next call goes as the probe, one slot later", async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    const opensAt = Date.now() + COOL_DOWN_MS;
    const passes: GatePass[] = [];
    const released: number[] = [];
    for (let i = 0; i < 3; i++) {
      void gate.pass(never, 60_000).then((pass) => {
        passes.push(pass);
        released.push(Date.now());
      });
    }
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    expect(released).toEqual([opensAt]);
    // The probe's pass can be handed back; it is the only one that can.
    expect(passes[0]?.unused).toBeTypeOf('function');
    passes[0]?.unused?.();
    await vi.advanceTimersByTimeAsync(PROBE_WAIT_MS - 1);
    // The second goes at its slot, not at the first probe's bound; the third waits for the new probe.
    expect(released).toHaveLength(2);
    expect((released[1] ?? 0) - opensAt).toBeLessThan(PROBE_WAIT_MS / 2);
    expect(gate.phase).toBe('probing');
    // A pass given back twice gives back no other call's probe: the third still waits.
    passes[0]?.unused?.();
    await vi.advanceTimersByTimeAsync(1);
    expect(released).toHaveLength(2);
  });

  it('ramps: the calls that waited are released one slot apart, the slots shrinking as the rate rises', async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    const { released } = waiters(gate, 30);
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    gate.observe(answer(200), ok, 1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(released).toHaveLength(30);
    const gaps = released.slice(1).map((at, i) => at - (released[i] ?? 0));
    // No two calls in the same millisecond: nothing bursts.
    for (const gap of gaps) expect(gap).toBeGreaterThan(0);
    // 0.7 x the accepted rate at first (a gap of 1000 / 6.63 ms), faster along the cubic curve.
    expect(gaps[0]).toBe(Math.ceil(1_000 / (BETA * ACCEPTED)));
    expect(gaps.at(-1)).toBeLessThan((gaps[0] ?? 0) * 0.8);
  });

  it('a 429 during the ramp closes the gate again and cuts the rate by beta, from the slower of rate and accepted', async () => {
    const { gate, rates } = gateWith();
    await throttledAfterTenPerSecond(gate);
    waiters(gate, 10);
    await vi.advanceTimersByTimeAsync(1_000);
    gate.observe(answer(200), ok, 1);
    await vi.advanceTimersByTimeAsync(500);
    const before = gate.rateLimit ?? 0;
    gate.observe(answer(429), throttledVerdict(1_000), 1);
    expect(gate.phase).toBe('closed');
    expect(rates()).toHaveLength(2);
    expect(rates()[1]?.rate).toBeLessThanOrEqual(BETA * before + 1e-9);
  });

  it('holds nothing after a 503 closure beyond the spread (a 503 sets no rate)', async () => {
    const { gate, rates } = gateWith({ releaseSpreadMs: 0 });
    gate.close(1_000, false);
    const { released } = waiters(gate, 3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(released).toEqual([1_000, 1_000, 1_000]);
    expect(rates()).toEqual([]);
  });

  it('adaptive: false keeps the plain gate (no probe, no rate)', async () => {
    const { gate, rates } = gateWith({ adaptive: false, releaseSpreadMs: 0 });
    gate.close(1_000, true);
    const { released } = waiters(gate, 3);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(released).toEqual([1_000, 1_000, 1_000]);
    expect(rates()).toEqual([]);
    expect(gate.rateLimit).toBeNull();
  });
});

describe('the adaptive rate over time', () => {
  /** Keeps the key saturated: a caller always waiting for the next slot, every request accepted. */
  function saturate(gate: ThrottleGate): { stop: () => void } {
    let running = true;
    void (async () => {
      while (running) {
        await gate.pass(never, Date.now() + 60_000);
        gate.observe(answer(200), ok, 1);
      }
    })();
    return { stop: () => (running = false) };
  }

  it('recovers along the cubic curve up to just under the rate that tripped, and holds there', async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    await vi.advanceTimersByTimeAsync(1_000);
    const load = saturate(gate);
    // K = cbrt(Wmax x 0.3 / 0.4) = 1.92 s after the cool-down ends.
    const k = Math.cbrt((ACCEPTED * (1 - BETA)) / 0.4) * 1_000;
    await vi.advanceTimersByTimeAsync(k / 4);
    // Concave: a quarter of the way to K, C (3K/4)^3 short of the top.
    expect(gate.rateLimit).toBeCloseTo(ACCEPTED - 0.4 * ((0.75 * k) / 1_000) ** 3, 1);
    await vi.advanceTimersByTimeAsync(k);
    expect(gate.rateLimit).toBeCloseTo(0.95 * ACCEPTED, 9);
    // No convex probing above it: the quiet period's drop to no limit is the probe.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gate.rateLimit).toBeCloseTo(0.95 * ACCEPTED, 9);
    load.stop();
  });

  it('climbs past a guessed rate (nothing accepted before the 429) along the whole curve', async () => {
    const { gate, rates } = gateWith();
    await gate.pass(never, 60_000);
    gate.observe(answer(429), throttledVerdict(1_000), 1);
    // One request sent, none accepted: a guess of 10/s (one over the shortest span, 100 ms), cut to 7.
    expect(rates()[0]?.rate).toBeCloseTo(7, 9);
    await vi.advanceTimersByTimeAsync(1_000);
    const load = saturate(gate);
    const k = Math.cbrt((10 * (1 - BETA)) / 0.4) * 1_000;
    await vi.advanceTimersByTimeAsync(k + 3_000);
    // Convex beyond K: C (3 s)^3 above the guess.
    expect(gate.rateLimit).toBeCloseTo(10 + 0.4 * 27, 0);
    load.stop();
  });

  it('never climbs past twice what the callers send', async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    // One call a second: the curve alone would reach 100+/s within 8 s.
    await vi.advanceTimersByTimeAsync(CLOCK_GRAIN_MS);
    for (let i = 0; i < 8; i++) {
      await vi.advanceTimersByTimeAsync(1_000);
      await gate.pass(never, Date.now() + 60_000);
      gate.observe(answer(200), ok, 1);
    }
    expect(gate.rateLimit).toBeCloseTo(BETA * ACCEPTED, 9);
  });

  it('decays to no limit after quietMs without a 429, and reports it', async () => {
    const { gate, rates } = gateWith({ quietMs: 5_000 });
    await throttledAfterTenPerSecond(gate);
    // The quiet period runs from the end of the cool-down (1 s).
    const throttledAt = Date.now() + 1_000;
    await vi.advanceTimersByTimeAsync(5_999);
    expect(gate.rateLimit).not.toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(gate.rateLimit).toBeNull();
    expect(gate.phase).toBe('open');
    // Calls flow unpaced again: three passes in the same millisecond.
    const { released } = waiters(gate, 3);
    await vi.advanceTimersByTimeAsync(0);
    expect(released).toEqual([Date.now(), Date.now(), Date.now()]);
    expect(rates().at(-1)).toEqual({
      type: 'rate-change',
      key: 'k',
      at: throttledAt + 5_000,
      rate: null,
      reason: 'quiet',
    });
  });
});

describe('waiting for a send slot', () => {
  it('refuses at once with ThrottledError a call whose slot falls after its deadline, taking no slot', async () => {
    const { gate } = gateWith();
    await pacedAfterProbe(gate);
    // The next slot is one interval (1000 / (0.7 x 9.47) = 150.8 ms) away.
    const interval = 1_000 / (BETA * ACCEPTED);
    const error = await gate.pass(never, Date.now() + 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ThrottledError);
    expect((error as ThrottledError).retryAfterMs).toBe(Math.ceil(interval));
    expect(gate.waiting).toBe(0);
    // The refused call took nothing: the next caller gets the same slot.
    const at = Date.now();
    await Promise.all([gate.pass(never, at + 1_000), vi.advanceTimersByTimeAsync(200)]);
    expect(Date.now()).toBeGreaterThanOrEqual(at + Math.floor(interval));
  });

  it("an abort while waiting for a slot settles at once with the caller's reason", async () => {
    const { gate } = gateWith();
    await pacedAfterProbe(gate);
    const controller = new AbortController();
    const waiting = gate.pass(controller.signal, Date.now() + 60_000).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    expect(gate.waiting).toBe(1);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    expect(gate.waiting).toBe(0);
  });

  it("an abort while waiting for the probe's answer settles at once", async () => {
    const { gate } = gateWith();
    await throttledAfterTenPerSecond(gate);
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    await gate.pass(never, Date.now() + 60_000);
    const controller = new AbortController();
    const waiting = gate.pass(controller.signal, Date.now() + 60_000).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
  });

  it('a pass taken before a 429 is void: the call goes back through the gate at the new rate', async () => {
    const { gate } = gateWith();
    const pass = await gate.pass(never, 60_000);
    gate.observe(answer(429), throttledVerdict(1_000), 1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(pass.letsThrough()).toBe(false);
  });
});

describe('paced sends through wrapFetch', () => {
  const URL_A = 'https://api.test/v1/orders';

  /**
   * A paced key: two requests accepted, 300 ms apart (at once they would read a burst, session 24), the
   * third throttled for 1 s, the probe after it accepted.
   */
  async function pacedKey(options: { totalMs?: number } = {}) {
    const fetch = fakeFetch(
      { status: 200 },
      { status: 200 },
      { status: 429, headers: { 'retry-after': '1' } },
      { status: 200 },
    );
    const totalMs = options.totalMs ?? 30_000;
    const timeout = { attemptMs: Math.min(1_000, totalMs), totalMs };
    const wrapped = wrapFetch(fetch, { policy: { timeout, retry: { maxAttempts: 1 } }, random: () => 0 });
    await wrapped(URL_A);
    await vi.advanceTimersByTimeAsync(300);
    await Promise.all([wrapped(URL_A), wrapped(URL_A)]);
    await vi.advanceTimersByTimeAsync(COOL_DOWN_MS);
    await wrapped(URL_A);
    return { fetch, wrapped };
  }

  it('a call whose send slot falls after its deadline fails at once with ThrottledError, having sent nothing', async () => {
    const { fetch, wrapped } = await pacedKey({ totalMs: 1_000 });
    const rate = wrapped.breakers()[0]?.rateLimit ?? 0;
    // Two accepted in the last second (cut to whole 50 ms slots: 950 ms), cut to 0.7 x 2.1/s: a slot
    // every 679 ms.
    // (Read a clock grain up its curve, which starts at the cool-down's end: the probe went 1 ms later.)
    expect(rate).toBeCloseTo(cubicRate(2 / 0.95, CLOCK_GRAIN_MS / 1_000), 9);
    const sent = fetch.calls.length;
    const first = wrapped(URL_A);
    const second = wrapped(URL_A).catch((e: unknown) => e);
    // Refused before any timer runs: its slot (2 x 679 ms away) is past its 1 s deadline, while the
    // call before it waits for its own.
    expect(await second).toBeInstanceOf(ThrottledError);
    expect(fetch.calls.length).toBe(sent);
    await vi.runAllTimersAsync();
    expect((await first).status).toBe(200);
    expect(fetch.calls.length).toBe(sent + 1);
  });

  it("an abort while waiting for a send slot settles at once with the caller's reason, sending nothing", async () => {
    const { fetch, wrapped } = await pacedKey();
    const sent = fetch.calls.length;
    void wrapped(URL_A);
    const controller = new AbortController();
    const waiting = wrapped(URL_A, { signal: controller.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    // Both wait for a slot: the probe took the last one.
    expect(wrapped.breakers()[0]?.waiting).toBe(2);
    const reason = new Error('gave up');
    controller.abort(reason);
    expect(await waiting).toBe(reason);
    await vi.runAllTimersAsync();
    expect(fetch.calls.length).toBe(sent + 1);
  });
});

describe('a paced key in the registry', () => {
  it('is kept past maxEndpoints while it has a rate (dropped, it would be met again at full speed), and dropped after the quiet period', async () => {
    const fetch = fakeFetch({ status: 429, headers: { 'retry-after': '1' } }, { status: 200 });
    const wrapped = wrapFetch(fetch, { maxEndpoints: 1, policy: { retry: { maxAttempts: 1 } } });
    await wrapped('https://a.test/');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(wrapped.breakers()[0]).toMatchObject({ throttledUntil: null, throttlePhase: 'probing' });
    await wrapped('https://b.test/');
    expect(wrapped.breakers().map((b) => b.key)).toEqual([
      'default https://a.test',
      'default https://b.test',
    ]);
    await vi.advanceTimersByTimeAsync(30_000);
    await wrapped('https://c.test/');
    expect(wrapped.breakers().map((b) => b.key)).toEqual(['default https://c.test']);
  });
});
