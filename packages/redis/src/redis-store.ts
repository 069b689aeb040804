import type {
  BreakwaterStore,
  FleetCounter,
  GateProbe,
  RateCut,
  StoreClosure,
  StoreListener,
} from '@breakwater/core';
import { addBounded } from './bounded.ts';
import { RedisConnection } from './connection.ts';
import { FailureRunBook } from './failure-runs.ts';
import { FleetCountBook } from './fleet-counts.ts';
import { GateViews, gateKey, type Message, parseMessage } from './gate-closures.ts';
import { FleetProbe } from './gate-probe.ts';
import {
  checkRedisOptions,
  type RedisClientLike,
  type RedisStoreOptions,
  type RedisSubscriberLike,
} from './options.ts';
import { ProbeLeases } from './probe-lease.ts';
import { CLOSE, NO_CUT, READ } from './scripts.ts';

export type { RedisClientLike, RedisStoreOptions, RedisSubscriberLike } from './options.ts';

/** What {@link redisStore} returns: a store for `wrapFetch`'s `store` option. */
export interface RedisStore extends BreakwaterStore {
  /** This instance's share of the fleet count `name`: one counter per name, flushed by the refresh. */
  counter(name: string, windowMs: number): FleetCounter;
  /** Stops the refresh and closes the store's subscriber connection; the client stays the caller's. */
  close(): void;
}

/**
 * A store for `wrapFetch(fetch, { store })` that shares, through Redis, the throttle gate's closures
 * (a server delay seen by any instance closes the key's gate on all of them) and its paced recovery
 * (one probe for the fleet, each instance pacing its share of one rate), and the breaker's half-open
 * probe (one per interval for the fleet). Durations come from Redis's key expiries (`PX`, `PTTL`),
 * never from comparing instance clocks. A healthy call never waits for Redis: closures arrive by
 * pub/sub into a local view, and every command is bounded by `timeoutMs`, past which the instance goes
 * on with its local state.
 *
 * @throws ConfigError when an option is invalid, naming it.
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  checkRedisOptions(options);
  return new RedisBackedStore(options);
}

/** Listeners held before `attach` first looks for collected ones: a few wrapped fetches never sweep. */
const SWEEP_FROM = 64;

/** The store itself: what the fleet says, told to the wrapped fetches; what they say, told to Redis. */
class RedisBackedStore implements RedisStore {
  readonly shared = true;
  private readonly prefix: string;
  private readonly channel: string;
  /** Runs travel on their own channel: a version that does not know them never reads them as closures. */
  private readonly runsChannel: string;
  private readonly id = crypto.randomUUID();
  private readonly refreshMs: number;
  private readonly timeoutMs: number;
  /**
   * Held weakly: each wrapped fetch holds its own listener, and one the app dropped (a wrapped fetch
   * per tenant or job) must not be kept, with its endpoints, for the store's life.
   */
  private readonly listeners = new Set<WeakRef<StoreListener>>();
  /** The size of {@link listeners} at which `attach` next forgets those collected. */
  private sweepAt = SWEEP_FROM;
  private readonly connection: RedisConnection;
  private readonly views = new GateViews();
  private readonly leases: ProbeLeases;
  private readonly counts: FleetCountBook;
  private readonly runs: FailureRunBook;
  /**
   * The gate probe of each key in use here (the last gate built for it, with several wrapped fetches),
   * held weakly as the listeners are: its gate holds it, and a probe reaches its wrapped fetch.
   */
  private readonly probes = new Map<string, WeakRef<FleetProbe>>();
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly client: RedisClientLike;
  private subscriber: RedisSubscriberLike | undefined;
  /** The subscriber's first connection is being made (see `close`). */
  private connecting = false;
  /** A subscription attempt is in flight: the refresh does not start another. */
  private subscribing = false;
  /** The channels the store listens on, and what hears each. */
  private readonly channels: Map<string, (raw: string) => void>;
  /** The channels subscribed to; one missing is asked for again at each refresh. */
  private readonly listening = new Set<string>();
  private closed = false;
  /** Keys first used in this turn, read together at its end (see `closures`). */
  private fresh: string[] = [];

