import { getEventListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BenchClient, ContextRoute } from './client.ts';
import { FaultServer } from './fault-server.ts';
import { instrumentFetch } from './instrument.ts';
import {
  BucketPacer,
  ORACLE_SLOW_CUT_MS,
  OracleRefusal,
  oracleClient,
  oracleStep,
  type Slot,
  sendsAgain,
  WindowPacer,
} from './oracle.ts';
import type { Phase } from './schedule.ts';

describe('BucketPacer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /**
   * Takes `n` slots at once; records the fake time each is let through at. Slots past the first
   * `held` are answered at once (a call answered in no time).
   */
  function takeAll(pacer: BucketPacer, n: number, held = 0): { times: number[]; slots: Slot[] } {
    const times: number[] = [];
    const slots: Slot[] = [];
    for (let i = 0; i < n; i++) {
      void pacer.take().then((slot) => {
        times.push(Date.now());
        if (slots.push(slot) > held) slot.answered();
      });
    }
    return { times, slots };
  }

  it("lets the burst through at once, then one call per token, counting refills from the burst's answers", async () => {
    const pacer = new BucketPacer({ perSecond: 10, burst: 2 }, () => Date.now(), 0);
    const { times, slots } = takeAll(pacer, 5, 2);
    await vi.advanceTimersByTimeAsync(0);
    expect(times).toEqual([0, 0]);
    // No refill is counted until the burst is answered: the server may still be full and losing them.
    await vi.advanceTimersByTimeAsync(500);
    expect(times).toEqual([0, 0]);
    for (const slot of slots) slot.answered();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(times).toEqual([0, 0, 600, 700, 800]);
  });

  it('counts refills only up to the burst less the calls still unanswered', async () => {
    const pacer = new BucketPacer({ perSecond: 10, burst: 2 }, () => Date.now(), 0);
    const { slots } = takeAll(pacer, 2, 2);
    await vi.advanceTimersByTimeAsync(0);
    slots[0]?.answered();
    slots[1]?.answered();
    const { times, slots: later } = takeAll(pacer, 3, 3);
    await vi.advanceTimersByTimeAsync(250);
    expect(times).toEqual([100, 200]);
    // Both still unanswered: the server may hold them in flight while full, so no third token counts.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(times).toEqual([100, 200]);
    // One answered at 1 250: the next poll (each 1/rate) finds room for a refilled token.
    later[0]?.answered();
    await vi.advanceTimersByTimeAsync(100);
    expect(times).toEqual([100, 200, 1_300]);
  });

  it('counts tokens when a call goes, so a stall delays calls rather than bunching them', async () => {
    let clock = 0;
    const pacer = new BucketPacer({ perSecond: 10, burst: 1 }, () => clock, 0);
    const first = await pacer.take();
    first.answered();
    const { times } = takeAll(pacer, 3);
    // The loop stalls for 1 s: the bucket (burst 1) holds one token, not ten.
    clock = 1_000;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(times).toHaveLength(1);
  });

  it('takes its abort listener off the shared signal once a call goes', async () => {
    const pacer = new BucketPacer({ perSecond: 10, burst: 1 }, () => Date.now(), 0);
    (await pacer.take()).answered();
    const signal = new AbortController().signal;
    const slot = pacer.take(signal);
    expect(getEventListeners(signal, 'abort')).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    (await slot).answered();
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('waits for a signal-aborted call no more, and lets the next one have its token', async () => {
    const pacer = new BucketPacer({ perSecond: 10, burst: 1 }, () => Date.now(), 0);
    (await pacer.take()).answered();
    const controller = new AbortController();
    const aborted = pacer.take(controller.signal);
    const { times } = takeAll(pacer, 1);
    controller.abort(new Error('gone'));
    await expect(aborted).rejects.toThrow('gone');
    await expect(pacer.take(controller.signal)).rejects.toThrow('gone');
    await vi.advanceTimersByTimeAsync(100);
    expect(times).toEqual([100]);
  });
});

describe('WindowPacer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets `perSecond` calls hold the window, each until a second after its answer', async () => {
    const pacer = new WindowPacer(2, () => Date.now());
    const times: number[] = [];
    const slots: Slot[] = [];
    for (let i = 0; i < 4; i++) {
      void pacer.take().then((slot) => {
        times.push(Date.now());
        slots.push(slot);
      });
    }
    await vi.advanceTimersByTimeAsync(0);
    expect(times).toEqual([0, 0]);
    // Unanswered, they may not have reached the server yet: no time passing frees the window.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(times).toEqual([0, 0]);
    slots[0]?.answered();
    await vi.advanceTimersByTimeAsync(500);
    slots[1]?.answered();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(times).toEqual([0, 0, 3_000, 3_500]);
  });
});

