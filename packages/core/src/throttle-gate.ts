import type { Policy, Verdict } from '@breakwater/policies';
import { AdaptiveRate } from './adaptive-rate.ts';
import { ClosingRule } from './closing-rule.ts';
import { ThrottledError } from './errors.ts';
import { Probe } from './paced-release.ts';
import type { Reporter } from './reporter.ts';
import { SendQueue, type SendQueueHost } from './send-queue.ts';
import { after, sleep } from './sleep.ts';
import type { BreakwaterStore, GateProbe, RateCut } from './store.ts';
import type { ThrottlePhase } from './types.ts';

/**
 * What a call learnt at the gate, shown again just before its request goes out: another caller's
 * response may have closed the gate between the call passing it and the send.
 */
export interface GatePass {
  /** True when the gate still lets this call's request out now. */
  letsThrough(): boolean;
  /** True when the gate held the call (a closure, the probe's answer or a send slot) before letting it by. */
  readonly held: boolean;
  /**
   * Present on the pass that made its call the paced recovery's probe: when the call will send nothing
   * (its breaker refused it, its hedge group ended), hands the probe to the next call, instead of
   * holding every call for the probe's bound. Absent on any other pass: nothing to hand back.
   */
  readonly unused?: (() => void) | undefined;
  /**
   * Present on a pass that holds something to give back, once its call sends nothing (its breaker
   * refused it, its hedge was refused at the last moment, its retry had no budget left): the probe, as
   * {@link unused} hands it on, and the send slot of a paced key, so that the next call goes as though
   * it had not been taken. Not for a request that went and got no answer: its slot was used.
   */
  readonly unsent?: (() => void) | undefined;
}

/**
 * The throttle gate of one endpoint key. No JavaScript client shares what one caller was told with the
 * others: ky and undici honour Retry-After per call, cockatiel and p-retry not at all, so concurrent
 * callers keep sending into a cool-down. Here a server delay closes the gate for every call to the key.
 *
 * After a 429 (a strict closure) the recovery is paced (`throttle.adaptive`): the first call out after
 * the cool-down goes alone as a probe, the others wait for its response, and from then every send takes
 * a slot of the key's adaptive rate (adaptive-rate.ts), so the calls that piled up during the cool-down
 * do not trip the limiter again. After a closure that set no rate (a 503's delay), the calls that waited
 * are released each at a random moment within `releaseSpreadMs`, which never caps the throughput below
 * what the callers offer.
 *
 * The gate owns its state and its events (`throttled`, `gate-open`); which response closes it, for how
 * long and how strictly is its {@link ClosingRule}'s.
 */
export class ThrottleGate {
  private readonly policy: Pick<Policy, 'throttle' | 'retry'>;
  /** The gate paces the key after a 429 (`throttle.enabled` and `adaptive`): only then is anything learnt. */
  private readonly paces: boolean;
  private readonly random: () => number;
  private readonly report: Reporter;
  private readonly rule: ClosingRule;
  private closedUntil = 0;
  /** The part of the closure that a 429 set: it holds every call, however long it has waited. */
  private strictUntil = 0;
  private announcedOpen = true;
  private readonly rate: AdaptiveRate;
  private readonly probe: GateProbe;
  private readonly queue = new SendQueue(this.queueHost());
  /** Epoch ms when the last probe this gate let out went: a request sent before cannot answer it. */
  private probeSentAt = 0;
  /** Moves on every throttle: a pass (and the send slot it holds) taken before one is void. */
  private epoch = 0;
  /** The pass of a call let through at once in `epoch` (see {@link granted}). */
  private openPass: { readonly epoch: number; readonly pass: GatePass } | undefined;
  /** Calls waiting at the gate now. */
  waiting = 0;
  /**
   * Calls held by the closure, in arrival order (a Set keeps it, and lets an aborted call leave without
   * a pass over the others), and the one timer that releases them.
   */
  private readonly held = new Set<Held>();
  private cancelOpening: (() => void) | undefined;
  /** When that timer fires; 0 when none is set. */
  private openingAt = 0;
  /** A shared store: told of the closures made here, and the paced recovery's fleet; none alone. */
  private readonly fleet: BreakwaterStore | undefined;

