/**
 * What an endpoint pipeline shares with the other instances of a fleet (issue 14), behind one
 * interface: the in-memory store (the default: nothing is shared, and nothing is paid for it) or
 * `redisStore()` from `@breakwater/redis`.
 *
 * A store never sits on the hot path of a healthy call: a closure is told to it only when a response
 * closed the gate (fire and forget), what others closed reaches the pipelines through
 * {@link StoreListener.closed}, and a probe lease is asked for only by a call that finds its breaker
 * open and due for a probe. A store that cannot answer in time answers from local state: no call may
 * fail or wait longer because the store is down.
 */
export interface BreakwaterStore {
  /** True when the state is shared beyond this process (`breakers()` then shows `sharing: 'shared'`). */
  readonly shared: boolean;
  /** False while the store cannot be reached: the pipelines then use their local state alone. */
  readonly up: boolean;
  /**
   * A response closed `key`'s gate here for `ms` from now (`strict`: a 429's or a spent quota's
   * closure, which holds every call). `cut`: the rate the fleet's paced recovery follows after it (a
   * 429's, with an adaptive gate). `cuts`: false for a strict closure that cuts no rate (a spent
   * quota's: one answer measures no rate); absent, as `strict` (a store of an earlier version).
   * Tells the other instances; never throws, never awaited.
   */
  closeUntil(key: string, ms: number, strict: boolean, cut?: RateCut, cuts?: boolean): void;
  /**
   * What the store knows of `key`'s closures now, for a pipeline being built (its gate starts closed
   * when another instance closed it), and a sign that this instance uses `key`: the store then keeps
   * it in its periodic refresh.
   */
  closures(key: string): readonly StoreClosure[];
  /**
   * Asks for the fleet's half-open probe lease of `key` for `ms`: true when this instance may probe,
   * else the ms the holder's lease still runs (the refused call's `retryAfterMs`). Answers true when
   * the store is down (the local breaker alone decides then). `maxMs`: the breaker's longest wait; a
   * store that shares the half-open backoff lengthens the lease with each probe the fleet sent since
   * its breakers last closed, up to it (an instance's own wait doubles only with its own probes).
   */
  tryLease(key: string, ms: number, maxMs?: number): true | number | Promise<true | number>;
  /** This instance's probe of `key` closed its breaker: the other instances close theirs. Never throws. */
  probeClosed(key: string): void;
  /**
   * This instance's share of the fleet's counts named `name` over the last `windowMs` (the retry
   * budget's calls and retries, the breaker's calls and failures). Absent when nothing is shared.
   */
  counter?(name: string, windowMs: number): FleetCounter;
  /**
   * The probe of `key`'s paced recovery for a gate being built: one request after a 429's cool-down
   * for the whole fleet, the other instances holding their calls until its answer. `kick`: the probe's
   * hold changed without a call of the gate (an answer from the fleet). Absent when nothing is shared:
   * each gate then probes alone (paced-release.ts).
   */
  gateProbe?(key: string, kick: () => void): GateProbe;
  /**
   * Instances that used `key` lately, this one included (1 when unknown): a paced key's instances
   * each send their share of the fleet's rate. Answers from memory, never waits.
   */
  instances?(key: string): number;
  /**
   * Adds a listener for what the other instances closed and for the store going down or up. The
   * wrapped fetch holds its listener as long as it lives: a store shared by wrapped fetches that come
   * and go (one per tenant or job) should hold it weakly (a `WeakRef`), or it keeps them all.
   */
  attach(listener: StoreListener): void;
}

