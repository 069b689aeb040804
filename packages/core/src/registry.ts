import type { Policy } from '@breakwater/policies';
import type { CircuitBreaker } from './circuit-breaker.ts';
import type { BreakerSnapshot } from './types.ts';

/** `maxEndpoints` when the options leave it out: keys are rule x origin, so a few dozen is typical. */
export const DEFAULT_MAX_ENDPOINTS = 1000;

/**
 * What the registry keeps per endpoint key: something it can tell is idle, show in `breakers()`, and
 * whose breaker an operator can hold open or close by hand.
 */
export interface LiveEndpoint {
  /**
   * True when dropping it loses nothing: no call in progress, breaker closed (or open and long
   * uncalled, see `CircuitBreaker.idle`), throttle gate open.
   */
  readonly evictable: boolean;
  readonly breaker: CircuitBreaker;
  snapshot(): BreakerSnapshot;
}

/** The throttle gate and retry budget part of a snapshot. */
type ThrottleState = Pick<
  BreakerSnapshot,
  'throttledUntil' | 'waiting' | 'retryBudgetLeft' | 'rateLimit' | 'throttlePhase' | 'sharing'
>;

/** The part of {@link ThrottleState} only a throttle gate has: an endpoint without one leaves it out. */
type GateOnly = 'rateLimit' | 'throttlePhase' | 'sharing';

/** What an endpoint with neither gate nor budget (a breaker for calls that are not fetch) reports. */
const UNTHROTTLED: ThrottleState = {
  throttledUntil: null,
  waiting: 0,
  retryBudgetLeft: null,
  rateLimit: null,
  throttlePhase: 'open',
  sharing: 'local',
};

/**
 * What every live endpoint has: its breaker and the calls in progress through it. From those (and the
 * gate, when there is one) follow whether it may be dropped and what its snapshot says.
 */
export class EndpointState implements LiveEndpoint {
  readonly key: string;
  readonly breaker: CircuitBreaker;
  private readonly throttle: () => Omit<ThrottleState, GateOnly> & Partial<ThrottleState>;
  private inFlight = 0;

  constructor(
    key: string,
    breaker: CircuitBreaker,
    throttle: () => Omit<ThrottleState, GateOnly> & Partial<ThrottleState> = () => UNTHROTTLED,
  ) {
    this.key = key;
    this.breaker = breaker;
    this.throttle = throttle;
  }

  /**
   * Runs `call` counted as in progress, so that the endpoint is not dropped under it. Hands back the
   * call's own promise: waiting on it here would cost every call a turn and a promise.
   */
  track<R>(call: () => Promise<R>): Promise<R> {
    this.started();
    let running: Promise<R>;
    try {
      running = call();
    } catch (error) {
      this.ended();
      return Promise.reject(error);
    }
    running.then(this.ended, this.ended);
    return running;
  }

  /** A call is in progress until {@link ended}: for a caller that awaits the call anyway. */
  started(): void {
    this.inFlight++;
  }

  readonly ended = (): void => {
    this.inFlight--;
  };

  get evictable(): boolean {
    // The cheap conditions first: building the throttle state costs a registry walk ~2 µs an endpoint.
    if (this.inFlight || !this.breaker.idle(Date.now())) return false;
    // A paced key keeps its rate: dropped, it would be met again at full speed.
    const { throttledUntil, rateLimit } = this.throttle();
    return throttledUntil === null && !rateLimit;
  }

  snapshot(): BreakerSnapshot {
    const throttle = { ...UNTHROTTLED, ...this.throttle() };
    return { key: this.key, ...this.breaker.snapshot(), inFlight: this.inFlight, ...throttle };
  }
}

/**
 * The live endpoints of one wrapped fetch (its pipelines) or of one `createEndpointBreakers` (its
 * breakers), built lazily per key and bounded: past `max` keys, the least recently used endpoints that
 * are evictable are dropped. One that is not (an open or half-open breaker, a closed gate, a call in
 * progress) is not dropped, since forgetting it would send traffic to an upstream known to be down,
 * and is not counted either: `max` endpoints that can go are kept beside those. An open breaker nobody
 * has called for `maxHalfOpenAfterMs` after its probe came due can go. Only a key added looks for
 * endpoints to drop: a call of a live key leaves the map's size as it was.
 */
