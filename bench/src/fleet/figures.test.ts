import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../load.ts';
import {
  healthFigures,
  type InstanceRecord,
  maxInWindow,
  openedAt,
  outageFigures,
  PULSE_GRACE_MS,
  pulseFigures,
  redisKillFigures,
  throttleFigures,
} from './figures.ts';
import type { FleetArrival } from './server.ts';

const arrival = (t: number, instance: number, extra: Partial<FleetArrival> = {}): FleetArrival => ({
  t,
  instance,
  route: 'main',
  status: 500,
  down: true,
  attempt: 1,
  early: false,
  ...extra,
});
const call = (start: number, end: number, extra: Partial<CallRecord> = {}): CallRecord => ({
  route: 'customers',
  start,
  end,
  outcome: 'ok',
  status: 200,
  attempts: 1,
  ...extra,
});
const instance = (id: number, extra: Partial<InstanceRecord> = {}): InstanceRecord => ({
  id,
  broken: false,
  records: [],
  events: [],
  ...extra,
});
const breakAt = (t: number) => ({ t, type: 'break', key: 'customers' });

describe('maxInWindow', () => {
  it('finds the busiest window of the given width, whichever arrival it starts at', () => {
    expect(maxInWindow([0, 100, 950, 1000, 1900], 1000, 5000)).toBe(3);
    expect(maxInWindow([0, 1000, 2000, 3000], 1000, 5000)).toBe(1);
    expect(maxInWindow([], 1000, 5000)).toBe(0);
  });

  it('counts only windows that end by the end (the upstream healed after it)', () => {
    expect(maxInWindow([100, 4500, 4600, 4700], 1000, 5000)).toBe(1);
  });
});

describe('outageFigures', () => {
  const down = { from: 1000, to: 5000 };
  // Instance 0 opens at 1500 after 4 failures, instance 1 at 1600 after 5.
  const before = [1100, 1200, 1300, 1400].map((t) => arrival(t, 0));
  const before1 = [1100, 1200, 1300, 1400, 1500].map((t) => arrival(t, 1));
  const instances = [instance(0, { events: [breakAt(1500)] }), instance(1, { events: [breakAt(1600)] })];

  it('one probe per half-open interval for a fleet that shares it', () => {
    const probes = [2600, 3600, 4600].map((t, k) => arrival(t, k % 2));
    const f = outageFigures([...before, ...before1, ...probes], instances, down, 1000);
    expect(f.openedAt).toEqual([1500, 1600]);
    expect(f.maxPerInterval).toBe(1);
    expect(f.meanPerInterval).toBeCloseTo((3 * 1000) / 3400);
    expect(f.failuresBeforeOpen).toBe(9);
    expect(f.downRequests).toBe(12);
  });

  it('one probe per instance per interval for independent ones, even out of step', () => {
    const probes = [2500, 2600, 3500, 3600, 4500, 4600].map((t, k) => arrival(t, k % 2));
    expect(outageFigures([...before, ...before1, ...probes], instances, down, 1000).maxPerInterval).toBe(2);
  });

  it('counts neither healthy requests nor a break before the outage; no interval until every breaker opened', () => {
    const healthy = arrival(500, 0, { down: false, status: 200 });
    const early = instance(0, { events: [breakAt(200)] });
    expect(openedAt(early, down.from)).toBeNull();
    const f = outageFigures([healthy, ...before], [early, instances[1] as InstanceRecord], down, 1000);
    expect(f.maxPerInterval).toBeNull();
    expect(f.meanPerInterval).toBeNull();
    // Instance 0 never opened during the outage: every one of its down requests came before opening.
    expect(f.failuresBeforeOpen).toBe(4);
    expect(f.downRequests).toBe(4);
  });

  it('counts the calls in flight at each instance when its breaker opened', () => {
    const busy = [
      instance(0, {
        events: [breakAt(1500)],
        records: [call(1450, 1550), call(1300, 1400), call(1500, 1600)],
      }),
      instance(1, { events: [breakAt(1600)], records: [call(1590, 1700)] }),
    ];
    expect(outageFigures(before, busy, down, 1000).inFlightAtOpen).toBe(2);
  });
});

