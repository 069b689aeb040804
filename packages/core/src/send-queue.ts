import { after } from './sleep.ts';

/** What the queue asks of the gate it serves. */
export interface SendQueueHost {
  /** Ms between two sends now; 0 when there is no limit. */
  interval(now: number): number;
  /** Epoch ms until which no call may go (a 429's closure, a probe out); 0 when none may be held. */
  blockedUntil(now: number): number;
  /**
   * Epoch ms until which no call may go for certain (a 429's closure), leaving out what ends early (a
   * probe out, mostly answered within a round trip); 0 when none.
   */
  surelyBlockedUntil(now: number): number;
  /** A call leaves the queue to send, at `now`; true when it goes as the paced recovery's probe. */
  released(now: number): boolean;
  /**
   * The calls the pace lets out between `from` and `to` (epoch ms) if nothing cuts it, when it climbs
   * on its own; null when it holds (the interval of now counts then).
   */
  reach(from: number, to: number): number | null;
  /** The error for a call that cannot get a slot by its deadline: the slot expected at `slotAt`. */
  refusal(slotAt: number): Error;
}

interface Waiter {
  readonly deadlineAt: number;
  readonly resolve: (probe: boolean) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The send slots of one paced key: calls leave one at a time, first come first served, each one
 * interval (1 / rate, read when the slot comes, so a rising rate speeds up the calls already waiting)
 * after the last. Rather than reserving slots ahead at the rate of the moment, which would lock every
 * queued call to the rate it arrived at. A call that cannot expect its slot by its deadline leaves at
 * once, sending nothing; an abort takes a call out at once.
 */
export class SendQueue {
  private readonly host: SendQueueHost;
  private readonly waiters: Waiter[] = [];
  private last = Number.NEGATIVE_INFINITY;
  /** `last` before the latest release, which a slot given back restores ({@link giveBack}). */
  private beforeLast = Number.NEGATIVE_INFINITY;
  /** The latest release took a slot of a pace (an interval above 0): something to give back. */
  private spaced = false;
  private cancelTimer: (() => void) | undefined;

  constructor(host: SendQueueHost) {
    this.host = host;
  }

  get length(): number {
    return this.waiters.length;
  }

  /**
   * Takes a send slot: whether the call goes as the probe when it may send now (no promise, so no turn
   * lost on the path of a key that is not paced); else a promise of that, resolved when it may send,
   * or rejected with `refusal` or the signal's reason.
   */
  take(signal: AbortSignal, deadlineAt: number, now = Date.now()): Promise<boolean> | boolean {
    // The rate read once for the check and the release: it is asked on every send of the key.
    const interval = this.host.interval(now);
    if (this.waiters.length === 0 && this.nextAt(now, interval) <= now) {
      return this.release(now, now, interval);
    }
    const expected = this.lateAt(now, this.waiters.length, deadlineAt);
    if (expected > 0) return Promise.reject(this.host.refusal(expected));
    signal.throwIfAborted();
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = {
        deadlineAt,
        resolve: (probe) => {
          signal.removeEventListener('abort', onAbort);
          resolve(probe);
        },
        reject: (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      const onAbort = (): void => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.reject(signal.reason);
        // The last one out stops the timer (a tick with no one queued only does that): it must not
        // keep the process up for no one.
        if (this.waiters.length === 0) this.tick(0);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.schedule(now);
    });
  }

  /**
   * The slot the latest release took, to hand to {@link giveBack} should its call send nothing; undefined
   * when the key is not paced (no slot to give back). Read in the turn the call got its slot.
   */
  get latestSlot(): number | undefined {
    return this.spaced ? this.last : undefined;
  }

  /**
   * The call let out at slot `slot` ({@link latestSlot}) sent nothing (its hedge refused at the last
   * moment, its breaker refused it): unless a later call took a slot since, the pace counts from the
   * slot before, and the next call goes as though it had not been taken (a refused hedge held another
   * call's paced retry one interval, ~1 s, for a request never sent: noticed in session 25).
   */
  giveBack(slot: number): void {
    if (this.last !== slot) return;
    this.last = this.beforeLast;
    this.spaced = false;
    this.kick();
  }

