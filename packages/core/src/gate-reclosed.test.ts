import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { wrapFetch } from './wrap-fetch.ts';

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-11-26T12:00:00Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * A call released by the gate can find it closed again before it sends: another caller's 429 may be
 * handled in the turns between the release and the send. Its first attempt is then not sent, and it
 * must wait at the gate again and go out later, not end on an attempt that never happened.
 */
it('a first attempt whose gate closes again between its release and its send waits again and goes out after the new closure', async () => {
  let answerInFlight: ((response: Response) => void) | undefined;
  const sent: string[] = [];
  const fetch = (input: RequestInfo | URL): Promise<Response> => {
    const name = new URL(String(input)).searchParams.get('call') ?? '?';
    sent.push(`${name}@${Date.now() - start}`);
    const nth = sent.filter((s) => s.startsWith(`${name}@`)).length;
    if (name === 'inflight' && nth === 1) return new Promise((resolve) => (answerInFlight = resolve));
    if (name === 'closer' && nth === 1) {
      return Promise.resolve(new Response('', { status: 429, headers: { 'Retry-After': '1' } }));
    }
    return Promise.resolve(new Response('ok'));
  };
  let reclosed = false;
  const onEvent = (event: BreakwaterEvent): void => {
    // The moment the gate lets its waiting call by, the call in flight answers 429: handled in the
    // turns between that release and the released call's send.
    if (event.type === 'gate-open' && !reclosed && answerInFlight) {
      reclosed = true;
      answerInFlight(new Response('', { status: 429, headers: { 'Retry-After': '2' } }));
    }
  };
  const start = Date.now();
  const wrapped = wrapFetch(fetch, { onEvent, random: () => 0 });
  const base = 'https://api.test/v1/items?call=';
  const inflight = wrapped(`${base}inflight`);
  await vi.advanceTimersByTimeAsync(0);
  // A 429 with Retry-After: 1 closes the gate for a second; the call below waits for it.
  const stopCloser = new AbortController();
  const closer = wrapped(`${base}closer`, { signal: stopCloser.signal }).catch(() => 'aborted');
  await vi.advanceTimersByTimeAsync(0);
  // Its caller gives up: the call waiting below is then the first the gate lets by.
  stopCloser.abort();
  const held = wrapped(`${base}held`);
  await vi.advanceTimersByTimeAsync(10_000);
  const [heldResponse, closed] = await Promise.all([held, closer, inflight]);
  expect(closed).toBe('aborted');
  expect(reclosed).toBe(true);
  expect(heldResponse.status).toBe(200);
  // Sent once, after the 429's two seconds: not at the first release, when the gate had closed again.
  const heldSends = sent.filter((s) => s.startsWith('held@'));
  expect(heldSends).toHaveLength(1);
  expect(Number(heldSends[0]?.split('@')[1])).toBeGreaterThanOrEqual(2_000);
});