  constructor(options: RedisStoreOptions) {
    this.prefix = options.prefix ?? 'breakwater:';
    this.channel = `${this.prefix}gate`;
    this.runsChannel = `${this.prefix}runs`;
    this.timeoutMs = options.timeoutMs ?? 50;
    this.connection = new RedisConnection(options.client, this.timeoutMs, (up, cause) =>
      this.status(up, cause),
    );
    this.leases = new ProbeLeases(this.connection, this.prefix, this.id);
    this.counts = new FleetCountBook(this.connection, this.prefix, this.id);
    // Sent even while the store is marked down (`probing`): a failure is off the healthy path, no call
    // waits for it, and one slow answer must not silence the fleet's runs until the next refresh.
    this.runs = new FailureRunBook(
      this.id,
      (raw) => void this.connection.command(['PUBLISH', this.runsChannel, raw], true),
      (key) => this.counts.instances(key),
    );
    this.refreshMs = options.refreshMs ?? 1_000;
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    // A refresh timer must not keep a process alive that has nothing else to do.
    (this.timer as { unref?: () => void }).unref?.();
    this.client = options.client;
    this.channels = new Map([
      [this.channel, (raw: string) => this.onMessage(raw)],
      [this.runsChannel, (raw: string) => this.runs.onMessage(raw)],
    ]);
    void this.subscribe();
    void this.connection.loadScripts();
  }

  get up(): boolean {
    return this.connection.up;
  }

  attach(listener: StoreListener): void {
    this.listeners.add(new WeakRef(listener));
    // Dead refs are otherwise forgotten only when news walks them: a quiet store kept one per wrapped
    // fetch made and dropped. Swept at each doubling, the cost per attach stays constant.
    if (this.listeners.size < this.sweepAt) return;
    for (const ref of this.listeners) if (!ref.deref()) this.listeners.delete(ref);
    this.sweepAt = Math.max(SWEEP_FROM, 2 * this.listeners.size);
  }

  /** The listeners of the wrapped fetches still alive; those collected are forgotten on the way. */
  private *attached(): Generator<StoreListener> {
    for (const ref of this.listeners) {
      const listener = ref.deref();
      if (listener) yield listener;
      else this.listeners.delete(ref);
    }
  }

  closeUntil(key: string, ms: number, strict: boolean, cut?: RateCut, cuts?: boolean): void {
    this.views.learn(key, ms, strict, cut, false, cuts);
    if (!this.up) return;
    const message = JSON.stringify({ key, ms, strict, from: this.id, cut, cuts } satisfies Message);
    const keys = [gateKey(this.prefix, key, strict)];
    // Marked so that an instance reading the closure at its refresh, its message missed, cuts no rate either.
    const value = cuts === false ? `${this.id}${NO_CUT}` : this.id;
    const args = [String(Math.ceil(ms)), value, this.channel, message];
    void this.connection
      .script<number | string>(CLOSE, keys, args)
      // A PUBLISH the ACL refuses: the closure is written, and the others read it at their refresh.
      .then((reply) => typeof reply === 'string' && this.connection.replyError(reply, [...keys, ...args]));
  }

  closures(key: string): readonly StoreClosure[] {
    // A key first used here (an instance just started, a scale-out) is read at once, not at the next
    // refresh: its calls would otherwise go out, for up to `refreshMs`, into a cool-down the fleet holds.
    if (!this.views.watched(key)) this.readSoon(key);
    return this.views.closures(key);
  }

  tryLease(key: string, ms: number, maxMs?: number): true | number | Promise<true | number> {
    return this.leases.tryLease(key, ms, maxMs);
  }

