import { describe, expect, it } from 'vitest';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

/** Microtask turns from the call until its promise settles (each one is time the caller waits). */
async function turnsToSettle(call: () => Promise<unknown>): Promise<number> {
  let settled = false;
  void call().then(
    () => (settled = true),
    () => (settled = true),
  );
  let turns = 0;
  while (!settled && turns < 1_000) {
    await Promise.resolve();
    turns++;
  }
  return turns;
}

describe('the healthy path in microtask turns (issue 17)', () => {
  // A fetch that has its answer at once: every turn counted is breakwater's own.
  const answered = (): Promise<Response> => Promise.resolve(new Response('{}'));

  it('a healthy call through a closed breaker settles within 6 turns of the call (12 before the attempt-side cuts)', async () => {
    const wrapped = wrapFetch(answered);
    // Warm: the first call of a key builds its pipeline.
    await wrapped(URL_A);
    expect(await turnsToSettle(() => wrapped(URL_A))).toBeLessThanOrEqual(6);
  });
});