  constructor(
    policy: Pick<Policy, 'throttle' | 'retry'>,
    random: () => number,
    report: Reporter,
    fleet?: BreakwaterStore,
  ) {
    this.policy = policy;
    this.paces = policy.throttle.enabled && policy.throttle.adaptive;
    this.random = random;
    this.report = report;
    this.fleet = fleet;
    this.rule = new ClosingRule(policy, random);
    this.rate = new AdaptiveRate(
      policy.throttle.quietMs,
      (rate, reason, at) => report.send('rate-change', { rate, reason }, at),
      () => fleet?.instances?.(report.key) ?? 1,
      fleet === undefined,
    );
    this.probe = fleet?.gateProbe?.(report.key, () => this.queue.kick()) ?? new Probe();
  }

  /** The pace of the key in calls/s, null when there is no limit. */
  get rateLimit(): number | null {
    return this.policy.throttle.adaptive ? this.rate.peek(Date.now(), this.queue.length > 0) : null;
  }

  /** Where the key stands: closed, waiting for a probe's answer, paced at a rate, or open. */
  get phase(): ThrottlePhase {
    if (this.closedUntilMs !== null) return 'closed';
    if (this.rateLimit === null) return 'open';
    return this.probe.pending ? 'probing' : 'paced';
  }

  /** Epoch ms until which the gate is closed, or null when it is open. */
  get closedUntilMs(): number | null {
    return this.closedUntil > Date.now() ? this.closedUntil : null;
  }

  /**
   * Learns from a response (its status and the verdict classify gave it) after attempt `attempt`, and
   * closes the gate as the key's {@link ClosingRule} says. The `throttled` event reports the delay the
   * gate follows and its source: the server's as sent, or the backoff's (a 429 with no delay, or one
   * of 0 or in the past). `now`: epoch ms when the response arrived. Default now. `sentAt`: epoch ms
   * when its request was sent, if known (only a request sent since the probe went can answer it).
   */
  observe(
    response: { readonly status: number; readonly headers: Headers },
    verdict: Verdict,
    attempt: number,
    now = Date.now(),
    sentAt?: number,
  ): void {
    const answered = this.learn(response.status, now, sentAt);
    const closure = this.rule.decide(response, verdict, attempt, now);
    const closed =
      closure !== undefined &&
      this.close(closure.closedForMs, closure.strict, undefined, closure.cuts, CLOCK_GRAIN_MS);
    // After the closure the answer brings: let out before it, the queue's head took a pass it voids,
    // went back through the gate and lost its place to those queued behind it.
    if (answered) this.queue.kick();
    if (!closed) return;
    const { delayMs, closedForMs, source } = closure;
    // The cut goes with a closure that cuts (a 429's): a spent quota's would carry the last 429's.
    const { cuts } = closure;
    this.fleet?.closeUntil(
      this.report.key,
      closedForMs,
      closure.strict,
      cuts ? this.rate.cut : undefined,
      cuts,
    );
    const at = Date.now();
    this.report.send('throttled', { delayMs, until: this.closedUntil, status: response.status, source }, at);
  }

  /**
   * Closes the gate for `delayMs` from now (a later closure wins; an earlier one changes nothing).
   *
   * `strict` (a 429: the client is over its rate) holds every call until it ends. A non-strict closure
   * (a 503's Retry-After: the server says it is unavailable) holds each call at most once: a call
   * already released from the gate goes on even if another 503 closed it again meanwhile. A server
   * that puts Retry-After on a few percent of its 503s would otherwise keep the gate shut and starve
   * every caller (measured in the bench's `flap` scenario).
   * `cut`: the rate the fleet's recovery follows, when another instance's 429 closed it.
   * `cuts`: the closure is a 429's, so the rate is cut and the recovery paced; a spent quota's is
   * strict but cuts nothing (one request's answer measures no rate). Default `strict`.
   * `graceMs`: added to the closure's end, not its length: a response's closure ends a clock grain
   * later ({@link CLOCK_GRAIN_MS}). Default 0 (a closure heard from the fleet, a test's).
   * @returns true when this call moved the gate's reopening later.
   */
  close(delayMs: number, strict: boolean, cut?: RateCut, cuts = strict, graceMs = 0): boolean {
    const now = Date.now();
    const until = now + delayMs + graceMs;
    // A 429 arriving while a strict closure lasts answers a request sent before it, at the old rate.
    // The rate reads the closure as long as the server said (a 2 s one still reads a burst).
    if (cuts && this.strictUntil <= now) this.throttled(now, now + delayMs, cut);
    if (strict) this.strictUntil = Math.max(this.strictUntil, until);
    if (until <= this.closedUntil) return false;
    this.closedUntil = until;
    this.announcedOpen = false;
    return true;
  }

