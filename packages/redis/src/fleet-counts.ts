import type { FleetCounter, FleetCounts } from '@breakwater/core';
import { addBounded, MAX_WATCHED, touch } from './bounded.ts';
import type { RedisConnection } from './connection.ts';
import { COUNT } from './scripts.ts';

/** The names a fleet count holds; any other field in Redis is not this version's, and is skipped. */
const COUNTED: readonly string[] = ['calls', 'retries', 'failures'];

/** Buckets per counted window, as the in-process sliding window's. */
const BUCKETS = 10;

/**
 * Counts per `COUNT` script call: each costs Redis about 14 operations, and a script blocks Redis
 * while it runs, so a flush of many counts goes as several short calls, one after the other (64
 * counts: a few ms), rather than one that outlasts the command timeout.
 */
export const COUNTS_PER_CALL = 64;

/**
 * One fleet count of this instance: what was added since the last flush, and the other instances'
 * counts as the last refresh read them.
 */
class Counter implements FleetCounter {
  readonly windowMs: number;
  pending = new Map<keyof FleetCounts, number>();
  seen: FleetCounts[] = [];
  /**
   * Other instances in the window at the last answered refresh. Kept while Redis is down: an instance
   * pacing its share of a fleet's rate keeps to its share rather than growing to the whole rate.
   */
  peers = 0;
  /**
   * Set by the first count: a counter nothing counted with (a switched-off breaker or budget) costs no
   * round trip.
   */
  used = false;
  /** Local epoch ms of the oldest increment not yet flushed. */
  pendingSince = 0;
  /** Local epoch ms of the first flush that found nothing counted since the one before (0: counting). */
  idleSince = 0;
  private readonly firstUse: () => void;

  constructor(windowMs: number, firstUse: () => void) {
    this.windowMs = windowMs;
    this.firstUse = firstUse;
  }

  add(name: keyof FleetCounts): void {
    if (!this.used) this.firstUse();
    this.used = true;
    if (this.pending.size === 0) this.pendingSince = Date.now();
    this.pending.set(name, (this.pending.get(name) ?? 0) + 1);
  }

  others(): readonly FleetCounts[] {
    return this.seen;
  }

  /**
   * Forgotten by the book (least recently used past the bound): no longer flushed nor refreshed, so
   * it answers no other instance rather than counts that would never change again.
   */
  evicted(): void {
    this.seen = [];
    this.peers = 0;
    this.used = false;
    this.idleSince = 0;
    this.pending.clear();
  }

  /**
   * True once nothing was counted here for a window (as of `now`, a flush's): the counter is then
   * set aside as if evicted, and its next count brings it back (flushed at once, as a first count).
   * Read at every refresh, a thousand keys counted once each cost Redis 42 ms a second per instance.
   */
  idle(now: number): boolean {
    if (this.pending.size > 0) {
      this.idleSince = 0;
      return false;
    }
    if (this.idleSince === 0) this.idleSince = now;
    if (now - this.idleSince < this.windowMs) return false;
    this.evicted();
    return true;
  }
}

/**
 * This instance's fleet counts (the retry budget's `budget:<key>`, the opening rule's
 * `breaker:<key>`), flushed to Redis and read back by the refresh, in time buckets numbered by Redis's
 * clock (the `COUNT` script).
 */
export class FleetCountBook {
  private readonly connection: RedisConnection;
  private readonly prefix: string;
  private readonly id: string;
  private readonly counters = new Map<string, Counter>();
  /** A flush still sending its calls: the next refresh's waits for the one after. */
  private flushing = false;
  /** A first count's flush is due (one for the counters that start together). */
  private early = false;
  /** A first count came while a flush was in flight: another flush follows it at once. */
  private again = false;

  constructor(connection: RedisConnection, prefix: string, id: string) {
    this.connection = connection;
    this.prefix = prefix;
    this.id = id;
  }

  /** The counter named `name`, made on first use; two per key in use (budget and breaker). */
  counter(name: string, windowMs: number): FleetCounter {
    return (
      touch(this.counters, name) ??
      addBounded(this.counters, name, new Counter(windowMs, () => this.soon()), 2 * MAX_WATCHED, (old) =>
        old.evicted(),
      )
    );
  }

