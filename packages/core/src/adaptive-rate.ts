import { AcceptedWindow } from './accepted-window.ts';
import { BETA, cubicPeak, cubicRate, cubicSends } from './cubic.ts';
import { RateMeter } from './rate-meter.ts';
import type { RateCut } from './store.ts';

/** The slowest pace, calls/s (botocore's minimum fill rate): a key is never shut by its rate alone. */
const MIN_RATE = 0.5;
/** The rate never runs further ahead of what the callers send than this (botocore's 2x cap). */
const MAX_AHEAD_OF_SENT = 2;

/**
 * Where the recovery stops, as a share of the rate the upstream accepted before the throttle: that
 * rate is counted over a second cut to 50 ms slots (up to 5 % high), and timers fire a few ms late, so
 * at 1.0 a sliding-window limiter (the bench's `throttle` scenario) still refused a request every 3 s.
 */
const PLATEAU = 0.95;

/**
 * A first throttle whose accepted (or pending) sends all went within this many ms read the limiter's
 * burst, not its rate (see `cutFrom`).
 */
const BURST_SPAN_MS = 250;
/** The longest closure after which a burst is read: past it, each 429 the climb meets costs too much. */
const BURST_READ_MAX_CLOSURE_MS = 2_000;

/** Why the rate changed: a throttle cut it, or a quiet period without one dropped it. */
type RateChangeReason = 'throttled' | 'revised' | 'quiet';

/**
 * The client-side send rate of one endpoint key, active only once the key has been throttled; the
 * send queue (send-queue.ts) lets one call out per 1/rate, so nothing bursts. On a throttle the rate
 * is cut to `BETA` x the rate the upstream accepted of the requests sent over the last second (those
 * still out counted as accepted until their answers come, during the cool-down), then recovers along
 * the concave half of the cubic curve to `PLATEAU` x that rate; after `quietMs` without a throttle it
 * is dropped.
 *
 * The curve's clock starts when the cool-down ends, not at the throttle as in botocore: nothing is sent
 * during a cool-down, so nothing is learnt either, and counting it would spend most of the careful
 * concave part (K is about 2 s at 10/s) behind a closed gate, or after a cool-down longer than K
 * resume above the rate that tripped the limiter.
 *
 * botocore cuts from its measured SEND rate. Under 2x overload that is twice the limiter's rate, so
 * the first cut (to 1.4x) still overshoots and several 429s follow; what the upstream accepted in the
 * same second is the limiter's rate itself (plus a token bucket's burst). The second counts the
 * cool-down too: what the limiter refilled while the gate was closed it hands out after, and counted
 * from the reopening only, the count ran up to 1.5x the limit and the bench's `throttle` scenario
 * lost 7 of 240 calls to 4 extra cool-downs.
 *
 * A first throttle (no rate in force) whose accepted sends all went in one short burst read what the
 * limiter held at that instant, not how fast it refills: a guess, whose curve starts at the reading
 * and climbs at once (see `cutFrom`), and the send queue counts the climb (`reach`).
 *
 * In a fleet (a shared store's `instances`), `wMax` is the fleet's: an instance cuts from its own
 * accepted rate times the instances on the key, publishes that cut with the closure, the others adopt
 * it, and each sends 1/n of the one curve, so the fleet's sum grows as one client's would, not n
 * curves each growing at the full pace (and the floor is the fleet's, not n floors).
 */
export class AdaptiveRate {
  private readonly quietMs: number;
  private readonly changed: (rate: number | null, reason: RateChangeReason, at: number) => void;
  private readonly sent = new RateMeter();
  private readonly accepted = new AcceptedWindow();
  /** The instances sharing the key's rate (1 for a lone process). */
  private readonly instances: () => number;
  /** The rate the last throttle hit (Wmax, for the whole fleet), undefined while there is no limit. */
  private wMax: number | undefined;
  /** When the cool-down of the last throttle ended: the curve's and the quiet period's origin. */
  private since = 0;
  /** The last cut came from what the upstream accepted (its rate is known), not from a guess. */
  private known = false;
  /**
   * Seconds the curve's clock starts ahead: K (its convex half at once) after a burst's reading, whose
   * rate is no peak to come back to carefully; 0 otherwise.
   */
  private lead = 0;
  /** The key was not paced when the last throttle came: its second may be a burst's (`cutFrom`). */
  private unpaced = false;
  /** The rate the last throttle hit, if the key was paced then: no cut goes above it. */
  private ceiling: number | null = null;
  /**
   * When the last throttle came, while answers of requests sent in its second may still revise its
   * cut (see `onAnswer`); 0 when none can.
   */
  private throttledAt = 0;
  /** Whether a cut is revised as those answers come: not in a fleet, which follows the published one. */
  private readonly revises: boolean;

