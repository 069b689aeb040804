import type {
  BreakwaterStore,
  FleetCounter,
  FleetCounts,
  GateProbe,
  RateCut,
  StoreClosure,
  StoreListener,
} from '@breakwater/core';
import { checkOptions, describeNotObject, describeValue, integerAtLeast, refuse } from '@breakwater/policies';
import { FleetProbe } from './gate-probe.ts';
import { CLOSE, COUNT, LEASE, READ } from './scripts.ts';

/**
 * The part of a node-redis client (`createClient()` of the `redis` package, v5 or v6) that the store
 * uses. The client is the caller's: connected by them, closed by them.
 */
export interface RedisClientLike {
  sendCommand<T = unknown>(args: readonly string[], options?: { abortSignal?: AbortSignal }): Promise<T>;
  /** The store subscribes on a duplicate of the client, which it owns and closes in `close()`. */
  duplicate(): RedisSubscriberLike;
}

/** The duplicate connection the store subscribes on. */
export interface RedisSubscriberLike {
  connect(): Promise<unknown>;
  subscribe(channel: string, listener: (message: string) => unknown): Promise<void>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
  destroy(): void;
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /** A connected node-redis client (`createClient()` of the `redis` package). Required. */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key and of the channel the store uses; instances that share state use the same.
   * Default `breakwater:`.
   */
  readonly prefix?: string;
  /**
   * Longest wait for one Redis command, in ms. Past it the call goes on with its instance's local state
   * and the store counts as down (`store-down`) until a refresh gets an answer again. Default 50.
   */
  readonly timeoutMs?: number;
  /**
   * Period of the refresh, in ms: it re-reads the closures of the keys this instance uses (the backstop
   * of pub/sub, whose messages a reconnecting subscriber misses) and notices Redis coming back. Default
   * 1000.
   */
  readonly refreshMs?: number;
}

/** What {@link redisStore} returns: a store for `wrapFetch`'s `store` option. */
export interface RedisStore extends BreakwaterStore {
  /** This instance's share of the fleet count `name`: one counter per name, flushed by the refresh. */
  counter(name: string, windowMs: number): FleetCounter;
  /** Stops the refresh and closes the store's subscriber connection; the client stays the caller's. */
  close(): void;
}

/** Keys of the local view kept, past which the oldest is forgotten (as `maxEndpoints`). */
const MAX_WATCHED = 1000;

interface View {
  /** Local epoch ms until which another instance's (or this one's) strict and loose closures hold. */
  strict: number;
  loose: number;
  /** The rate cut published with the strict closure, if any. */
  cut?: RateCut | undefined;
}

interface Message {
  readonly key: string;
  readonly ms: number;
  readonly strict: boolean;
  readonly from: string;
  /** Set when the message says the key's probe closed its breaker (no closure then). */
  readonly closedBreaker?: true;
  /** Set when the message says the key's gate probe was accepted (no closure then). */
  readonly gateProbeAnswered?: true;
  /** The fleet's rate cut, with a strict closure. */
  readonly cut?: RateCut | undefined;
}

/** The names a fleet count holds; any other field in Redis is not this version's, and is skipped. */
const COUNTED: readonly string[] = ['calls', 'retries', 'failures'];

/** Buckets per counted window, as the in-process sliding window's. */
const BUCKETS = 10;

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

  constructor(windowMs: number) {
    this.windowMs = windowMs;
  }

  add(name: keyof FleetCounts): void {
    this.used = true;
    this.pending.set(name, (this.pending.get(name) ?? 0) + 1);
  }

  others(): readonly FleetCounts[] {
    return this.seen;
  }
}

/**
 * A store for `wrapFetch(fetch, { store })` that shares, through Redis, the throttle gate's closures
 * (a server delay seen by any instance closes the key's gate on all of them) and the breaker's
 * half-open probe (one per interval for the fleet). Durations come from Redis's key expiries (`PX`,
 * `PTTL`), never from comparing instance clocks. A healthy call never waits for Redis: closures arrive
 * by pub/sub into a local view, and every command is bounded by `timeoutMs`, past which the instance
 * goes on with its local state.
 *
 * @throws ConfigError when an option is invalid, naming it.
 */
export function redisStore(options: RedisStoreOptions): RedisStore {
  checkRedisOptions(options);
  return new RedisBackedStore(options);
}