describe('oracleStep: what the oracle does at a moment of the script, per fault kind', () => {
  const outage: Phase[] = [
    { at: 0, label: 'healthy' },
    { at: 2_000, label: 'down', down: true, status: 500 },
    { at: 14_000, label: 'recovered' },
  ];

  it('an outage: sends nothing while the route is down, waits for its end within the deadline', () => {
    expect(oracleStep(outage, 1_000, 31_000)).toEqual({ kind: 'send', phase: 0 });
    expect(oracleStep(outage, 5_000, 35_000)).toEqual({ kind: 'wait', untilMs: 14_000 });
    // A request sent now would arrive in the outage.
    expect(oracleStep(outage, 1_990, 31_990, 20)).toEqual({ kind: 'wait', untilMs: 14_000 });
    expect(oracleStep(outage, 14_000, 44_000)).toEqual({ kind: 'send', phase: 2 });
  });

  it('a call that cannot succeed within its deadline fails at once, unsent', () => {
    expect(oracleStep(outage, 3_000, 10_000)).toMatchObject({ kind: 'refuse' });
    const forever: Phase[] = [{ at: 0, label: 'down', down: true, status: 503 }];
    expect(oracleStep(forever, 0, 30_000)).toEqual({
      kind: 'refuse',
      why: 'the route fails to the end of its script',
    });
  });

  it('random faults: sends at once and again at once after a 5xx or a reset, keeps a 4xx', () => {
    const flaky: Phase[] = [{ at: 0, label: 'flaky', faults: [{ p: 0.3, status: 503 }] }];
    expect(oracleStep(flaky, 500, 30_500)).toEqual({ kind: 'send', phase: 0 });
    expect([500, 502, 503, 504, 429].map(sendsAgain)).toEqual([true, true, true, true, true]);
    // A 4xx is the answer the caller needs: the one send.
    expect([200, 400, 401, 404, 409].map(sendsAgain)).toEqual([false, false, false, false, false]);
  });

  it('slow answers: abandons an attempt not answered within the cut, only while the phase is slow', () => {
    const slow: Phase[] = [
      { at: 0, label: 'healthy' },
      { at: 2_000, label: 'slow', slow: { p: 0.2, delayMs: 3_000 } },
    ];
    expect(oracleStep(slow, 1_000, 31_000)).toEqual({ kind: 'send', phase: 0 });
    expect(oracleStep(slow, 2_500, 32_500)).toEqual({ kind: 'send', phase: 1, cutMs: ORACLE_SLOW_CUT_MS });
  });

  it('a limiter: sends through the limiter of the phase it is in (the server keeps one per phase)', () => {
    const limited: Phase[] = [
      { at: 0, label: 'bucket', bucket: { perSecond: 20, burst: 20 } },
      { at: 4_000, label: 'limit', throttle: { perSecond: 10, retryAfterS: 1 } },
    ];
    expect(oracleStep(limited, 100, 30_100)).toEqual({ kind: 'send', phase: 0 });
    expect(oracleStep(limited, 4_100, 34_100)).toEqual({ kind: 'send', phase: 1 });
  });
});