  /**
   * A counter's first count is flushed at once, not at the next refresh: the others learn that this
   * instance is on the key a round trip after its first call. A fleet that starts together and is
   * throttled in its first second cut its rate from one instance's share times the instances it knew
   * then; with those not flushed yet, the fleet's pace was a fraction of the limiter's (bench fleet:
   * 44 of 64 calls done).
   */
  private soon(): void {
    if (this.early) return;
    this.early = true;
    // After the call's turn: the first call does not carry the round trip.
    setTimeout(() => {
      this.early = false;
      // A flush in flight may have taken its counters before this one counted: skipped, the first
      // count would wait for the next refresh.
      if (this.flushing) this.again = true;
      else void this.flush();
    }, 0);
  }

  /** Instances that counted on `key` in the window at the last answered refresh, this one included. */
  instances(key: string): number {
    const budget = this.counters.get(`budget:${key}`)?.peers ?? 0;
    const breaker = this.counters.get(`breaker:${key}`)?.peers ?? 0;
    return 1 + Math.max(budget, breaker);
  }

  /** Redis is down: counts read before grow stale, and the local windows decide alone until it answers. */
  forgetOthers(): void {
    for (const counter of this.counters.values()) counter.seen = [];
  }

  /**
   * Writes every count's increments since the last flush and reads the fleet's back, in calls of at
   * most {@link COUNTS_PER_CALL} counts made one after the other: the only way counts reach Redis, so
   * a call never waits for it. A call that gets no answer in time drops its own counts' increments
   * (the local window still holds them; the script may have run, so sending them again could count
   * them twice) and clears their fleet view; the flush stops there (Redis is then marked down), and
   * the counts not yet sent keep their increments for the first flush once Redis answers again, as
   * do counts made while it is down, unless they are older than their window by then.
   */
  async flush(): Promise<void> {
    if (!this.connection.up || this.flushing) return;
    this.flushing = true;
    try {
      const now = Date.now();
      const used = [...this.counters].filter(([, counter]) => counter.used && !counter.idle(now));
      // A pipeline asks for its counter once, when built: counting on it is what keeps it in use, so a
      // busy key is not the one evicted when new keys come (touched here, off the calls' path).
      for (const [name, counter] of used) if (counter.pending.size > 0) touch(this.counters, name);
      for (let start = 0; start < used.length; start += COUNTS_PER_CALL) {
        if (!(await this.flushChunk(used.slice(start, start + COUNTS_PER_CALL)))) return;
      }
    } finally {
      this.flushing = false;
      if (this.again) {
        this.again = false;
        void this.flush();
      }
    }
  }

  /** One `COUNT` call for `chunk`; false when Redis did not answer it. */
  private async flushChunk(chunk: [string, Counter][]): Promise<boolean> {
    const keys: string[] = [];
    const args = [this.id];
    for (const [name, counter] of chunk) {
      // Sent late, counts out of their window would count in the fleet's current one.
      if (Date.now() - counter.pendingSince > counter.windowMs) counter.pending.clear();
      const pending = [...counter.pending].flatMap(([k, n]) => [k, String(n)]);
      counter.pending.clear();
      const bucketMs = Math.max(1, Math.ceil(counter.windowMs / BUCKETS));
      keys.push(`${this.prefix}count:${name}`);
      args.push(String(bucketMs), String(BUCKETS), String(pending.length / 2), ...pending);
    }
    const replies = await this.connection.script<(string[][] | string)[]>(COUNT, keys, args);
    chunk.forEach(([, counter], i) => {
      const buckets = replies?.[i];
      // A count whose key Redis refused (a clash with another app's key) is this instance's alone
      // until it no longer is; the store and the other counts stay shared.
      if (typeof buckets === 'string') this.connection.replyError(buckets, keys);
      counter.seen = buckets === undefined || typeof buckets === 'string' ? [] : this.othersOf(buckets);
      if (Array.isArray(buckets)) counter.peers = counter.seen.length;
    });
    return replies !== undefined;
  }

  /** Sums the buckets' "instance|name" fields per instance, leaving out this one's. */
  private othersOf(buckets: string[][]): FleetCounts[] {
    const byInstance = new Map<string, { -readonly [K in keyof FleetCounts]: number }>();
    for (const fields of buckets) {
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const [instance = '', name = ''] = (fields[i] ?? '').split('|');
        if (instance === this.id || !COUNTED.includes(name)) continue;
        const counts = byInstance.get(instance) ?? { calls: 0, retries: 0, failures: 0 };
        counts[name as keyof FleetCounts] += Number(fields[i + 1]);
        byInstance.set(instance, counts);
      }
    }
    return [...byInstance.values()];
  }
}
