import type { ErrorKind, StopReason, VerdictReason } from '@breakwater/policies';

/** Fields every event carries. `key` is the endpoint key (rule name + origin): never a path or query. */
interface EventBase {
  readonly key: string;
  /** Epoch ms when the event happened. */
  readonly at: number;
}

/**
 * The events of one call: its `resume`, set when the call is a resume's (`resumeDownloads`). A resume
 * is a call of its own, numbering its attempts from 1: without it, a resume's attempt, retry, timeout,
 * reject or give-up reads as a new call's.
 */
interface CallEventBase extends EventBase {
  /**
   * Set on the events of a resume's request (`resumeDownloads`): the body's resume count, as its
   * `resume` event's. Absent on every other call's events.
   */
  readonly resume?: number;
}

/** One attempt finished (a response arrived or the attempt threw). */
export interface AttemptEvent extends CallEventBase {
  readonly type: 'attempt';
  readonly attempt: number;
  readonly method: string;
  /** The URL with query values redacted. */
  readonly url: string;
  readonly status?: number;
  readonly errorKind?: ErrorKind;
  readonly errorCode?: string;
  readonly durationMs: number;
  readonly reason: VerdictReason;
}

/** Another attempt will follow after `delayMs`. */
export interface RetryEvent extends CallEventBase {
  readonly type: 'retry';
  /** The attempt about to be made (2 for the first retry). */
  readonly attempt: number;
  /**
   * The wait before it: the server's delay, else the backoff. The attempt then passes the endpoint's
   * throttle gate, which may hold it longer when a closure outlasts the wait (another call's 429, say:
   * `throttled`, then `gate-open`). The wait runs from the previous attempt's end: when its error body
   * was read for an `isRetryable: false` first, part of it (or all) has passed by this event.
   */
  readonly delayMs: number;
  /** Where the delay came from: the server's Retry-After (or friends), or the backoff. */
  readonly delaySource: 'server' | 'backoff';
  readonly reason: VerdictReason;
  readonly status?: number;
}

/**
 * Why a retryable outcome was not retried: the retry decision's reasons (policies' `nextStep`), among
 * them `circuit-open` when the endpoint's breaker opened between two attempts, or will still refuse
 * calls when the retry is due (no wait is started for it).
 */
export type GiveUpReason = StopReason;

/** A retryable outcome is handed back instead of retried. */
export interface GiveUpEvent extends CallEventBase {
  readonly type: 'give-up';
  readonly attempts: number;
  readonly reason: GiveUpReason;
  readonly status?: number;
  readonly errorKind?: ErrorKind;
  /** For `body-not-replayable`: why the body could not be replayed. */
  readonly detail?: string;
  /**
   * The server's delay the last outcome asked for, when it asked for one: for
   * `retry-after-exceeds-cap`, the delay that was not waited for; for `deadline`, the one that would
   * have passed it.
   */
  readonly delayMs?: number;
}

/** The endpoint's breaker opened; calls fail fast until `nextProbeAt`. */
export interface BreakEvent extends EventBase {
  readonly type: 'break';
  readonly nextProbeAt: number;
}

/** The breaker lets one probe through. */
export interface HalfOpenEvent extends EventBase {
  readonly type: 'half-open';
}

/** A probe succeeded, or `fetch.reset(key)` closed the breaker by hand (`byHand`). */
export interface ResetEvent extends EventBase {
  readonly type: 'reset';
  /** Set when closed by `fetch.reset(key)` (an isolated breaker, or one opened by failures). */
  readonly byHand?: true;
}

/** `fetch.isolate(key)` held the endpoint's breaker open by hand: every call is refused until a reset. */
export interface IsolateEvent extends EventBase {
  readonly type: 'isolate';
}

/**
 * A call was refused without reaching fetch: breaker open, isolated by hand or a probe in flight,
 * bulkhead full, or a throttle gate that will not open before the call's deadline.
 */
export interface RejectEvent extends CallEventBase {
  readonly type: 'reject';
  readonly cause: 'circuit-open' | 'half-open' | 'isolated' | 'bulkhead-full' | 'throttled';
  /**
   * How long to wait before calling again, in ms, as the error's `retryAfterMs` says: the time until the
   * next probe (`circuit-open`), the half-open interval while a probe is in flight (`half-open`: its end
   * is unknown), or the gate's remaining delay (`throttled`). Absent for `isolated` (until a reset by
   * hand) and `bulkhead-full`.
   */
  readonly retryAfterMs?: number;
}

/** An attempt timeout or the call's total deadline fired. */
export interface TimeoutEvent extends CallEventBase {
  readonly type: 'timeout';
  readonly scope: 'attempt' | 'total';
  readonly timeoutMs: number;
  readonly attempt: number;
}