  /** Something the queue waits for changed (a probe answered): look again now. */
  kick(): void {
    if (this.waiters.length > 0) this.tick(Date.now());
  }

  /**
   * When the next call may leave: after any hold, one interval after the last. `surely`: counting only
   * the holds that cannot end early (see {@link SendQueueHost.surelyBlockedUntil}). Default false.
   */
  private nextAt(now: number, interval = this.host.interval(now), surely = false): number {
    const blocked = surely ? this.host.surelyBlockedUntil(now) : this.host.blockedUntil(now);
    // The last send counts from now at the latest: a wall clock stepped back (NTP, a resumed VM) left
    // it in the future, and every call of a key that was never throttled waited out the step, or was
    // refused with a ThrottledError when the step was longer than its deadline.
    return Math.max(now, blocked, Math.min(this.last, now) + interval);
  }

  /**
   * When the call at `position` in the queue (0 = head) can expect its slot at the rate of now, if that
   * is after `deadlineAt` and a climbing pace (`reach`) will not let it out by then either; else 0.
   */
  private lateAt(now: number, position: number, deadlineAt: number): number {
    // Not the probe's bound: its answer mostly comes within a round trip, and a call refused for a
    // bound the probe does not take would have fit its deadline (audit s25: 3 of 8 callers of 2.5 s
    // refused at once at a 7/s pace, the probe answered in 10 ms). A probe that does take its bound
    // makes the calls late at a later look (each tick's `refuseLate`).
    const next = this.nextAt(now, undefined, true);
    const expected = next + position * this.host.interval(now);
    if (expected <= deadlineAt) return 0;
    const reach = next <= deadlineAt ? this.host.reach(next, deadlineAt) : null;
    // One slot to spare: the queue reads the interval when each slot comes, which lags a climbing pace.
    return reach !== null && reach >= position + 1 ? 0 : expected;
  }

  /**
   * Lets one call out at `now`; `dueAt`: when it was due, if a timer let it out (maybe late). True when
   * it goes as the probe.
   */
  private release(now: number, dueAt = now, interval = this.host.interval(now)): boolean {
    // A timer that fired late must not push every later slot back (under load timers fire a few ms
    // late, and the pace fell 15 % short of the rate): the call counts from when it was due, at most
    // one interval back, as a token bucket of one token would.
    this.beforeLast = this.last;
    this.last = Math.max(dueAt, now - interval);
    this.spaced = interval > 0;
    return this.host.released(now);
  }

  private tick(dueAt: number): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    const now = Date.now();
    // The queue may have emptied (aborts) since the timer was set: then there is no one to let out.
    const head = this.waiters[0];
    // A head whose deadline has come is refused below, not sent late.
    if (head && head.deadlineAt > now && this.nextAt(now) <= now) {
      this.waiters.shift();
      head.resolve(this.release(now, Math.min(dueAt, now)));
    }
    this.refuseLate(now);
    if (this.waiters.length > 0) this.schedule(now);
  }

  /** Calls that can no longer expect a slot by their deadline (a new closure came) leave now. */
  private refuseLate(now: number): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i] as Waiter;
      // Its deadline came while a hold (the probe's) kept it: its slot is after the hold at the least.
      const expected =
        waiter.deadlineAt <= now
          ? Math.max(now + 1, this.nextAt(now))
          : this.lateAt(now, i, waiter.deadlineAt);
      if (expected === 0) {
        i++;
        continue;
      }
      this.waiters.splice(i, 1);
      waiter.reject(this.host.refusal(expected));
    }
  }

  private schedule(now: number): void {
    if (this.cancelTimer) return;
    // Rounded up: a timer cut to whole ms must not let a call out before its slot.
    const dueAt = this.nextAt(now);
    // Or at the first deadline to come before it: a call refused ahead of a probe's bound it may not
    // wait out (lateAt leaves the bound out) is refused by its deadline, not after it (review s25).
    const lookAt = Math.min(dueAt, this.firstDeadline());
    this.cancelTimer = after(Math.max(1, Math.ceil(lookAt - now)), () => this.tick(dueAt));
  }

  private firstDeadline(): number {
    let first = Number.POSITIVE_INFINITY;
    for (const waiter of this.waiters) first = Math.min(first, waiter.deadlineAt);
    return first;
  }
}
