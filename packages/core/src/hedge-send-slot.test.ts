import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { fakeFetch, type RecordedCall } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_ = 'https://api.example.com/v1/items';

type Answer = { afterMs: number; status?: number; headers?: Record<string, string> };

/** Answers call n (from 0) with `answers[n]` after its delay (the last repeats); rejects on abort. */
function slowFetch(...answers: Answer[]) {
  const fetch = fakeFetch((call: RecordedCall) => {
    const n = fetch.calls.length - 1;
    const answer = answers[Math.min(n, answers.length - 1)] as Answer;
    return new Promise<Response>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          resolve(
            new Response(`answer ${n + 1}`, { status: answer.status ?? 200, headers: answer.headers ?? {} }),
          ),
        answer.afterMs,
      );
      call.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(call.signal?.reason);
      });
    });
  });
  return fetch;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * A key in paced recovery whose next send slot (the probe's) comes at about 2.5 s, with call A's
 * attempt out since 0 and its hedge due at 2.4 s, while the slot is not yet there: one request
 * accepted at 1 s, a 429 at 1.3 s (1 s cool-down, the rate cut to 0.74/s, a slot every 1.36 s).
 * A's request went more than a second before the 429: an answer still out from the throttle's second
 * would make the cut a guess, counted as accepted. `aAnswersAfterMs`: when call A's attempt is answered.
 */
async function hedgeQueuedForTheProbe(aAnswersAfterMs: number) {
  const fetch = slowFetch(
    { afterMs: aAnswersAfterMs },
    { afterMs: 0 },
    { afterMs: 0, status: 429, headers: { 'retry-after': '1' } },
    { afterMs: 0 },
  );
  const events: BreakwaterEvent[] = [];
  const wrapped = wrapFetch(fetch, {
    policy: { hedging: { enabled: true, delayMs: 2400 } },
    onEvent: (e) => events.push(e),
    random: () => 0,
  });
  const callerA = new AbortController();
  const a = wrapped(URL_, { signal: callerA.signal }).catch((e: unknown) => e);
  await vi.advanceTimersByTimeAsync(1_000);
  const accepted = wrapped(URL_);
  await vi.advanceTimersByTimeAsync(300);
  await accepted;
  // Throttled, then gone: its retry would have been the probe.
  const callerB = new AbortController();
  const throttled = wrapped(URL_, { signal: callerB.signal }).catch((e: unknown) => e);
  await vi.advanceTimersByTimeAsync(10);
  callerB.abort(new Error('B gave up'));
  await throttled;
  await vi.advanceTimersByTimeAsync(1090);
  // 2.4 s: the hedge has asked for a send slot and waits for it.
  expect(wrapped.breakers()[0]).toMatchObject({ waiting: 1, throttlePhase: 'probing' });
  return { fetch, wrapped, events, a, callerA };
}

/**
 * A caller arriving 2.51 s in, after the probe's slot (about 2.507 s) came: it goes out at once as the
 * probe, not 1 s later behind a probe that was never sent, and no hedge was sent.
 */
async function nextCallerGoesAtOnce({
  fetch,
  wrapped,
  events,
}: Awaited<ReturnType<typeof hedgeQueuedForTheProbe>>) {
  await vi.advanceTimersByTimeAsync(2510 - Date.now());
  const next = wrapped(URL_);
  await vi.advanceTimersByTimeAsync(1);
  expect(fetch.calls.map((c) => c.at)).toEqual([0, 1_000, 1_300, 2_510]);
  expect((await next).status).toBe(200);
  expect(events.some((e) => e.type === 'hedge')).toBe(false);
  expect(wrapped.breakers()[0]?.waiting).toBe(0);
}

describe('a hedged attempt waiting for a send slot', () => {
  it('leaves the queue when its call is answered, so the next caller goes out as the probe at that slot', async () => {
    const queued = await hedgeQueuedForTheProbe(2500);
    await vi.advanceTimersByTimeAsync(100);
    expect(await queued.a).toMatchObject({ status: 200 });
    await nextCallerGoesAtOnce(queued);
  });

  it('leaves the queue when its caller aborts, so the next caller goes out as the probe at that slot', async () => {
    const queued = await hedgeQueuedForTheProbe(9000);
    await vi.advanceTimersByTimeAsync(50);
    const reason = new Error('A gave up');
    queued.callerA.abort(reason);
    expect(await queued.a).toBe(reason);
    await nextCallerGoesAtOnce(queued);
  });
});

describe('the retry budget of a hedge', () => {
  it('counts what was sent: nothing for a hedge that left the send-slot queue unsent, one retry for a hedge sent', async () => {
    const queued = await hedgeQueuedForTheProbe(2500);
    // Three first attempts (A, the accepted call, B) and no retry sent: 10 + 0.2 x 3, floored.
    expect(queued.wrapped.breakers()[0]?.retryBudgetLeft).toBe(10);
    await vi.advanceTimersByTimeAsync(100);
    expect(await queued.a).toMatchObject({ status: 200 });
    expect(queued.fetch.calls).toHaveLength(3);
    expect(queued.wrapped.breakers()[0]?.retryBudgetLeft).toBe(10);

    const fetch = slowFetch({ afterMs: 3000 }, { afterMs: 10 });
    const wrapped = wrapFetch(fetch, { policy: { hedging: { enabled: true, delayMs: 1000 } } });
    const call = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(1010);
    expect((await call).status).toBe(200);
    expect(fetch.calls).toHaveLength(2);
    // One first attempt: 10 + 0.2, floored, less the hedge.
    expect(wrapped.breakers()[0]?.retryBudgetLeft).toBe(9);
  });
});

describe('a hedge refused at its send', () => {
  it('is no attempt when the budget was spent by another call while it waited for its slot: the give-up says 1 attempt, no hedge told, its slot given back', async () => {
    const fetch = slowFetch(
      { afterMs: 9000, status: 503 }, // A: its hedge is due at 2.4 s, its slot comes later
      { afterMs: 2250, status: 503 }, // D, at 0.2 s: its 503 at 2.45 s takes the budget's last retry
      { afterMs: 0 }, // accepted at 1 s
      { afterMs: 0, status: 429, headers: { 'retry-after': '1' } }, // B at 1.3 s: the key is paced
      { afterMs: 0 }, // D's retry
    );
    const events: BreakwaterEvent[] = [];
    const wrapped = wrapFetch(fetch, {
      policy: {
        hedging: { enabled: true, delayMs: 2400 },
        retry: { maxAttempts: 3 },
        retryBudget: { minRetries: 1, ratio: 0.01 },
        timeout: { attemptMs: 10_000, totalMs: 60_000 },
      },
      onEvent: (e) => events.push(e),
      random: () => 0,
    });
    const a = wrapped(URL_).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(200);
    const d = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(800);
    const accepted = wrapped(URL_);
    await vi.advanceTimersByTimeAsync(300);
    await accepted;
    const callerB = new AbortController();
    const b = wrapped(URL_, { signal: callerB.signal }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    callerB.abort(new Error('B gave up'));
    await b;
    await vi.advanceTimersByTimeAsync(20_000);

    expect((await d).status).toBe(200);
    expect(await a).toMatchObject({ status: 503 });
    // A's first attempt, D's two, the accepted call, B: A's hedge was never sent.
    expect(fetch.calls).toHaveLength(5);
    // D's retry goes when due (its 503 at 2.45 s, then its backoff), at the slot the refused hedge
    // gave back: not one interval of the pace later (3.53 s, before session 27).
    expect(fetch.calls.map((c) => c.at)).toEqual([0, 200, 1_000, 1_300, 2_650]);
    expect(events.filter((e) => e.type === 'hedge')).toEqual([]);
    expect(events.filter((e) => e.type === 'give-up')).toMatchObject([
      { at: 9000, attempts: 1, reason: 'retry-budget-exhausted', status: 503 },
    ]);
  });
});
