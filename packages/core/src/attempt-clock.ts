import { type Follower, followCaller, keepWith } from './caller-abort.ts';
import { after } from './sleep.ts';

/**
 * The shared clock's tick: an attempt timeout on it fires at most this late (plus the event loop's
 * own lag), never early.
 */
export const CLOCK_TICK_MS = 100;

/**
 * Timeouts at least this long go on the shared clock, where one tick late is at most a tenth of the
 * timeout; a shorter one (a short `attemptMs`, an attempt cut to a deadline about to pass) keeps a
 * timer of its own and fires on time.
 */
export const COARSE_FROM_MS = 1_000;

/**
 * The attempt timeouts of one wrapped fetch. A timer per attempt costs an insertion and a removal in
 * the runtime's timer list on every call, for a timeout that almost never fires: instead one interval
 * ticks every {@link CLOCK_TICK_MS} while attempts are in flight and fires those that are due. Like the
 * timer per attempt it replaces, it holds the process open while an attempt is pending, so a call
 * cannot be dropped silently by the process ending. When the last attempt ends the interval is kept
 * for one more tick, unref'd (it holds nothing open): calls made one after the other then reuse it
 * instead of starting and clearing an interval each; a tick that finds nothing in flight stops it.
 * The attempt's signal is its own entry: no entry, callback or cancel function is made per attempt.
 */
export class AttemptClock {
  /**
   * The attempts on the clock, linked through their signals: adding and removing one allocates nothing
   * (a Set's table grew and shrank as calls came and went one by one).
   */
  private first: AttemptSignal | undefined;
  private count = 0;
  private ticker: ReturnType<typeof setInterval> | undefined;
  /**
   * The wrapped fetch has read an attempt's signal: its attempts' signals are then made at once, as a
   * plain `init.signal` member, rather than behind a getter that fetch would call anyway (an own
   * accessor on the init literal costs ~0.5 µs an attempt, more than the signal it defers).
   */
  readsSignal = false;

  /**
   * Expires `signal` once `ms` have passed (see {@link COARSE_FROM_MS} for how precisely), unless
   * {@link stop} comes first. `now`: `performance.now()` as the caller just read it, if it did. Default
   * read here.
   */
  start(signal: AttemptSignal, ms: number, now = performance.now()): void {
    if (ms < COARSE_FROM_MS) {
      signal.cancel = after(ms, () => signal.expire());
      return;
    }
    // The monotonic clock, as a timer's: a step of the wall clock (NTP, a resumed VM) must neither fire
    // every timeout at once nor hold them back.
    signal.due = now + ms;
    signal.next = this.first;
    if (this.first) this.first.previous = signal;
    this.first = signal;
    if (++this.count === 1) this.hold();
  }

  /** The attempt ended: its timeout will not fire. */
  stop(signal: AttemptSignal): void {
    if (signal.cancel) signal.cancel();
    else this.remove(signal);
  }

  /** The first attempt in flight: the ticker runs, and holds the process open. */
  private hold(): void {
    if (this.ticker === undefined) this.ticker = setInterval(() => this.tick(), CLOCK_TICK_MS);
    else holdOpen(this.ticker, true);
  }

  private tick(): void {
    if (this.count === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
      return;
    }
    const now = performance.now();
    for (let entry = this.first; entry; ) {
      const { next } = entry;
      if (entry.due <= now) {
        this.remove(entry);
        entry.expire();
      } else if (entry.caller?.aborted) {
        // Its fetch never read the signal (or weak references are missing): no listener told it.
        this.remove(entry);
        entry.abort();
      }
      entry = next;
    }
  }

  private remove(entry: AttemptSignal): void {
    const { previous, next } = entry;
    // Not on the list (removed already): only the first entry has no previous one.
    if (!previous && this.first !== entry) return;
    if (previous) previous.next = next;
    else this.first = next;
    if (next) next.previous = previous;
    entry.previous = undefined;
    entry.next = undefined;
    if (--this.count === 0) holdOpen(this.ticker, false);
  }
}

/** Whether a timer holds the process open: Node's can be told; a browser's are numbers, holding nothing. */
function holdOpen(timer: unknown, hold: boolean): void {
  const t = timer as { ref?: () => unknown; unref?: () => unknown };
  if (hold) t.ref?.();
  else t.unref?.();
}