export class EndpointRegistry<T extends LiveEndpoint> {
  private readonly live = new Map<string, T>();
  private readonly max: number;
  private readonly create: (key: string, policy: Policy) => T;
  private newest: string | undefined;
  /** The size past which a key added walks the endpoints: `max` beside those kept at the last walk. */
  private limit: number;
  /**
   * Keys isolated by hand, with when. Kept apart from the endpoints, so that a key with no endpoint
   * yet (isolated before its first call) starts isolated when its first call builds it.
   */
  private readonly held = new Map<string, number>();

  constructor(max: number, create: (key: string, policy: Policy) => T) {
    this.max = max;
    this.limit = max;
    this.create = create;
  }

  /** Holds `key`'s breaker open by hand; false when it already was. */
  isolate(key: string): boolean {
    if (this.held.has(key)) return false;
    const at = Date.now();
    this.held.set(key, at);
    this.live.get(key)?.breaker.isolate(at);
    return true;
  }

  /**
   * Closes `key`'s breaker by hand, isolated or opened by failures, and clears its counts; false when
   * there was nothing to close (no endpoint, or a closed breaker).
   */
  reset(key: string): boolean {
    const endpoint = this.live.get(key);
    const changed = this.held.delete(key) || endpoint?.breaker.closed === false;
    endpoint?.breaker.close();
    return changed;
  }

  /** The keys of the live endpoints and of those isolated before their first call. */
  keys(): string[] {
    return [...new Set([...this.live.keys(), ...this.held.keys()])];
  }

  /** The endpoint of `key` when it is live; never builds one. */
  find(key: string): T | undefined {
    return this.live.get(key);
  }

  /** The endpoint of `key`, built with `policy` if it is not live. */
  get(key: string, policy: Policy): T {
    let endpoint = this.live.get(key);
    // Most traffic goes to the key used last: it is already the most recent, nothing to reorder.
    if (endpoint && key === this.newest) return endpoint;
    if (endpoint) {
      // Map keeps insertion order: re-inserting marks the key as most recently used.
      this.live.delete(key);
      this.live.set(key, endpoint);
    } else {
      endpoint = this.create(key, policy);
      const heldSince = this.held.get(key);
      if (heldSince !== undefined) endpoint.breaker.isolate(heldSince);
      this.live.set(key, endpoint);
      // Past the bound with endpoints that cannot go, looking on every call cost a walk over all of
      // them (2 ms a call with a thousand kept).
      if (this.live.size > this.limit) this.evict(key);
    }
    this.newest = key;
    return endpoint;
  }

  snapshots(): BreakerSnapshot[] {
    const snapshots = [...this.live.values()].map((endpoint) => endpoint.snapshot());
    for (const [key, at] of this.held) {
      if (!this.live.has(key)) snapshots.push(isolatedBeforeUse(key, at));
    }
    return snapshots;
  }

  /**
   * Drops the least recently used endpoints that can go, down to 0.9 x `max` of them; those that
   * cannot go are not counted. Counted, `max` of them made every addition drop every other endpoint:
   * two keys used in turn were rebuilt on every call, and a failing one never opened. The next walk
   * is `max / 10` keys added away: one walk per key added asked every live endpoint each time (2.2 ms
   * a new origin with 1000 kept).
   */
  private evict(keep: string): void {
    const idle: string[] = [];
    for (const [key, endpoint] of this.live) if (key !== keep && endpoint.evictable) idle.push(key);
    // `max` beside those that cannot go now; `keep`, just built, is one that can.
    this.limit = this.live.size - idle.length - 1 + this.max;
    const drop = idle.length + 1 - this.max + Math.floor(this.max / 10);
    for (let i = 0; i < drop; i++) this.live.delete(idle[i] as string);
  }
}

/**
 * The snapshot of a key isolated before any call built its endpoint: nothing counted yet, and the
 * policy (whether its breaker is enabled, its retry budget) is not known until then.
 */
function isolatedBeforeUse(key: string, at: number): BreakerSnapshot {
  return {
    key,
    state: 'isolated',
    enabled: true,
    failures: 0,
    calls: 0,
    failureRatio: 0,
    slowCalls: 0,
    consecutiveFailures: 0,
    openedAt: at,
    nextProbeAt: null,
    inFlight: 0,
    ...UNTHROTTLED,
  };
}