/** The probe of a paced recovery, as the throttle gate drives it (paced-release.ts has its rules). */
export interface GateProbe {
  /** A 429's cool-down started, to end at `reopensAt`: the first call after it goes alone. */
  arm(reopensAt: number): void;
  /**
   * The call let out at `now` goes as the probe, if one is due; true when it does (a probe that does
   * not say cannot be handed back: see `giveBack`).
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: a store's probe written before take told whether it probed returns void, and still fits.
  take(now: number): boolean | void;
  /**
   * The probe's call sent nothing (its breaker refused it): the next call out goes as the probe.
   * Optional: without it, the calls held behind the probe wait for its bound.
   */
  giveBack?(): void;
  /** Epoch ms until which calls wait for a probe (0 when none). */
  heldUntil(now: number): number;
  /** True from the cool-down until the probe's answer (or its bound). */
  readonly pending: boolean;
  /** A response of the key arrived (`accepted`: not a throttle status). True when it answered a probe. */
  answer(accepted: boolean): boolean;
}

/** A closure of a key's gate known to the store: `ms` from now, strict (a 429's) or not. */
export interface StoreClosure {
  readonly ms: number;
  readonly strict: boolean;
  /** The rate cut published with a 429's closure, if any. */
  readonly cut?: RateCut | undefined;
  /** False for a strict closure that cuts no rate (a spent quota's); absent: as `strict`. */
  readonly cuts?: boolean | undefined;
}

/**
 * The fleet's rate after a 429, published with the closure: the curve's peak (Wmax, calls/s for the
 * whole fleet) and whether it is known: read from what the upstream accepted of the requests sent in
 * the throttled second, those still out counted as accepted, times the instances on the key (an upper
 * bound of the throttled instance's share, extrapolated to the fleet: uneven load makes it an estimate;
 * held under by the concave half alone, not revised once published); false: a guess from the send
 * rate, nothing being counted.
 * The curve's origin is the closure's end, so only durations travel.
 */
export interface RateCut {
  readonly wMax: number;
  readonly known: boolean;
}

/**
 * Counts kept for the fleet without a round trip on the call's path: `add` counts locally (the store
 * flushes in the background), `others` answers from the last refresh.
 */
export interface FleetCounter {
  /** Adds 1 to this instance's count `name`. */
  add(name: keyof FleetCounts): void;
  /** Each other instance's counts in the window, as of the last refresh; none while the store is down. */
  others(): readonly FleetCounts[];
  /**
   * The breaker's counter (`breaker:<key>`) only: this instance's run of consecutive failures is now
   * `run` long (0: a success ended it). Told on failures and on the success that ends a run, so a
   * healthy call tells nothing; never throws, never awaited.
   */
  run?(run: number): void;
  /**
   * The breaker's counter only: true when this instance's run `own`, with the other instances' runs as
   * last heard, opens the breaker by the fleet's rule (`fleetRunOpens`, fleet-runs.ts); false while
   * the store is down.
   */
  opens?(own: number, threshold: number): boolean;
}

/** One instance's counts in a window: the retry budget's calls and retries, the breaker's calls and failures. */
export interface FleetCounts {
  readonly calls: number;
  readonly retries: number;
  readonly failures: number;
}

/** What a store tells each wrapped fetch that uses it. */
export interface StoreListener {
  /** Another instance closed `key`'s gate for `ms` from now. */
  closed(key: string, ms: number, strict: boolean, cut?: RateCut, cuts?: boolean): void;
  /** Another instance's half-open probe of `key` succeeded: its breaker may close here too. */
  probeClosed(key: string): void;
  /**
   * The store went down (`false`, with why: `timeout`, `disconnected` or the store's error; once per
   * outage, with the cause that began it) or came back (`true`).
   */
  status(up: boolean, cause?: string): void;
}

/**
 * The default store: this process alone. Every method is synchronous and does nothing; `wrapFetch`
 * passes no hook to the gates and breakers of a store that is not shared, so a single process pays
 * no await and no allocation on its calls for the store's existence.
 */
export const MEMORY_STORE: BreakwaterStore = {
  shared: false,
  up: true,
  closeUntil() {},
  closures: () => [],
  tryLease: () => true,
  probeClosed() {},
  attach() {},
};