  constructor(
    quietMs: number,
    changed: (rate: number | null, reason: RateChangeReason, at: number) => void,
    instances: () => number,
    revises = true,
  ) {
    this.quietMs = quietMs;
    this.changed = changed;
    this.instances = instances;
    this.revises = revises;
  }

  /**
   * The last throttle's cut, to publish with its closure (the closures that follow a throttle belong
   * to it; only a strict one's cut is read). Undefined before the first.
   */
  cut: RateCut | undefined;

  /**
   * The pace now in calls/s, null when there is no limit. Reports the drop after a quiet period.
   * `backlog`: calls are queued for a slot, so the callers want more than the rate already.
   */
  rate(now: number, backlog = false): number | null {
    if (this.wMax === undefined) return null;
    if (this.throttledAt !== 0 && now >= this.since) this.revised(now);
    if (now - this.since < this.quietMs) return this.rateAt(now, this.wMax, backlog);
    this.wMax = undefined;
    this.changed(null, 'quiet', this.since + this.quietMs);
    return null;
  }

  /** As `rate`, without reporting anything: for snapshots. */
  peek(now: number, backlog = false): number | null {
    const { wMax } = this;
    if (wMax === undefined || now - this.since >= this.quietMs) return null;
    return this.rateAt(now, wMax, backlog);
  }

  /** A request went out at `at`. */
  onRequest(at: number): void {
    this.accepted.add(at, 1);
  }

  /**
   * The request sent at `sentAt` was answered (`accepted`: with anything but a throttle status) or got
   * none (an error: not accepted). Until the cool-down ends, the answer of a request sent before the
   * last throttle revises its cut: the curve starts at the reopening, so nothing was paced by the old
   * one. Reported once every answer of the throttle's second has come, or at the reopening.
   */
  onAnswer(sentAt: number, accepted: boolean, now: number): void {
    this.accepted.add(sentAt, -1, accepted);
    if (sentAt > this.throttledAt || now >= this.since) return;
    if (this.cutFrom(this.throttledAt)) this.revised(now);
  }

  /**
   * The revisions of the last throttle's cut are over (its last answer came, or the cool-down ended
   * with answers still out): reported once, and only when the cut moved from the one the 429 reported.
   * Its own reason (as `throttled`, each 429 with answers out read as two throttles), and not once per
   * answer (80 events for one 429, cross-check s23); at the reopening too, or the events kept the 429's
   * rate while the key was paced at the revised one (review s23).
   */
  private revised(now: number): void {
    this.throttledAt = 0;
    // A burst's reading, once answered, starts its curve at the reading, above the one reported.
    if (this.wMax !== this.ceiling || this.lead > 0) {
      this.changed(this.rateAt(now, this.wMax as number), 'revised', now);
    }
  }

  /**
   * The upstream throttled: cut the rate; the recovery starts when the cool-down ends, at `reopensAt`.
   * `cut`: the fleet's, published by the instance that was throttled (this one measures nothing then).
   */
  onThrottle(now: number, reopensAt: number, cut?: RateCut): void {
    this.ceiling = this.rate(now);
    // A long closure (a limiter that says Retry-After: 10) makes each 429 the climb finds cost that
    // long: a burst is read only after a short one (review s24 P, R1: 35 served against main's 77).
    this.unpaced = this.ceiling === null && reopensAt - now <= BURST_READ_MAX_CLOSURE_MS;
    this.since = reopensAt;
    this.throttledAt = 0;
    this.lead = 0;
    if (cut) ({ wMax: this.wMax, known: this.known } = this.cut = cut);
    // Answers still out: revised as they come (not in a fleet: its instances follow the cut published
    // with the closure, one curve), never above this bound, which counted them all as accepted (all
    // 429s, the send rate's fallback read a burst of 80 as 800/s).
    else if (!this.cutFrom(now) && this.revises) {
      this.throttledAt = now;
      this.ceiling = this.wMax as number;
    }
    this.changed(this.rateAt(now, this.wMax as number), 'throttled', now);
  }