describe('throttleFigures', () => {
  it('arrivals inside announced windows per cool-down, the fleet together', () => {
    const arrivals = [
      arrival(0, 0, { down: false, status: 200 }),
      arrival(10, 1, { down: false, status: 429 }),
      arrival(20, 2, { down: false, status: 429, early: true }),
      arrival(30, 3, { down: false, status: 200, early: true }),
      arrival(40, 0, { down: false, status: 200, early: true, route: 'pulse' }),
    ];
    const calls = [instance(0, { records: [call(0, 5), call(10, 2000, { outcome: 'throttled' })] })];
    expect(throttleFigures(arrivals, 2, calls)).toEqual({
      requests: 4,
      throttled: 2,
      coolDowns: 2,
      inWindow: 2,
      perCoolDown: 1,
      calls: 2,
      ok: 1,
      storeDowns: 0,
    });
    expect(throttleFigures([], 0, []).perCoolDown).toBe(0);
  });
});

describe('healthFigures', () => {
  it("each instance's success and breaker openings on the load's endpoint", () => {
    const sick = instance(0, {
      broken: true,
      records: [call(0, 1, { outcome: 'network' }), call(1, 2, { outcome: 'fail-fast' })],
      events: [
        { t: -5, type: 'store-down', key: '' }, // before the run: not counted
        breakAt(1),
        { t: 2, type: 'break', key: 'pulse' },
        breakAt(3),
        { t: 4, type: 'store-down', key: '' },
      ],
    });
    const well = instance(1, { records: [call(0, 1), call(1, 2)] });
    expect(healthFigures([sick, well])).toEqual([
      { id: 0, broken: true, calls: 2, successRate: 0, breaks: 2, storeDowns: 1 },
      { id: 1, broken: false, calls: 2, successRate: 1, breaks: 0, storeDowns: 0 },
    ]);
  });
});

describe('pulseFigures', () => {
  const pulse = { at: 1000, until: 2000, instance: 0 };
  const pulseArrival = (t: number, i: number) => arrival(t, i, { route: 'pulse', down: false, status: 200 });
  const pulseCall = (start: number, end: number) => call(start, end, { route: 'pulse' });

  it("counts the other instances' pulse requests inside the window after the grace", () => {
    const arrivals = [
      pulseArrival(1000 + PULSE_GRACE_MS / 2, 1), // in flight
      pulseArrival(1500, 0), // its own instance waits out its own closure elsewhere
      pulseArrival(1500, 2),
      arrival(1500, 3, { down: false, status: 200 }), // the load's endpoint
      pulseArrival(2000, 3), // the window is over
    ];
    const instances = [instance(0), instance(2, { records: [pulseCall(1500, 1510)] })];
    expect(pulseFigures(arrivals, [pulse], instances)).toEqual([
      { ...pulse, others: 1, waiting: 1, shared: false },
    ]);
    // The others sent nothing inside the window, with nothing to send: idle, not held back.
    expect(pulseFigures(arrivals.slice(0, 2), [pulse], [instance(0), instance(2)])[0]?.shared).toBe(false);
    // Their own instance's calls say nothing of the others.
    const own = [instance(0, { records: [pulseCall(1200, 2100)] })];
    expect(pulseFigures(arrivals.slice(0, 2), [pulse], own)[0]?.shared).toBe(false);
  });

  it('held back: the others had calls through the window and sent none in it, even if none soon after', () => {
    // A fleet pacing its recovery at one shared rate: after the window one probe (here instance 0's),
    // the others' calls still wait for their share of the rate.
    const arrivals = [pulseArrival(1050, 1), pulseArrival(2010, 0), pulseArrival(3500, 1)];
    const waiting = [instance(0), instance(1, { records: [pulseCall(1300, 3500), pulseCall(1800, 3600)] })];
    expect(pulseFigures(arrivals, [pulse], waiting)).toEqual([
      { ...pulse, others: 0, waiting: 2, shared: true },
    ]);
  });
});