/** A server delay or a spent quota closed the endpoint's throttle gate: calls to the key wait until `until`. */
export interface ThrottledEvent extends EventBase {
  readonly type: 'throttled';
  /** The delay the server asked for, as sent (it may be far longer than the gate stays closed). */
  readonly delayMs: number;
  /**
   * Epoch ms when the gate opens: `at` + the delay (at most `retry.maxRetryAfterMs`), and 1 ms more,
   * for `at` reads whole ms and the response may have come up to 1 ms after it.
   */
  readonly until: number;
  /** The status that carried the delay (429, 503, ...; any status for `ratelimit`). */
  readonly status: number;
  /**
   * Why the gate closed: `retry-after` a server delay (`Retry-After` and friends), `ratelimit` RateLimit
   * headers saying the quota is spent (`delayMs` is then the time to the reset), `backoff` a 429 with no
   * delay (`delayMs` is the throttling backoff).
   */
  readonly source: 'retry-after' | 'ratelimit' | 'backoff';
}

/** The throttle gate opened again: the first waiting call is released. */
export interface GateOpenEvent extends EventBase {
  readonly type: 'gate-open';
}

/**
 * The adaptive rate of a key changed: a 429 cut it (`throttled`: `rate` is the new pace, 0.7 x what
 * the upstream accepted lately, from which it then rises along a cubic curve), the answers still out
 * at that 429 lowered the cut during its cool-down (`revised`), or a quiet period without one dropped
 * it (`quiet`: `rate` null, no limit).
 */
export interface RateChangeEvent extends EventBase {
  readonly type: 'rate-change';
  /** Calls/s the key's sends are now paced at; null for no limit. */
  readonly rate: number | null;
  /**
   * `throttled`: a 429 cut it; `revised`: the answers of requests sent before that 429, come during its
   * cool-down, lowered the cut (nothing was paced by it yet; reported once, when the last came or at
   * the reopening, whichever is first); `quiet`: the quiet period dropped it.
   */
  readonly reason: 'throttled' | 'revised' | 'quiet';
}

/**
 * A download's body failed mid-stream and is asked again from `offset` (`resumeDownloads`); the
 * request that follows reports its own `attempt`, `retry`, `timeout`, `hedge`, `reject` and `give-up`
 * events, which carry `resume`. The endpoint's own events (`break`, `throttled`, ...) do not.
 */
export interface ResumeEvent extends EventBase {
  readonly type: 'resume';
  /** Bytes of the body the caller had received: the request asks for the rest. */
  readonly offset: number;
  /** This body's resume count, from 1. */
  readonly resume: number;
}

/** An attempt had not answered after `hedging.delayMs`: attempt number `attempt` starts beside it. */
export interface HedgeEvent extends CallEventBase {
  readonly type: 'hedge';
  /** The attempt being started (2 for the first hedge). */
  readonly attempt: number;
}

/**
 * The `store` option's shared store (e.g. `redisStore()`) stopped answering in time or answered with
 * an error (`store-down`): every key then runs on its local state alone, and no call waits for the
 * store; or it answers again (`store-up`). Not about one endpoint: `key` is the empty string. Once per
 * outage: a store that stays down emits no other `store-down` before its `store-up`.
 */
export interface StoreStatusEvent extends EventBase {
  readonly type: 'store-down' | 'store-up';
  /**
   * `store-down` only: why the outage began. `timeout` (no answer within the store's `timeoutMs`),
   * `disconnected` (the store's client lost its connection) or the store's error, for Redis its reply's code then message (`NOPERM …` an ACL refusing a command, `READONLY
   * …` a replica, `ERR …` a script's error); never the command's arguments nor the client's URL.
   */
  readonly cause?: string | undefined;
}

/** Everything `onEvent` receives. Switch on `type`. */
export type BreakwaterEvent =
  | AttemptEvent
  | RetryEvent
  | GiveUpEvent
  | BreakEvent
  | HalfOpenEvent
  | ResetEvent
  | IsolateEvent
  | RejectEvent
  | TimeoutEvent
  | ThrottledEvent
  | GateOpenEvent
  | RateChangeEvent
  | ResumeEvent
  | HedgeEvent
  | StoreStatusEvent;

/**
 * Delivers an event; a listener that throws must not break the call it observes. Nor may one that
 * returns a rejected promise (an `async` listener): its rejection is swallowed here, as a thrown error
 * is, because an unhandled rejection ends the process under Node's defaults. Listeners are not awaited.
 */
export function emitter(
  listener: ((event: BreakwaterEvent) => void) | undefined,
): (event: BreakwaterEvent) => void {
  if (!listener) return () => {};
  return (event) => {
    try {
      const returned: unknown = listener(event);
      if (isThenable(returned)) returned.then(undefined, ignore);
    } catch {
      // Observability must never change the outcome of a call; the listener owns its own errors.
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

function ignore(): void {}