  /**
   * Cuts from the throttled second up to `at`: what the upstream accepted of the requests sent in it,
   * those whose answer is still out counted as accepted (an upper bound until the last one came). True
   * when none is out. Nothing accepted and nothing out: the rate that was just throttled
   * is the best estimate, and botocore's measured send rate before there was one.
   */
  private cutFrom(at: number): boolean {
    const { from, accepted, pending, span } = this.accepted.tally(at);
    const counted = accepted + pending;
    // Unpaced, everything accepted went in one short burst: the limiter gave what it held at that
    // instant (a token bucket's burst), which says nothing of how fast it refills. A 20/s bucket of
    // burst 5 read so as 5/s, held for `quietMs`, served 80 callers by 12-17 s rather than 4 s, and the
    // queue refused 90 of 200 at the reopening. A paced key's second is a rate: its sends go one by
    // one, and what a limiter refilled during the cool-down before is its rate, not a burst.
    // A fleet's instances publish one cut and follow it (its bench is unchanged): not read so there.
    const burst = this.revises && this.unpaced && counted > 1 && span <= BURST_SPAN_MS;
    const { ceiling } = this;
    const measured = counted > 0 ? (counted * 1_000) / (at - from) : (ceiling ?? this.sent.perSecond(at));
    this.cut = {
      wMax: Math.max(MIN_RATE, Math.min(measured, ceiling ?? Number.POSITIVE_INFINITY)) * this.instances(),
      // Counted from answers (those still out as accepted), the cut is an upper bound: the concave
      // half alone, up to just under it, and a 429 corrects it if it is still too high. Taken as a
      // guess while answers were out, a slow upstream (answers later than the reopening) or a fleet
      // (some request always out) ran the convex half past it again and again (review s23: 28-40 429s
      // in 110 s against a 2/s bucket where main had 4).
      // A burst's reading is no bound at all: a guess, the whole curve, whose convex half outgrows it.
      // With answers still out (a slow upstream), the guess would start at 0.7x the reading and keep
      // callers on a climb their answers cannot meet: they timed out at their deadline (review s24 P,
      // R2); the reading is then held as an upper bound, as before.
      known: counted > 0 && !(burst && pending === 0),
    };
    ({ wMax: this.wMax, known: this.known } = this.cut);
    // Its convex half at once, once every answer has come: with answers out, the bound is only how many
    // went in that instant (80 in flight read as 80/s), the whole curve's start at 0.7x is prudent.
    this.lead = burst && pending === 0 ? cubicPeak(this.wMax) : 0;
    return pending === 0;
  }

  /**
   * The calls this instance can expect to send between `from` and `to` (epoch ms) if no 429 comes,
   * while calls queue; null when that is the rate of now times the time, as far as the queue should
   * count on: no limit, or a known cut (held at its plateau). A guess's curve climbs, and the queue
   * counted at the rate of the reopening refused 90 of 200 callers a climb would have served by their
   * deadline.
   */
  reach(from: number, to: number): number | null {
    const { wMax } = this;
    if (wMax === undefined || this.known) return null;
    const start = Math.max(0, from - this.since) / 1_000 + this.lead;
    return cubicSends(wMax, start, Math.max(start, (to - this.since) / 1_000 + this.lead)) / this.instances();
  }

  /** A call was let out to send. */
  onSend(now: number): void {
    this.sent.record(now);
  }

  private rateAt(now: number, wMax: number, backlog = false): number {
    // Once the upstream's rate is known, the concave half of the curve only: back up to just under
    // the rate it accepted, then hold it. The convex half probes above it, and against a limiter that
    // fixed each 429 costs a whole cool-down (bench `throttle`: a 429 every 3.5 s, 63 % goodput,
    // 215/240 calls); the quiet period's drop to no limit is the probe instead. A cut from a guess
    // (answers still out, or nothing accepted) keeps the whole curve, so a low guess is soon outgrown.
    // In a fleet, the fleet's curve, floor and cap, of which this instance sends its share.
    const n = this.instances();
    const cubic = cubicRate(wMax, Math.max(0, now - this.since) / 1_000 + this.lead);
    const curve = this.known ? Math.min(PLATEAU * wMax, cubic) : cubic;
    // The cap keeps a quiet key from climbing to a rate its callers never sent, then bursting at it;
    // it never holds the rate below where the last throttle put it, nor while calls queue for slots
    // (the measured send rate still counts the cool-down's silence then, and held the pace at its
    // post-cut value for a second on the loopback test).
    const cap = backlog ? curve : Math.max(MAX_AHEAD_OF_SENT * this.sent.perSecond(now) * n, BETA * wMax);
    return Math.max(MIN_RATE, Math.min(curve, cap)) / n;
  }
}