/** An attempt in flight, which its signal can end at once (attempt.ts). */
export interface AttemptCut {
  /** Ends the attempt with `reason`, whether or not its fetch settles. */
  cut(reason: unknown): void;
}

/**
 * The signal of one attempt, following the caller's signal too so that the caller's abort stops the
 * body of the Response handed back after the attempt ended. Without a caller's signal it is a plain
 * AbortController's, made at once: cheaper than handing fetch a getter that makes it when read. With
 * one, it is made only when the wrapped fetch reads it (a fetch that never reads the signal, an
 * in-memory or test fetch, is spared it) until the wrapped fetch has once read one: from then on it is
 * made at once too (every real fetch reads it, and the getter cost more than it saved there). It
 * follows the caller's through caller-abort.ts rather than `AbortSignal.any` (why: see there).
 *
 * A fetch may ignore its signal (a custom transport, a test double): the timeout and the caller's abort
 * then also cut the attempt ({@link run}), which ends without waiting for fetch. The caller's abort reaches
 * the attempt at once when fetch read the signal (the caller-abort listener); when it never did, at the
 * clock's next tick, or at the attempt's own timer for a timeout under {@link COARSE_FROM_MS}: no
 * listener per attempt for what only a fetch that ignores its signal needs.
 */
export class AttemptSignal implements Follower {
  /** The caller's signal, if any. */
  readonly caller: AbortSignal | undefined;
  private readonly clock: AttemptClock | undefined;
  private controller: AbortController | undefined;
  /** The signal when it is made already (always, without a caller's signal): no need to defer it. */
  ready: AbortSignal | undefined;
  /** The attempt's time ran out. */
  expired = false;
  /** On the shared clock: when it expires, on `performance.now()`'s scale. */
  due = 0;
  /** With a timer of its own (a short timeout): clears it. */
  cancel: (() => void) | undefined;
  /** On the shared clock's list: its neighbours there. */
  previous: AttemptSignal | undefined;
  next: AttemptSignal | undefined;
  /** Ends the attempt with a reason, whether or not its fetch settles: set while the attempt runs. */
  run: AttemptCut | undefined;

  /** `clock`: the wrapped fetch's, told when its fetch reads a signal made on demand. Default none. */
  constructor(caller: AbortSignal | undefined, clock?: AttemptClock) {
    this.caller = caller;
    this.clock = clock;
    if (!caller) {
      this.controller = new AbortController();
      this.ready = this.controller.signal;
    } else if (clock?.readsSignal) {
      this.make(caller);
    }
  }

  get signal(): AbortSignal {
    // Not made yet: there is a caller's signal, and the wrapped fetch had not read one before.
    if (!this.ready) {
      if (this.clock) this.clock.readsSignal = true;
      this.make(this.caller as AbortSignal);
    }
    return this.ready as AbortSignal;
  }

  /** Makes the attempt's signal, following `caller`'s. */
  private make(caller: AbortSignal): void {
    const controller = new AbortController();
    this.controller = controller;
    this.ready = controller.signal;
    // The reason a timer-aborted controller has: fetch rejects with an AbortError, as it always did.
    if (this.expired) controller.abort();
    else if (caller.aborted) controller.abort(caller.reason);
    else this.ready = followCaller(caller, controller, this);
  }

  /**
   * The attempt answered with `response`, which may be handed back: the caller's abort must reach its
   * body for as long as the caller holds it. Nothing to keep without a caller's signal, or when the
   * wrapped fetch never read the attempt's.
   */
  answered(response: Response): void {
    if (this.caller && this.controller) keepWith(response, this);
  }

  expire(): void {
    this.expired = true;
    this.controller?.abort();
    // The reason a fetch that honours the signal rejects with: an AbortError.
    this.run?.cut((this.controller?.signal ?? AbortSignal.abort()).reason);
  }

  /** The caller aborted with `reason` (default the caller's signal's): the attempt and its body stop. */
  abort(reason: unknown = this.caller?.reason): void {
    this.controller?.abort(reason);
    this.run?.cut(reason);
  }
}