  /**
   * Waits until the gate lets this call through: the closure, then (after a 429's) the probe's answer,
   * then the call's send slot. Rejects at once with ThrottledError, sending nothing, when the call's
   * release falls after its deadline; rejects with the signal's reason on abort.
   */
  async pass(signal: AbortSignal, deadlineAt: number): Promise<GatePass> {
    return this.enter(signal, deadlineAt);
  }

  /**
   * {@link pass}, except that a call the gate lets through at once (open, no send slot to wait for)
   * gets its pass in the same turn, not a promise: the healthy path awaits nothing here. May throw
   * where `pass` rejects. `now`: epoch ms as the caller just read it, if it did. Default read here.
   */
  enter(signal: AbortSignal, deadlineAt: number, now = Date.now()): GatePass | Promise<GatePass> {
    if (!this.policy.throttle.enabled) return OPEN;
    // A closure is waited out once (a 503's holds a call only once), then the send slot is taken.
    if (this.closedUntil > now) {
      return this.waitOpen(signal, deadlineAt).then((w) => this.takeSlot(signal, deadlineAt, w, Date.now()));
    }
    return this.takeSlot(signal, deadlineAt, false, now);
  }

  /** The call's send slot, once any closure is behind it; `waited`: it waited one out. */
  private takeSlot(
    signal: AbortSignal,
    deadlineAt: number,
    waited: boolean,
    now: number,
  ): GatePass | Promise<GatePass> {
    const slot = this.policy.throttle.adaptive && this.queue.take(signal, deadlineAt, now);
    if (slot instanceof Promise) {
      // The slot is read as the call's promise settles: the queue lets one call out per timer tick,
      // and none in the same turn as the one just let out (its pace then counts from that one).
      return this.waitFor(() => slot.then((p) => [p, this.queue.latestSlot] as const)).then(([p, at]) =>
        this.granted(waited, true, p, at),
      );
    }
    // A key not adaptive took no slot (the queue was not asked).
    return this.granted(
      waited,
      false,
      slot,
      this.policy.throttle.adaptive ? this.queue.latestSlot : undefined,
    );
  }

  /**
   * `probe`: the call goes as the paced recovery's probe. `slot`: the send slot it took on a paced
   * key (see `SendQueue.latestSlot`), if any.
   */
  private granted(waited: boolean, queued: boolean, probe: boolean, slot?: number): GatePass {
    const { epoch } = this;
    if (!this.announcedOpen) {
      this.announcedOpen = true;
      this.report.send('gate-open', {});
    }
    // The healthy path's pass is the same for every call of an epoch: one per call would be garbage.
    if (!waited && !queued && !probe && slot === undefined) {
      if (this.openPass?.epoch !== epoch)
        this.openPass = { epoch, pass: this.makePass(epoch, false, false, false) };
      return this.openPass.pass;
    }
    return this.makePass(epoch, waited, queued, probe, slot);
  }

  private makePass(epoch: number, waited: boolean, queued: boolean, probe: boolean, slot?: number): GatePass {
    const unused = probe ? this.giveBack(epoch) : undefined;
    return {
      letsThrough: () => {
        const until = this.until(waited);
        // A key never closed (until 0) needs no clock read.
        return epoch === this.epoch && (until === 0 || until <= Date.now());
      },
      held: waited || queued,
      unused,
      unsent: unused || slot !== undefined ? this.giveSlotBack(epoch, unused, slot) : undefined,
    };
  }