function checkRedisOptions(options: RedisStoreOptions): void {
  checkOptions(options, {
    client: clientCheck,
    prefix: stringCheck,
    timeoutMs: integerAtLeast(1),
    refreshMs: integerAtLeast(10),
  });
  if (options.client === undefined) refuse('client', 'is required: a connected node-redis client');
}

function clientCheck(value: unknown, path: string): void {
  const client = value as Partial<RedisClientLike> | null;
  if (typeof client?.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
    refuse(
      path,
      `must be a node-redis client (createClient() of the redis package), got ${describeNotObject(value)}`,
    );
  }
}

function stringCheck(value: unknown, path: string): void {
  if (typeof value !== 'string') refuse(path, `must be a string, got ${describeValue(value)}`);
}

class RedisBackedStore implements RedisStore {
  readonly shared = true;
  up = true;
  private readonly client: RedisClientLike;
  private readonly prefix: string;
  private readonly channel: string;
  private readonly timeoutMs: number;
  private readonly id = crypto.randomUUID();
  private readonly listeners: StoreListener[] = [];
  private readonly views = new Map<string, View>();
  /** Local epoch ms until which another instance holds a key's probe lease: no need to ask again. */
  private readonly leasedElsewhere = new Map<string, number>();
  private readonly shas = new Map<string, string>();
  private readonly counters = new Map<string, Counter>();
  /** The gate probe of each key in use here (the last gate built for it, with several wrapped fetches). */
  private readonly probes = new Map<string, FleetProbe>();
  private readonly timer: ReturnType<typeof setInterval>;
  private subscriber: RedisSubscriberLike | undefined;

  constructor(options: RedisStoreOptions) {
    this.client = options.client;
    this.prefix = options.prefix ?? 'breakwater:';
    this.channel = `${this.prefix}gate`;
    this.timeoutMs = options.timeoutMs ?? 50;
    this.timer = setInterval(() => void this.refresh(), options.refreshMs ?? 1_000);
    // A refresh timer must not keep a process alive that has nothing else to do.
    (this.timer as { unref?: () => void }).unref?.();
    void this.subscribe();
    void this.loadScripts();
  }

  attach(listener: StoreListener): void {
    this.listeners.push(listener);
  }

  closeUntil(key: string, ms: number, strict: boolean, cut?: RateCut): void {
    this.learn(key, ms, strict, cut);
    if (!this.up) return;
    const message = JSON.stringify({ key, ms, strict, from: this.id, cut } satisfies Message);
    void this.script(
      CLOSE,
      [this.gateKey(key, strict)],
      [String(Math.ceil(ms)), this.id, this.channel, message],
    );
  }

  closures(key: string): readonly StoreClosure[] {
    const view = this.watch(key);
    const now = Date.now();
    const found: StoreClosure[] = [];
    if (view.strict > now) found.push({ ms: view.strict - now, strict: true, cut: view.cut });
    if (view.loose > now) found.push({ ms: view.loose - now, strict: false });
    return found;
  }

  tryLease(key: string, ms: number): true | number | Promise<true | number> {
    if (!this.up) return true;
    const held = (this.leasedElsewhere.get(key) ?? 0) - Date.now();
    if (held > 0) return held;
    return this.lease(key, ms);
  }

  gateProbe(key: string, kick: () => void): GateProbe {
    const probe = new FleetProbe(
      {
        lease: (ms) => (this.up ? this.lease(`gate:${key}`, ms) : true),
        accepted: () => this.gateProbeAccepted(key),
      },
      kick,
    );
    this.probes.set(key, probe);
    if (this.probes.size > MAX_WATCHED) this.probes.delete(this.probes.keys().next().value ?? key);
    return probe;
  }

  instances(key: string): number {
    let others = 0;
    for (const name of [`budget:${key}`, `breaker:${key}`]) {
      others = Math.max(others, this.counters.get(name)?.peers ?? 0);
    }
    return 1 + others;
  }

  probeClosed(key: string): void {
    this.leasedElsewhere.delete(key);
    const message: Message = { key, ms: 0, strict: false, from: this.id, closedBreaker: true };
    void this.command(['PUBLISH', this.channel, JSON.stringify(message)]);
  }

