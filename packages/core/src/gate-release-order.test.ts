import { DEFAULT_POLICY, type Policy, type Verdict } from '@breakwater/policies';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { Reporter } from './reporter.ts';
import { CLOCK_GRAIN_MS, ThrottleGate } from './throttle-gate.ts';

const never = new AbortController().signal;
const throttled: Verdict = {
  action: 'retry',
  breaker: 'ignore',
  reason: 'throttled',
  throttled: true,
  delayMs: 1_000,
};
const answer429 = { status: 429, headers: new Headers({ 'Retry-After': '1' }) };

function gateWith(random: () => number, throttle: Partial<Policy['throttle']> = {}): ThrottleGate {
  const events: BreakwaterEvent[] = [];
  const policy = { retry: DEFAULT_POLICY.retry, throttle: { ...DEFAULT_POLICY.throttle, ...throttle } };
  return new ThrottleGate(policy, random, new Reporter('k', (e) => events.push(e), true));
}

/** Starts a call at the gate named `name`; records its name when it is let through or refused. */
function arrive(gate: ThrottleGate, name: string, out: string[], deadlineAt = 60_000): void {
  void gate.pass(never, deadlineAt).then(
    () => out.push(name),
    () => out.push(`refused ${name}`),
  );
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('calls held at the closed gate leave in arrival order', () => {
  it('a call that arrived before the closure was extended still leaves first (it goes as the probe)', async () => {
    const gate = gateWith(() => 0);
    const out: string[] = [];
    gate.observe(answer429, throttled, 1);
    await vi.advanceTimersByTimeAsync(100);
    arrive(gate, 'A', out);
    await vi.advanceTimersByTimeAsync(400);
    // A 429 answering a request sent before the closure: the closure now ends at 1.5 s.
    gate.observe(answer429, throttled, 1);
    await vi.advanceTimersByTimeAsync(100);
    arrive(gate, 'B', out);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(out).toEqual(['A']);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(out).toEqual(['A', 'B']);
  });

  it('after a closure that sets no rate, the random release spread keeps the arrival order', async () => {
    // The first caller draws the longest spread: on a timer of its own, it left last.
    const draws = [0.9, 0.5, 0.1];
    const gate = gateWith(() => draws.shift() ?? 0);
    const out: string[] = [];
    gate.close(1_000, false);
    for (const name of ['A', 'B', 'C']) arrive(gate, name, out);
    const released: number[] = [];
    for (const at of [1_020, 1_100, 1_180]) {
      await vi.advanceTimersByTimeAsync(at - Date.now());
      released.push(out.length);
    }
    // Still spread (the draws, 180, 100 and 20 ms, sorted), one at a time, in arrival order.
    expect(released).toEqual([1, 2, 3]);
    expect(out).toEqual(['A', 'B', 'C']);
  });

  it('of 30 callers behind a 429, the first ones are served and only the last ones refused', async () => {
    const gate = gateWith(Math.random);
    const out: string[] = [];
    gate.observe(answer429, throttled, 1);
    for (let i = 0; i < 30; i++) arrive(gate, String(i), out, 3_000);
    await vi.advanceTimersByTimeAsync(5_000);
    const served = out.filter((o) => !o.startsWith('refused')).map(Number);
    const refused = out.filter((o) => o.startsWith('refused')).map((o) => Number(o.slice(8)));
    expect(served.length).toBeGreaterThan(0);
    expect(served).toEqual(served.map((_, i) => i));
    expect(refused.sort((x, y) => x - y)).toEqual(refused.map((_, i) => served.length + i));
  });

  it('an aborted call leaves at once; the others keep their order; the last abort leaves no timer', async () => {
    const gate = gateWith(() => 0, { adaptive: false });
    gate.close(1_000, false);
    const first = new AbortController();
    const last = new AbortController();
    const aborted = gate.pass(first.signal, 60_000).catch((e: unknown) => e);
    const out: string[] = [];
    arrive(gate, 'B', out);
    first.abort(new Error('caller gave up'));
    expect(await aborted).toMatchObject({ message: 'caller gave up' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(out).toEqual(['B']);
    gate.close(1_000, false);
    const alone = gate.pass(last.signal, 60_000).catch((e: unknown) => e);
    last.abort(new Error('gone'));
    expect(await alone).toMatchObject({ message: 'gone' });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a held call whose release a later 429 moved past its deadline is refused, sending nothing', async () => {
    const gate = gateWith(() => 0);
    gate.observe(answer429, throttled, 1);
    const out: string[] = [];
    arrive(gate, 'A', out, 1_400);
    await vi.advanceTimersByTimeAsync(500);
    gate.observe(answer429, throttled, 1); // the closure now ends at 1.5 s
    // The sweep set for the first closure's end (a clock grain past 1 s: throttle-gate.ts) refuses A.
    await vi.advanceTimersByTimeAsync(500 + CLOCK_GRAIN_MS);
    expect(out).toEqual(['refused A']);
  });
});
