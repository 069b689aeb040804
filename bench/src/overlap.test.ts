import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runOverlapped } from './overlap.ts';

describe('runOverlapped', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts each step once the one before is ready, while it still settles; results in order', async () => {
    const started: number[] = [];
    const run = runOverlapped(3, (i, ready) => {
      started.push(Date.now());
      // Each step's load lasts 1 s, then its late calls settle for 5 s more.
      setTimeout(ready, 1_000);
      return new Promise<string>((resolve) => setTimeout(() => resolve(`step ${i}`), 6_000));
    });
    await vi.advanceTimersByTimeAsync(8_000);
    expect(await run).toEqual(['step 0', 'step 1', 'step 2']);
    expect(started).toEqual([0, 1_000, 2_000]);
  });

  it('starts the next step when one settles without saying it is ready', async () => {
    const started: number[] = [];
    const run = runOverlapped(2, async () => {
      started.push(Date.now());
      await new Promise((resolve) => setTimeout(resolve, 500));
      return Date.now();
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await run).toEqual([500, 1_000]);
    expect(started).toEqual([0, 500]);
  });

  it('rejects with the error of a step that fails', async () => {
    const run = runOverlapped(2, async (i) => {
      if (i === 0) throw new Error('scenario failed');
      return i;
    });
    await expect(run).rejects.toThrow('scenario failed');
  });
});