describe('redisKillFigures', () => {
  const killAt = 2000;
  const restartAt = 4000;
  const ups = (t: number) => [
    { t: 100, type: 'store-up', key: '' },
    { t: 2010, type: 'store-down', key: '' },
    { t, type: 'store-up', key: '' },
  ];
  const records = [
    ...Array.from({ length: 100 }, (_, k) => call(k * 10, k * 10 + 5)),
    ...Array.from({ length: 100 }, (_, k) => call(killAt + k * 10, killAt + k * 10 + 45)),
    call(killAt + 5, killAt + 10, { route: 'pulse', outcome: 'throttled' }),
  ];
  const pulseArrival = (t: number, i: number) => arrival(t, i, { route: 'pulse', down: false, status: 200 });

  it('p99 before the kill is of as long a stretch as the outage, just before it', () => {
    const warmUp = [call(0, 900), call(1000, 1005), call(1500, 1510), call(killAt, killAt + 20)];
    const f = redisKillFigures([], [], [instance(0, { records: warmUp })], killAt, 3000);
    expect(f.p99Before).toBe(10);
    expect(f.p99Down).toBe(20);
  });

  it('failures, the p99 Redis added, and the time to shared behaviour again', () => {
    const instances = [
      instance(0, { records: [...records, call(5550, 7000, { route: 'pulse' })], events: ups(4300) }),
      instance(1, {
        records: [call(5000, 5100, { outcome: 'server-error' }), call(4300, 4800, { route: 'pulse' })],
        events: ups(4600),
      }),
    ];
    const pulses = [
      { at: 3000, until: 4000, instance: 0 },
      { at: 4200, until: 5200, instance: 0 },
      { at: 5500, until: 6500, instance: 1 },
    ];
    const arrivals = [
      pulseArrival(3500, 1),
      pulseArrival(4700, 1),
      pulseArrival(6000, 1),
      pulseArrival(7000, 0),
    ];
    const f = redisKillFigures(arrivals, pulses, instances, killAt, restartAt);
    expect(f.calls).toBe(201);
    expect(f.failed).toBe(1);
    expect(f.p99Before).toBe(5);
    expect(f.p99Down).toBe(45);
    expect(f.addedP99).toBe(40);
    expect(f.sawDown).toBe(2);
    expect(f.storeUpMs).toBe(600);
    // The pulse at 4200 was not respected (instance 1 sent at 4700); the one at 5500 was.
    expect(f.closureSharedMs).toBe(1500);
    expect(f.resumedMs).toBe(1500);
  });

  it('never resumed when an instance never said store-up again', () => {
    const held = [call(4550, 5600, { route: 'pulse' })];
    const instances = [instance(0, { records, events: ups(1000) }), instance(1, { records: held })];
    const pulses = [
      { at: 2500, until: 3500, instance: 0 }, // while Redis was down: instance 1 sent into it
      { at: 4500, until: 5500, instance: 0 },
    ];
    const arrivals = [pulseArrival(3000, 1), pulseArrival(5600, 1)];
    const f = redisKillFigures(arrivals, pulses, instances, killAt, restartAt);
    expect(f.storeUpMs).toBeNull();
    expect(f.closureSharedMs).toBe(500);
    expect(f.resumedMs).toBeNull();
  });

  it('claims no time to shared behaviour when the others held back while Redis was down too', () => {
    // Held back with Redis down (their own pacing, say): holding back then tells nothing of sharing.
    const held = [call(2400, 3600, { route: 'pulse' }), call(4550, 5600, { route: 'pulse' })];
    const instances = [
      instance(0, { records, events: ups(4300) }),
      instance(1, { records: held, events: ups(4300) }),
    ];
    const pulses = [
      { at: 2500, until: 3500, instance: 0 },
      { at: 4500, until: 5500, instance: 0 },
    ];
    const f = redisKillFigures([pulseArrival(5600, 1)], pulses, instances, killAt, restartAt);
    expect(f.pulses.map((p) => p.shared)).toEqual([true, true]);
    expect(f.closureSharedMs).toBeNull();
    expect(f.resumedMs).toBeNull();
  });
});