  counter(name: string, windowMs: number): FleetCounter {
    let counter = this.counters.get(name);
    if (counter) return counter;
    counter = new Counter(windowMs);
    this.counters.set(name, counter);
    if (this.counters.size > 2 * MAX_WATCHED) {
      const oldest = this.counters.keys().next().value;
      if (oldest !== undefined) this.counters.delete(oldest);
    }
    return counter;
  }

  close(): void {
    clearInterval(this.timer);
    this.subscriber?.destroy();
    this.subscriber = undefined;
  }

  /** Frees the gate's probe lease (the next cool-down's probe need not wait for it) and tells the fleet. */
  private gateProbeAccepted(key: string): void {
    const message: Message = { key, ms: 0, strict: false, from: this.id, gateProbeAnswered: true };
    void this.command(['DEL', `${this.prefix}probe:gate:${key}`]);
    void this.command(['PUBLISH', this.channel, JSON.stringify(message)]);
  }

  private async lease(key: string, ms: number): Promise<true | number> {
    const reply = await this.script<number>(
      LEASE,
      [`${this.prefix}probe:${key}`],
      [this.id, String(Math.ceil(ms))],
    );
    // No answer in time: the local breaker decides alone.
    if (reply === undefined || reply < 0) return true;
    this.leasedElsewhere.set(key, Date.now() + reply);
    return reply;
  }

  /** Re-reads the closures of the keys in use: pub/sub's backstop, and the way back after an outage. */
  private async refresh(): Promise<void> {
    void this.flushCounts();
    const keys = [...this.views.keys()];
    if (keys.length === 0) {
      await this.command(['PING'], true);
      return;
    }
    const gateKeys = keys.flatMap((key) => [this.gateKey(key, true), this.gateKey(key, false)]);
    const ttls = await this.script<number[]>(READ, gateKeys, [], true);
    if (ttls === undefined) return;
    keys.forEach((key, i) => {
      const strictMs = ttls[2 * i] ?? -2;
      const looseMs = ttls[2 * i + 1] ?? -2;
      if (strictMs > 0) this.heard(key, strictMs, true);
      if (looseMs > 0) this.heard(key, looseMs, false);
    });
  }