describe('the oracle client against the fault server', () => {
  const servers: FaultServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const route = { name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' } as const;
  const now = () => performance.now();

  /** A fault server following `phases` from now, and the oracle told them. */
  async function start(
    phases: Phase[],
    attemptTimeoutMs = 1_000,
  ): Promise<{ server: FaultServer; client: BenchClient }> {
    const server = await FaultServer.start({ routes: [{ ...route, phases }], seed: 1 });
    servers.push(server);
    const startAt = now();
    server.begin(startAt);
    const context = {
      fetch: instrumentFetch(globalThis.fetch, server, now),
      routes: [{ ...route, phases } satisfies ContextRoute],
      attemptTimeoutMs,
      breakers: true,
      now,
      scenarioStart: () => startAt,
    };
    return { server, client: await oracleClient.create(context) };
  }

  async function calls(server: FaultServer, client: BenchClient, n: number): Promise<number[]> {
    return Promise.all(
      Array.from({ length: n }, async () => {
        const res = await client.call(`${server.origin}/v1/customers`, new AbortController().signal);
        await res.arrayBuffer();
        return res.status;
      }),
    );
  }

  it('gets a burst of calls through a token bucket without a single 429', async () => {
    const { server, client } = await start([{ at: 0, label: 'bucket', bucket: { perSecond: 50, burst: 5 } }]);
    const began = now();
    const statuses = await calls(server, client, 20);
    const tookMs = now() - began;
    expect(statuses).toEqual(new Array(20).fill(200));
    expect(server.counts().customers).toMatchObject({ requests: 20, throttled: 0, early: 0, coolDowns: 0 });
    // 5 at once, then 15 at 50/s: no sooner than 300 ms.
    expect(tookMs).toBeGreaterThanOrEqual(300);
  });

  it('gets calls through a sliding-window throttle without a single 429', async () => {
    const { server, client } = await start([
      { at: 0, label: 'limit', throttle: { perSecond: 5, retryAfterS: 1 } },
    ]);
    expect(await calls(server, client, 8)).toEqual(new Array(8).fill(200));
    expect(server.counts().customers).toMatchObject({ requests: 8, throttled: 0 });
  });

  it('sends nothing while the route is down and succeeds once it recovers', async () => {
    const { server, client } = await start([
      { at: 0, label: 'down', down: true, status: 500 },
      { at: 300, label: 'recovered' },
    ]);
    const began = now();
    expect(await calls(server, client, 5)).toEqual(new Array(5).fill(200));
    expect(now() - began).toBeGreaterThanOrEqual(290);
    expect(server.counts().customers).toMatchObject({ requests: 5, whileDown: 0 });
  });

  it('fails a call at once, unsent, when the route never recovers', async () => {
    const { server, client } = await start([{ at: 0, label: 'down', down: true, status: 503 }]);
    await expect(calls(server, client, 1)).rejects.toBeInstanceOf(OracleRefusal);
    expect(server.counts().customers?.requests).toBe(0);
  });

  it('keeps a 4xx (one send) and sends again at once after a 5xx or a reset', async () => {
    const fourxx = await start([{ at: 0, label: '4xx', faults: [{ p: 1, status: 404 }] }]);
    expect(await calls(fourxx.server, fourxx.client, 3)).toEqual([404, 404, 404]);
    expect(fourxx.server.counts().customers?.requests).toBe(3);
    const flaky = await start([
      {
        at: 0,
        label: 'flaky',
        faults: [
          { p: 0.3, status: 503 },
          { p: 0.1, reset: true },
        ],
      },
    ]);
    expect(await calls(flaky.server, flaky.client, 20)).toEqual(new Array(20).fill(200));
    const { requests = 0 } = flaky.server.counts().customers ?? {};
    expect(requests).toBeGreaterThan(20);
  });

  it('abandons a slow attempt at the cut and gets an answer sent at once instead', async () => {
    const { server, client } = await start(
      [{ at: 0, label: 'slow', slow: { p: 0.5, delayMs: 3_000 } }],
      1_000,
    );
    const began = now();
    expect(await calls(server, client, 10)).toEqual(new Array(10).fill(200));
    // Within the 1 s attempt timeout: each slow draw cost one cut, not the timeout.
    expect(now() - began).toBeLessThan(1_000);
    expect(server.counts().customers?.requests).toBeGreaterThan(10);
  });
});
