/**
 * A ky instance's `totalTimeout: false` (ky's "no total timeout") is the caller's word, kept as
 * kyOptions' is: breakwaterKy's default bound replaced it (session 25). A stalled body read is then
 * unbounded, as asked.
 */
import ky, { TimeoutError } from 'ky';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { breakwaterKy } from './ky.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Answers at once with a JSON body whose first bytes come and then nothing more. */
const stalling = async (): Promise<Response> =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"items":['));
      },
    }),
    { headers: { 'content-type': 'application/json' } },
  );

/** How `.json()` of a stalled body stands after `ms`: still pending, or what it rejected with. */
async function readFor(api: ReturnType<typeof breakwaterKy>, ms: number): Promise<unknown> {
  const pending = Symbol('pending');
  let outcome: unknown = pending;
  api
    .get('https://api.test/v1/items')
    .json()
    .then(
      () => {
        outcome = 'resolved';
      },
      (error: unknown) => {
        outcome = error;
      },
    );
  await vi.advanceTimersByTimeAsync(ms);
  return outcome === pending ? 'pending' : outcome;
}

describe("breakwaterKy and an instance's totalTimeout: false", () => {
  it('keeps it: a stalled body read is not cut at the default bound', async () => {
    const policy = { timeout: { attemptMs: 200, totalMs: 300 } };
    // The default bound here: 300 ms for each of 3 calls, and 5 s for hooks.
    expect(await readFor(breakwaterKy({ fetch: stalling, policy }), 6_000)).toBeInstanceOf(TimeoutError);
    const unbounded = breakwaterKy({ fetch: stalling, policy, ky: ky.create({ totalTimeout: false }) });
    expect(await readFor(unbounded, 600_000)).toBe('pending');
  });

  it("counts kyOptions' totalTimeout: undefined as absent: the instance's, else the default bound, holds", async () => {
    const policy = { timeout: { attemptMs: 200, totalMs: 300 } };
    // ky's type refuses it under exactOptionalPropertyTypes; JavaScript and looser settings pass it.
    const kyOptions = { totalTimeout: undefined } as unknown as { totalTimeout: number };
    expect(await readFor(breakwaterKy({ fetch: stalling, policy, kyOptions }), 6_000)).toBeInstanceOf(
      TimeoutError,
    );
    const instance = ky.create({ totalTimeout: 1_000 });
    expect(await readFor(breakwaterKy({ fetch: stalling, ky: instance, kyOptions }), 1_000)).toBeInstanceOf(
      TimeoutError,
    );
    // And false there is kept over the instance's number.
    const unbounded = breakwaterKy({ fetch: stalling, ky: instance, kyOptions: { totalTimeout: false } });
    expect(await readFor(unbounded, 600_000)).toBe('pending');
  });
});