  probeClosed(key: string): void {
    this.leases.closed(key);
    this.publish({ key, ms: 0, strict: false, from: this.id, closedBreaker: true });
  }

  gateProbe(key: string, kick: () => void): GateProbe {
    const lease = `gate:${key}`;
    const accepted = (): void => {
      // Freed, so that the next cool-down's probe need not wait for this lease to expire.
      this.leases.free(lease);
      this.publish({ key, ms: 0, strict: false, from: this.id, gateProbeAnswered: true });
    };
    const probe = new FleetProbe({ lease: (ms) => this.leases.tryLease(lease, ms), accepted }, kick);
    addBounded(this.probes, key, new WeakRef(probe));
    return probe;
  }

  instances(key: string): number {
    return this.counts.instances(key);
  }

  counter(name: string, windowMs: number): FleetCounter {
    const counter = this.counts.counter(name, windowMs);
    // The breaker's counter also carries the fleet's runs of consecutive failures.
    const key = name.startsWith('breaker:') ? name.slice('breaker:'.length) : undefined;
    return key === undefined ? counter : this.runs.withRuns(counter, key, windowMs);
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    // A subscriber still making its first connection is closed when that attempt ends (`subscribe`):
    // node-redis's destroy() during an attempt that then succeeds leaves that connection open, and the
    // process alive, with nothing left to close it by.
    if (!this.connecting) this.dropSubscriber();
  }

  /** Closes the subscriber once; node-redis throws on a client closed already (its strategy gave up). */
  private dropSubscriber(): void {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.listening.clear();
    try {
      subscriber?.destroy();
    } catch {
      // Closed already: nothing is left open.
    }
  }

  private publish(message: Message): void {
    void this.connection.command(['PUBLISH', this.channel, JSON.stringify(message)]);
  }

  /** Re-reads the closures of the keys in use: pub/sub's backstop, and the way back after an outage. */
  private async refresh(): Promise<void> {
    void this.counts.flush();
    if (this.listening.size < this.channels.size) void this.subscribe();
    await this.read(this.views.keys(), true);
  }

  /** Reads `key`'s closures soon: the keys first used in one turn share one round trip. */
  private readSoon(key: string): void {
    if (this.fresh.push(key) > 1) return;
    queueMicrotask(() => {
      const keys = this.fresh;
      this.fresh = [];
      void this.read(keys, false);
    });
  }

  /** Reads the closures of `keys` (`probing`: also while the store is down, as the refresh does). */
  private async read(keys: string[], probing: boolean): Promise<void> {
    // A script even with no key to read (not a PING): a store whose scripts Redis refuses is down,
    // and only a script's answer says they run again.
    const gateKeys = keys.flatMap((key) => [
      gateKey(this.prefix, key, true),
      gateKey(this.prefix, key, false),
    ]);
    // With a write: a Redis that answers reads and refuses writes (a replica) must not mark the store
    // up at every refresh for the counts' writes to mark it down again.
    const heartbeat = [`${this.prefix}alive:${this.id}`];
    const read = await this.connection.script<[number[], number[]]>(
      READ,
      [...gateKeys, ...heartbeat],
      [String(3 * this.refreshMs), NO_CUT],
      probing,
    );
    if (read === undefined) return;
    const [ttls, marks] = read;
    keys.forEach((key, i) => {
      const strictMs = ttls[2 * i] ?? -2;
      const looseMs = ttls[2 * i + 1] ?? -2;
      if (strictMs > 0) this.heard(key, strictMs, true, undefined, marks[2 * i] === 1 ? false : undefined);
      if (looseMs > 0) this.heard(key, looseMs, false);
      this.writeBackLost(key, strictMs, looseMs);
    });
  }

