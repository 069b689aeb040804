/**
 * Hedged attempts (`hedging`), after Polly's hedging strategy and gRPC's A6 hedging policy: when no
 * attempt has answered `delayMs` after the latest one started, another starts beside it, up to
 * `maxHedged` extra. The first acceptable result (one the retry policy would not retry) wins; the
 * other attempts are aborted and their bodies released. A result that is not acceptable (a 503, a
 * reset) does not win: the group waits for the attempts still running and, when none is left, ends
 * on the latest such result, for the retry loop to decide on as it would on one attempt's.
 */
import type { AttemptResult } from './attempt.ts';
import { discardBody, readAhead } from './body-reads.ts';
import { after } from './sleep.ts';

/** What one attempt of a group gives: its result, `circuit-open` (refused, the call has an outcome), or nothing sent. */
type Sent = AttemptResult | 'circuit-open' | undefined;

/**
 * Sends one attempt under `signal`, which aborts when the caller does or when another attempt won.
 * `unused`: gives back what the sender holds (the gate's send slot) when it is never called.
 * `claim`: asked in the turn a hedge would go, before it is counted; false when it may not go now (the
 * breaker opened, the gate closed, the budget spent while it waited for its slot): then it is never
 * called, and takes nothing.
 */
export type Send = ((signal: AbortSignal) => Promise<Sent>) & {
  readonly unused?: () => void;
  readonly claim?: () => boolean;
};

export interface HedgeDeps {
  /** Wait after an attempt starts before the next hedged attempt, in ms. */
  readonly delayMs: number;
  /** Hedged attempts allowed beside the first. */
  readonly maxHedged: number;
  readonly callerSignal: AbortSignal | undefined;
  /** Sends the first attempt of the group. */
  readonly first: Send;
  /**
   * Asked when attempt number `attempt` could start beside the others: its sender when the gate, the
   * breaker, the retry budget and the deadline allow it, else undefined. Its budget's retry is taken
   * by its `claim`, in the turn it is sent.
   * `signal` aborts when the caller does or the group ends: a hedge waiting for a send slot then
   * leaves the queue, for a slot it took and did not use (maybe the paced recovery's probe) would
   * hold every other caller of the key.
   */
  readonly hedge: (attempt: number, signal: AbortSignal) => Promise<Send | undefined>;
}

/** How a group ended: the result the call goes on with, and the highest attempt number started. */
export interface HedgeEnd {
  readonly result: AttemptResult | 'circuit-open';
  readonly attempts: number;
}

/** Whether a result ends the group: the retry policy would hand it back, or the deadline passed. */
function acceptable(result: AttemptResult): boolean {
  return !result.gateClosed && (result.verdict.action === 'return' || result.deadlineExceeded === true);
}

/** Runs attempt number `first` and its hedges; rejects when an attempt throws with nothing else left. */
export function hedge(first: number, deps: HedgeDeps): Promise<HedgeEnd> {
  return new Promise((resolve, reject) => {
    const running = new Map<number, AbortController>();
    let fallback: AttemptResult | undefined;
    let notSent: AttemptResult | undefined;
    let latest = first;
    let hedges = 0;
    let done = false;
    let cancelTimer = (): void => {};
    /** Aborts the ask for the next hedge's sender: the group ended while it waited at the gate. */
    let asking: AbortController | undefined;

    const end = (): void => {
      done = true;
      cancelTimer();
      asking?.abort();
      for (const controller of running.values()) controller.abort();
      running.clear();
    };
    const win = (result: AttemptResult | 'circuit-open'): void => {
      end();
      if (result !== fallback) discardBody(fallback?.response);
      resolve({ result, attempts: latest });
    };
    const settle = (attempt: number, sent: Sent): void => {
      running.delete(attempt);
      if (done) {
        if (typeof sent === 'object') discardBody(sent.response);
        return;
      }
      if (sent === 'circuit-open' || (sent !== undefined && acceptable(sent))) {
        win(sent);
        return;
      }
      if (sent?.gateClosed) notSent = sent;
      else if (sent) {
        discardBody(fallback?.response);
        fallback = sent;
        // Kept while other attempts run, which may need its connection: read, not cancelled, since
        // the group may still end on it. A body longer than the read-ahead still holds it, and a
        // hedge on a pool of one waited its attempt timeout for it: cut then (status and headers
        // stay, for the group to end on).
        readAhead(sent.response, () => !done && fallback === sent && discardBody(sent.response));
      }
      if (running.size === 0) win(fallback ?? (notSent as AttemptResult));
    };
    const fail = (attempt: number, error: unknown): void => {
      running.delete(attempt);
      if (done || running.size > 0) return;
      if (fallback) {
        win(fallback);
        return;
      }
      end();
      reject(error);
    };
    /** `own` and the caller's signal, when there is one. */
    const withCaller = (own: AbortSignal): AbortSignal =>
      deps.callerSignal ? AbortSignal.any([deps.callerSignal, own]) : own;
    const launch = (attempt: number, send: Send): void => {
      const controller = new AbortController();
      running.set(attempt, controller);
      send(withCaller(controller.signal)).then(
        (sent) => settle(attempt, sent),
        (error: unknown) => fail(attempt, error),
      );
      if (hedges < deps.maxHedged) cancelTimer = after(deps.delayMs, () => void next());
    };
    const next = async (): Promise<void> => {
      if (done) return;
      const attempt = latest + 1;
      asking = new AbortController();
      const send = await deps.hedge(attempt, withCaller(asking.signal)).catch(() => undefined);
      asking = undefined;
      // Refused (gate, breaker, budget, deadline): no more hedges; the attempts running go on.
      if (!send) return;
      // The group ended in the turns since the sender was granted: its send slot (maybe the paced
      // recovery's probe) must not stay taken by a request never sent (audit s24).
      // Refused at the last moment (budget, breaker, gate, all may change while it waited for its
      // slot): not an attempt, so not counted, and its slot is handed back.
      if (done || send.claim?.() === false) {
        send.unused?.();
        return;
      }
      hedges += 1;
      latest = attempt;
      launch(attempt, send);
    };
    launch(first, deps.first);
  });
}