  /**
   * What a probe's unused pass does, once: the next call goes as the probe (unless a throttle since
   * re-armed it, voiding the pass).
   */
  private giveBack(epoch: number): () => void {
    let given = false;
    return () => {
      if (given || epoch !== this.epoch || !this.probe.giveBack) return;
      given = true;
      this.probe.giveBack();
      this.queue.kick();
    };
  }

  /**
   * What a pass whose call sent nothing does, once: hands on the probe (`unused`), and gives its send
   * slot back (unless a throttle since voided the pass: the queue's pace was re-set then).
   */
  private giveSlotBack(
    epoch: number,
    unused: (() => void) | undefined,
    slot: number | undefined,
  ): () => void {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      unused?.();
      if (slot !== undefined && epoch === this.epoch) this.queue.giveBack(slot);
    };
  }

  /**
   * Waits out the closure, abortably. True when the call waited: a 503's closure holds a call only
   * once.
   */
  private async waitOpen(signal: AbortSignal, deadlineAt: number): Promise<boolean> {
    let now = Date.now();
    let waited = false;
    // A call released while another response closed the gate again waits for the new closure,
    // unless it has waited once already and the new closure is not a 429's.
    for (let until = this.until(waited); until > now; until = this.until(waited)) {
      // After a 429 the send queue spreads the release at the rate; after other closures, a random
      // moment within the spread does.
      const paced = this.rateLimit !== null;
      const spread = paced ? 0 : Math.floor(this.random() * this.policy.throttle.releaseSpreadMs);
      if (until + spread > deadlineAt) throw this.refusal(this.closedUntil);
      const ms = await this.waitFor(() => this.hold(until, spread, deadlineAt, signal));
      await this.wait(ms, signal);
      waited = true;
      now = Date.now();
    }
    return waited;
  }

  /**
   * Holds a call, in arrival order, until the gate opens for it; resolves with its share of the
   * release spread. One timer releases every held call: timers of their own, aimed at one moment,
   * fired out of arrival order in Node, and the first callers were the ones refused at the send queue.
   */
  private hold(until: number, spread: number, deadlineAt: number, signal: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      signal.throwIfAborted();
      const held: Held = {
        until,
        spread,
        deadlineAt,
        settle: (error, ms = 0) => {
          signal.removeEventListener('abort', onAbort);
          if (error === undefined) resolve(ms);
          else reject(error);
        },
      };
      const onAbort = (): void => {
        this.held.delete(held);
        held.settle(signal.reason);
        // The last one out stops the timer: it must not keep the process up until the closure ends.
        if (this.held.size === 0) this.sweep();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.held.add(held);
      // Swept on arrival only when it is due before the timer: a burst costs no pass over the list.
      if (this.openingAt === 0 || Math.max(until, this.strictUntil) < this.openingAt) this.sweep();
    });
  }

  /**
   * Releases the held calls the gate now opens for, in arrival order (their spreads sorted, so the
   * random spread keeps that order too), refuses those whose release fell past their deadline (the
   * gate closed again), and sets the one timer for the rest.
   */
  private sweep(): void {
    this.cancelOpening?.();
    const now = Date.now();
    const due: Held[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const h of this.held) {
      // Held for the closure it met; a 429's closed the gate since holds it on (a 503's does not).
      const until = Math.max(h.until, this.strictUntil);
      if (until > now && until + h.spread <= h.deadlineAt) {
        next = Math.min(next, until);
        continue;
      }
      this.held.delete(h);
      if (until <= now) due.push(h);
      else h.settle(this.refusal(this.closedUntil));
    }
    const spreads = due.map((h) => h.spread).sort((x, y) => x - y);
    // A tight deadline keeps the spread it was checked against.
    due.forEach((h, i) => {
      const ms = spreads[i] as number;
      h.settle(undefined, now + ms <= h.deadlineAt ? ms : h.spread);
    });
    const left = this.held.size > 0;
    this.openingAt = left ? next : 0;
    this.cancelOpening = left ? after(Math.max(1, next - now), () => this.sweep()) : undefined;
  }

  /** The send queue's view of this gate: the rate's interval, what holds every call, the probe. */
  private queueHost(): SendQueueHost {
    return {
      interval: (now) => {
        const rate = this.rate.rate(now, this.queue.length > 0);
        return rate === null ? 0 : 1_000 / rate;
      },
      blockedUntil: (now) => Math.max(this.strictUntil, this.probe.heldUntil(now)),
      surelyBlockedUntil: () => this.strictUntil,
      reach: (from, to) => this.rate.reach(from, to),
      released: (now) => {
        this.rate.onSend(now);
        // The first call out after a 429's cool-down goes alone, as the probe.
        const probe = this.rate.peek(now) !== null && this.probe.take(now) === true;
        if (probe) this.probeSentAt = now;
        return probe;
      },
      refusal: (slotAt) => this.refusal(slotAt),
    };
  }

  private refusal(until: number): ThrottledError {
    return new ThrottledError({ endpoint: this.report.key, retryAfterMs: Math.ceil(until - Date.now()) });
  }

  /**
   * A response of the key arrived: any but a throttle status was accepted, and it answers the probe
   * (true) unless its request went before the probe did (it tells nothing of the cool-down: answered,
   * the held calls went out before the probe's 429).
   */
  private learn(status: number, now: number, sentAt: number | undefined): boolean {
    // Only the adaptive rate reads what was accepted, and only it arms the probe.
    if (!this.paces) return false;
    const accepted = !this.policy.throttle.statuses.includes(status);
    this.rate.onAnswer(sentAt ?? now, accepted, now);
    return (sentAt === undefined || sentAt >= this.probeSentAt) && this.probe.answer(accepted);
  }

  /**
   * A request of the key went out at `at` (`runAttempt`): until the answers of a second's requests have
   * come, what the upstream accepted of them is not known.
   */
  sent(at: number): void {
    if (this.paces) this.rate.onRequest(at);
  }

  /** The request sent at `sentAt` ended at `now` with no answer (an error, an abort): not accepted. */
  lost(sentAt: number, now: number): void {
    if (this.paces) this.rate.onAnswer(sentAt, false, now);
  }

  /** The client is over the upstream's rate: cut the rate, void passes taken at the old one, probe. */
  private throttled(now: number, reopensAt: number, cut: RateCut | undefined): void {
    if (!this.paces) return;
    this.rate.onThrottle(now, reopensAt, cut);
    this.epoch++;
    this.probe.arm(reopensAt);
  }

  /** When the gate opens for a call that has (or has not) waited once already; 0 when it is off. */
  private until(waited: boolean): number {
    if (!this.policy.throttle.enabled) return 0;
    return waited ? this.strictUntil : this.closedUntil;
  }

  private wait(ms: number, signal: AbortSignal): Promise<void> {
    return this.waitFor(() => sleep(ms, signal));
  }

  private async waitFor<T>(wait: () => Promise<T>): Promise<T> {
    this.waiting++;
    try {
      return await wait();
    } finally {
      this.waiting--;
    }
  }
}

/**
 * A closure ends this much past its delay. `Date.now()` reads whole ms: the response came up to 1 ms
 * after the ms its closure is counted from, and a gate reopened at that read + the delay let calls out
 * up to 1 ms before the delay had run from the response. Where a round trip is shorter than a ms (a
 * sidecar, loopback), such a send reached the server inside the Retry-After it had given (the bench's
 * `throttle-tenant` smoke: one request 0.04 ms inside the window, sent 999.5 ms after the 429 came).
 */
export const CLOCK_GRAIN_MS = 1;

/** A call held at the closed gate. */
interface Held {
  /** The end of the closure the call met. */
  readonly until: number;
  readonly spread: number;
  readonly deadlineAt: number;
  /** Refuses the call with `error`, or releases it to wait `ms` more (its share of the spread). */
  readonly settle: (error: unknown, ms?: number) => void;
}

/** The pass of a gate that is switched off. */
const OPEN: GatePass = { letsThrough: () => true, held: false };
