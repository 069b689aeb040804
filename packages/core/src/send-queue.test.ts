import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SendQueue } from './send-queue.ts';

/** A queue paced at one send a second, with nothing else holding it. */
function oneASecond(): SendQueue {
  return new SendQueue({
    interval: () => 1_000,
    blockedUntil: () => 0,
    surelyBlockedUntil: () => 0,
    reach: () => null,
    released: () => false,
    refusal: (slotAt) => new Error(`slot at ${slotAt}`),
  });
}

describe('SendQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops its timer when the last queued call aborts: nothing keeps the process up for it', async () => {
    const queue = oneASecond();
    const deadline = Date.now() + 60_000;
    expect(queue.take(new AbortController().signal, deadline)).toBe(false);
    const caller = new AbortController();
    const queued = queue.take(caller.signal, deadline);
    expect(queued).toBeInstanceOf(Promise);
    expect(vi.getTimerCount()).toBe(1);
    caller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect(queue.length).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps its timer for the calls still queued behind one that aborts', async () => {
    const queue = oneASecond();
    const deadline = Date.now() + 60_000;
    queue.take(new AbortController().signal, deadline);
    const caller = new AbortController();
    const first = queue.take(caller.signal, deadline) as Promise<boolean>;
    const second = queue.take(new AbortController().signal, deadline) as Promise<boolean>;
    caller.abort();
    await expect(first).rejects.toMatchObject({ name: 'AbortError' });
    await vi.advanceTimersByTimeAsync(1_000);
    await expect(second).resolves.toBe(false);
  });

  describe('a climbing pace (a guess: session 24)', () => {
    /** One a second now, but `reach` says the pace will let `sends` calls out by any later time. */
    function climbing(sends: number): SendQueue {
      return new SendQueue({
        interval: () => 1_000,
        blockedUntil: () => 0,
        surelyBlockedUntil: () => 0,
        reach: () => sends,
        released: () => false,
        refusal: (slotAt) => new Error(`slot at ${slotAt}`),
      });
    }

    it('keeps a caller whose slot the pace of now puts past its deadline, if the climb serves it by then', async () => {
      const queue = climbing(10);
      const signal = new AbortController().signal;
      const deadline = Date.now() + 3_500;
      queue.take(signal, deadline);
      const refused: number[] = [];
      // At 1/s only the first three would fit in 3.5 s; the climb lets 10 out, one kept to spare.
      for (let i = 0; i < 11; i++) {
        void (queue.take(signal, deadline) as Promise<boolean>).catch(() => refused.push(i));
      }
      await vi.advanceTimersByTimeAsync(0);
      expect(refused).toEqual([10]);
    });

    it('still refuses at once a caller whose deadline comes before the next slot', async () => {
      const queue = climbing(1_000);
      const signal = new AbortController().signal;
      queue.take(signal, Date.now() + 60_000);
      await expect(queue.take(signal, Date.now() + 500)).rejects.toThrow(/slot at/);
    });
  });
});

describe('SendQueue behind a probe (audit s25)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Four sends a second, held behind a probe out until `probeUntil` (its bound) or its answer. */
  function behindProbe(): { queue: SendQueue; answer: () => void } {
    let probeUntil = Date.now() + 1_000;
    const queue = new SendQueue({
      interval: () => 250,
      blockedUntil: (now) => (probeUntil > now ? probeUntil : 0),
      surelyBlockedUntil: () => 0,
      reach: () => null,
      released: () => false,
      refusal: (slotAt) => new Error(`slot at ${slotAt}`),
    });
    return {
      queue,
      answer: () => {
        probeUntil = 0;
        queue.kick();
      },
    };
  }

  it("keeps callers whose slots fit their deadline if the probe answers, rather than counting the probe's whole bound", async () => {
    const { queue, answer } = behindProbe();
    const deadline = Date.now() + 1_500;
    const outcomes: string[] = [];
    for (let i = 0; i < 5; i++) {
      void (queue.take(new AbortController().signal, deadline) as Promise<boolean>).then(
        () => outcomes.push('sent'),
        () => outcomes.push('refused'),
      );
    }
    await vi.advanceTimersByTimeAsync(10);
    // Counting the bound, four of five (slots at 1 250 ms and later) were refused at once.
    expect(outcomes).toEqual([]);
    answer();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(outcomes).toEqual(Array(5).fill('sent'));
  });

  it('refuses them once the probe does take its bound, in arrival order, each by its deadline', async () => {
    const { queue } = behindProbe();
    const start = Date.now();
    const outcomes: string[] = [];
    // The first has only 0.8 s, less than the probe's bound; the others 1.5 s.
    const deadlines = [800, 1_500, 1_500, 1_500, 1_500];
    for (const [i, ms] of deadlines.entries()) {
      void (queue.take(new AbortController().signal, start + ms) as Promise<boolean>).then(
        () => outcomes.push(`${i} sent at ${Date.now() - start}`),
        () => outcomes.push(`${i} refused at ${Date.now() - start}`),
      );
    }
    await vi.advanceTimersByTimeAsync(1_500);
    // The first is refused by its deadline, not at the bound after it; the last then, as its slot at
    // the pace (800 + 3 x 250) passes its deadline. The bound passes at 1 000 ms: slots at 1 000 and
    // 1 250 come before the deadline; the one at 1 500 would leave no time to send in.
    expect(outcomes).toEqual([
      '0 refused at 800',
      '4 refused at 800',
      '1 sent at 1000',
      '2 sent at 1250',
      '3 refused at 1500',
    ]);
  });

  it('gives a slot back when its call sent nothing: the next call goes as though it had not been taken', async () => {
    const queue = oneASecond();
    const deadline = Date.now() + 60_000;
    const start = Date.now();
    expect(queue.take(new AbortController().signal, deadline)).toBe(false);
    const slot = queue.latestSlot as number;
    expect(slot).toBe(start);
    let sentAt: number | undefined;
    const queued = queue.take(new AbortController().signal, deadline) as Promise<boolean>;
    void queued.then(() => {
      sentAt = Date.now();
    });
    await vi.advanceTimersByTimeAsync(100);
    queue.giveBack(slot);
    await vi.advanceTimersByTimeAsync(0);
    expect(sentAt).toBe(start + 100);
    // The pace counts from the call that went: the next waits its interval.
    expect(queue.take(new AbortController().signal, deadline)).toBeInstanceOf(Promise);
  });

  it('gives nothing back for a slot another call took after it', async () => {
    const queue = oneASecond();
    const deadline = Date.now() + 60_000;
    const start = Date.now();
    queue.take(new AbortController().signal, deadline);
    const first = queue.latestSlot as number;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(queue.take(new AbortController().signal, deadline)).toBe(false);
    queue.giveBack(first);
    // Still paced from the second call's slot (1 s in): a third waits for 2 s.
    let sentAt: number | undefined;
    void (queue.take(new AbortController().signal, deadline) as Promise<boolean>).then(() => {
      sentAt = Date.now();
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sentAt).toBe(start + 2_000);
  });

  it('has no slot to give back when the key is not paced', () => {
    const queue = new SendQueue({
      interval: () => 0,
      blockedUntil: () => 0,
      surelyBlockedUntil: () => 0,
      reach: () => null,
      released: () => false,
      refusal: (slotAt) => new Error(`slot at ${slotAt}`),
    });
    expect(queue.take(new AbortController().signal, Date.now() + 1_000)).toBe(false);
    expect(queue.latestSlot).toBeUndefined();
  });
});