  /**
   * Writes back `key`'s closures that this instance knows to hold and Redis no longer has (its PTTL,
   * `strictMs` and `looseMs`, below 0): Redis lost them while up (a `FLUSHALL`, an eviction, a restart
   * quicker than a refresh), and only an outage wrote them back, so an instance that started or read
   * meanwhile sent into the fleet's cool-down. Not one about to end: its key may have expired a
   * round trip before the view heard of it.
   */
  private writeBackLost(key: string, strictMs: number, looseMs: number): void {
    for (const { ms, strict, cut, cuts } of this.views.closures(key)) {
      const left = strict ? strictMs : looseMs;
      if (left < 0 && ms > 2 * this.timeoutMs) this.closeUntil(key, ms, strict, cut, cuts);
    }
  }

  /**
   * Subscribes to the store's channels, on a duplicate of the client made at the first attempt. A
   * channel Redis refused (an ACL without the channel) is told once per cause, as a refusal of one key
   * or channel is, and asked again at each refresh until it is granted: before, it failed silently,
   * and the closures and runs of the others were never heard (the refresh alone brought closures).
   */
  private async subscribe(): Promise<void> {
    if (this.subscribing || this.closed) return;
    this.subscribing = true;
    try {
      const subscriber = this.subscriber ?? (await this.connectSubscriber());
      if (subscriber === undefined) return;
      for (const [channel, listener] of this.channels) {
        if (this.closed) return;
        if (this.listening.has(channel)) continue;
        try {
          await subscriber.subscribe(channel, listener);
          this.listening.add(channel);
        } catch (error) {
          this.connection.partRefused(error, [channel]);
        }
      }
    } finally {
      this.subscribing = false;
      if (this.closed) this.dropSubscriber();
    }
  }

  /** The subscriber's connection; undefined when it could not be made (asked again at the next refresh). */
  private async connectSubscriber(): Promise<RedisSubscriberLike | undefined> {
    const subscriber = this.client.duplicate();
    this.subscriber = subscriber;
    // A subscriber that loses Redis reconnects by itself; its errors must not end the process. Closed
    // while connecting, it stops at its first failed attempt (Redis down: no success would come).
    subscriber.on('error', () => {
      if (this.closed) this.dropSubscriber();
    });
    this.connecting = true;
    try {
      await subscriber.connect();
      return subscriber;
    } catch {
      // Redis unreachable and the client's strategy gave up: the store's own commands say Redis is
      // down; a new subscriber is made at the next refresh.
      if (!this.closed) this.dropSubscriber();
      return undefined;
    } finally {
      this.connecting = false;
    }
  }

  private onMessage(raw: string): void {
    const message = parseMessage(raw);
    if (message === undefined || message.from === this.id) return;
    if (message.closedBreaker === true) {
      this.leases.forget(message.key);
      for (const listener of this.attached()) listener.probeClosed(message.key);
    } else if (message.gateProbeAnswered === true) {
      this.leases.forget(`gate:${message.key}`);
      this.probes.get(message.key)?.deref()?.fleetAnswered();
    } else this.heard(message.key, message.ms, message.strict === true, message.cut, message.cuts);
  }

  /** Another instance closed `key` for `ms`: tell the wrapped fetches when it moves their view. */
  private heard(key: string, ms: number, strict: boolean, cut?: RateCut, cuts?: boolean): void {
    if (!this.views.learn(key, ms, strict, cut, true, cuts)) return;
    for (const listener of this.attached()) listener.closed(key, ms, strict, cut, cuts);
  }

  private status(up: boolean, cause?: string): void {
    if (!up) {
      this.counts.forgetOthers();
      this.runs.forget();
    }
    for (const listener of this.attached()) listener.status(up, cause);
    // Back from an outage: what was closed meanwhile is read now, not at the next period, and what
    // this instance knows to be closed is written back (a closure made while down was told to no one).
    if (up) {
      void this.refresh();
      this.republish();
    }
  }

  private republish(): void {
    for (const { key, closures } of this.views.held()) {
      for (const { ms, strict, cut, cuts } of closures) this.closeUntil(key, ms, strict, cut, cuts);
    }
  }
}
