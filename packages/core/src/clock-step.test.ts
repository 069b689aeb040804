import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AcceptedWindow } from './accepted-window.ts';
import { wrapFetch } from './wrap-fetch.ts';

// A wall clock stepped back (an NTP correction, a restored VM) must not hold a key that was never
// throttled (cross-check s23: every call was refused with a ThrottledError for the step's length).
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-27T01:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a wall clock stepped back', () => {
  it('by 60 s: the next call goes at once, not refused as throttled', async () => {
    const fetch = wrapFetch(async () => new Response('ok'));
    expect((await fetch('https://api.test/x')).status).toBe(200);
    vi.setSystemTime(Date.now() - 60_000);
    expect((await fetch('https://api.test/x')).status).toBe(200);
  });

  it('by 5 s: the next call does not wait out the step', async () => {
    const fetch = wrapFetch(async () => new Response('ok'));
    await fetch('https://api.test/x');
    vi.setSystemTime(Date.now() - 5_000);
    let done = false;
    const call = fetch('https://api.test/x').then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(10);
    expect(done).toBe(true);
    await call;
  });

  it('the accepted window counts the sends and answers made after it', () => {
    const window = new AcceptedWindow();
    const t = Date.parse('2026-11-27T01:00:00Z');
    for (let i = 0; i < 20; i++) window.add(t + i * 50, 1);
    const back = t - 60_000;
    window.add(back, 1);
    window.add(back, -1, true);
    expect(window.tally(back)).toMatchObject({ accepted: 1, pending: 0 });
  });

  it("a late answer, whose send's slot the window has reused since, is not counted in it", () => {
    const window = new AcceptedWindow();
    const t = Date.parse('2026-11-27T01:00:00Z');
    window.add(t, 1);
    // 1 s later (one window on), a send reuses the cell of t's slot; then t's answer comes.
    window.add(t + 1_000, 1);
    window.add(t, -1, true);
    expect(window.tally(t + 1_000)).toMatchObject({ accepted: 0, pending: 1 });
  });
});
