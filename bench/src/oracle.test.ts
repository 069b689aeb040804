import { getEventListeners } from 'node:events';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ContextRoute } from './client.ts';
import { FaultServer } from './fault-server.ts';
import { instrumentFetch } from './instrument.ts';
import { BucketPacer, oracleClient, type Slot } from './oracle.ts';

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

describe('the oracle client', () => {
  const servers: FaultServer[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  const bucket = { perSecond: 50, burst: 5 };
  const route: ContextRoute = { name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' };

  it('runs only where a route has a bucket it knows', () => {
    expect(oracleClient.appliesTo?.([route])).toBe(false);
    expect(oracleClient.appliesTo?.([{ ...route, bucket }])).toBe(true);
  });

  it('gets a burst of calls through a token bucket without a single 429', async () => {
    const server = await FaultServer.start({
      routes: [{ ...route, phases: [{ at: 0, label: 'bucket', bucket }] }],
      seed: 1,
    });
    servers.push(server);
    const now = () => performance.now();
    server.begin(now());
    const client = await oracleClient.create({
      fetch: instrumentFetch(globalThis.fetch, server, now),
      routes: [{ ...route, bucket }],
      attemptTimeoutMs: 1_000,
      breakers: true,
      now,
    });
    const began = now();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const res = await client.call(`${server.origin}/v1/customers`, new AbortController().signal);
        await res.arrayBuffer();
        return res.status;
      }),
    );
    const tookMs = now() - began;
    client.close();
    expect(statuses).toEqual(new Array(20).fill(200));
    expect(server.counts().customers).toMatchObject({ requests: 20, throttled: 0, early: 0, coolDowns: 0 });
    // 5 at once, then 15 at 50/s: no sooner than 300 ms.
    expect(tookMs).toBeGreaterThanOrEqual(300);
  });
});