  /**
   * Writes each count's increments since the last flush and reads the fleet's back, one round trip per
   * count: the only way counts reach Redis, so a call never waits for it. Increments that fail to reach
   * Redis are dropped (the local window still holds them).
   */
  private async flushCounts(): Promise<void> {
    await Promise.all(
      [...this.counters].map(async ([name, counter]) => {
        if (!counter.used) return;
        const pending = [...counter.pending].flatMap(([k, n]) => [k, String(n)]);
        counter.pending.clear();
        const bucketMs = Math.max(1, Math.ceil(counter.windowMs / BUCKETS));
        const args = [this.id, String(bucketMs), String(BUCKETS), ...pending];
        const buckets = await this.script<string[][]>(COUNT, [`${this.prefix}count:${name}`], args);
        counter.seen = buckets === undefined ? [] : this.othersOf(buckets);
        if (buckets !== undefined) counter.peers = counter.seen.length;
      }),
    );
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

  private async subscribe(): Promise<void> {
    const subscriber = this.client.duplicate();
    this.subscriber = subscriber;
    // A subscriber that loses Redis reconnects by itself; its errors must not end the process.
    subscriber.on('error', () => {});
    try {
      await subscriber.connect();
      await subscriber.subscribe(this.channel, (raw) => this.onMessage(raw));
    } catch {
      // Redis unreachable at start: the refresh reads what pub/sub would have told.
    }
  }

  private async loadScripts(): Promise<void> {
    for (const script of [CLOSE, LEASE, READ, COUNT]) {
      const sha = await this.command<string>(['SCRIPT', 'LOAD', script], true);
      if (sha !== undefined) this.shas.set(script, sha);
    }
  }

  private onMessage(raw: string): void {
    let message: Message;
    try {
      message = JSON.parse(raw) as Message;
    } catch {
      return;
    }
    if (message.from === this.id || typeof message.key !== 'string' || typeof message.ms !== 'number') return;
    if (message.closedBreaker === true) {
      this.leasedElsewhere.delete(message.key);
      for (const listener of this.listeners) listener.probeClosed(message.key);
      return;
    }
    if (message.gateProbeAnswered === true) {
      this.leasedElsewhere.delete(`gate:${message.key}`);
      this.probes.get(message.key)?.fleetAnswered();
      return;
    }
    this.heard(message.key, message.ms, message.strict === true, rateCut(message.cut));
  }

  /** Another instance closed `key` for `ms`: tell the wrapped fetches when it moves their view. */
  private heard(key: string, ms: number, strict: boolean, cut?: RateCut): void {
    if (!this.learn(key, ms, strict, cut)) return;
    for (const listener of this.listeners) listener.closed(key, ms, strict, cut);
  }

  /** Records a closure in the local view; true when it ends later than what the view knew (by >50 ms). */
  private learn(key: string, ms: number, strict: boolean, cut?: RateCut): boolean {
    const view = this.watch(key);
    const until = Date.now() + ms;
    const known = strict ? view.strict : view.loose;
    // A refresh reads what this instance already heard, a round trip later: not news.
    if (until <= known + 50) return false;
    if (strict) {
      view.strict = until;
      view.cut = cut;
    } else view.loose = until;
    return true;
  }

  private watch(key: string): View {
    let view = this.views.get(key);
    if (view) return view;
    view = { strict: 0, loose: 0 };
    this.views.set(key, view);
    if (this.views.size > MAX_WATCHED) {
      const oldest = this.views.keys().next().value;
      if (oldest !== undefined) this.views.delete(oldest);
    }
    return view;
  }

  private gateKey(key: string, strict: boolean): string {
    return `${this.prefix}gate:${strict ? 'strict' : 'loose'}:${key}`;
  }

  /** Runs a script by its SHA (loaded once); a Redis that lost its script cache gets it sent again. */
  private async script<T>(
    script: string,
    keys: string[],
    args: string[],
    probing = false,
  ): Promise<T | undefined> {
    const sha = this.shas.get(script);
    const count = String(keys.length);
    if (sha !== undefined) {
      const sent = await this.send<T>(['EVALSHA', sha, count, ...keys, ...args], probing);
      if (sent !== NOSCRIPT) return sent;
      this.shas.delete(script);
      void this.loadScripts();
    }
    const sent = await this.send<T>(['EVAL', script, count, ...keys, ...args], probing);
    return sent === NOSCRIPT ? undefined : sent;
  }

  private async command<T>(args: string[], probing = false): Promise<T | undefined> {
    const sent = await this.send<T>(args, probing);
    return sent === NOSCRIPT ? undefined : sent;
  }

  /**
   * One command, bounded by `timeoutMs`: undefined when Redis does not answer in time or fails (the
   * store is then down), NOSCRIPT when Redis lacks a script. While down, only the refresh (`probing`)
   * asks Redis anything.
   */
  private async send<T>(args: string[], probing: boolean): Promise<T | typeof NOSCRIPT | undefined> {
    if (!this.up && !probing) return undefined;
    const signal = AbortSignal.timeout(this.timeoutMs);
    const late = new Promise<never>((_, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    try {
      const reply = await Promise.race([this.client.sendCommand<T>(args, { abortSignal: signal }), late]);
      this.status(true);
      return reply;
    } catch (error) {
      const noscript = String((error as Error | undefined)?.message).startsWith('NOSCRIPT');
      this.status(noscript);
      return noscript ? NOSCRIPT : undefined;
    }
  }

  private status(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    // Counts read before the outage grow stale: the local windows decide alone until Redis answers.
    if (!up) for (const counter of this.counters.values()) counter.seen = [];
    for (const listener of this.listeners) listener.status(up);
    // Back from an outage: what was closed meanwhile is read now, not at the next period, and what
    // this instance knows to be closed is written back (a closure made while down was told to no one).
    if (up) {
      void this.refresh();
      this.republish();
    }
  }

  private republish(): void {
    const now = Date.now();
    for (const [key, view] of this.views) {
      if (view.strict > now) this.closeUntil(key, view.strict - now, true);
      if (view.loose > now) this.closeUntil(key, view.loose - now, false);
    }
  }
}

const NOSCRIPT: unique symbol = Symbol('NOSCRIPT');

/** A cut read from a message, kept only when well formed (another version may send otherwise). */
function rateCut(value: unknown): RateCut | undefined {
  const cut = value as Partial<RateCut> | undefined;
  if (typeof cut?.wMax !== 'number' || !(cut.wMax > 0) || typeof cut.known !== 'boolean') return undefined;
  return { wMax: cut.wMax, known: cut.known };
}
