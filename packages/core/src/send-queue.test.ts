import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SendQueue } from './send-queue.ts';

/** A queue paced at one send a second, with nothing else holding it. */
function oneASecond(): SendQueue {
  return new SendQueue({
    interval: () => 1_000,
    blockedUntil: () => 0,
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

  it('while the rate is a guess, refuses nobody ahead: calls the guess says would miss their deadline get slots as the rate rises', async () => {
    let interval = 1_000;
    const guessing = (predicts: boolean) =>
      new SendQueue({
        interval: () => interval,
        blockedUntil: () => 0,
        released: () => false,
        refusal: (slotAt) => new Error(`slot at ${slotAt}`),
        predicts: () => predicts,
      });
    const deadline = Date.now() + 3_000;
    const settle = (p: Promise<boolean> | boolean) =>
      Promise.resolve(p).then(
        () => 'sent',
        () => 'refused',
      );
    const known = guessing(true);
    known.take(new AbortController().signal, deadline);
    const knownCalls = [1, 2, 3, 4, 5].map(() => settle(known.take(new AbortController().signal, deadline)));
    const guessed = guessing(false);
    guessed.take(new AbortController().signal, deadline);
    const guessedCalls = [1, 2, 3, 4, 5].map(() =>
      settle(guessed.take(new AbortController().signal, deadline)),
    );
    // The curve outgrows the guess: ten sends a second from half a second on.
    await vi.advanceTimersByTimeAsync(500);
    interval = 100;
    await vi.advanceTimersByTimeAsync(2_000);
    // At the rate of their arrival, the 4th and 5th expected slots past the deadline: refused at once.
    expect(await Promise.all(knownCalls)).toEqual(['sent', 'sent', 'sent', 'refused', 'refused']);
    expect(await Promise.all(guessedCalls)).toEqual(['sent', 'sent', 'sent', 'sent', 'sent']);
  });

  it('while the rate is a guess, a queued call leaves when its deadline comes, not a slot later', async () => {
    const queue = new SendQueue({
      interval: () => 1_000,
      blockedUntil: () => 0,
      released: () => false,
      refusal: (slotAt) => new Error(`slot at ${slotAt}`),
      predicts: () => false,
    });
    const start = Date.now();
    queue.take(new AbortController().signal, start + 60_000);
    for (const _ of [1, 2]) queue.take(new AbortController().signal, start + 60_000);
    let refusedAt: number | undefined;
    const late = queue.take(new AbortController().signal, start + 2_500) as Promise<boolean>;
    late.catch(() => {
      refusedAt = Date.now() - start;
    });
    await vi.advanceTimersByTimeAsync(2_499);
    expect(refusedAt).toBeUndefined();
    await vi.advanceTimersByTimeAsync(2);
    expect(refusedAt).toBeGreaterThanOrEqual(2_500);
    expect(refusedAt).toBeLessThanOrEqual(2_501);
    await expect(late).rejects.toThrow('slot at');
  });
});
