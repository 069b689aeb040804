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
});
