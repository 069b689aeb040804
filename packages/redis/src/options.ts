import {
  type Check,
  checkOptions,
  describeNotObject,
  describeValue,
  integerAtLeast,
  MAX_TIMER_MS,
  refuse,
} from '@breakwater/policies';

/**
 * The part of a node-redis client (`createClient()` of the `redis` package, v5 or v6) that the store
 * uses. The client is the caller's: connected by them, closed by them.
 */
export interface RedisClientLike {
  sendCommand<T = unknown>(args: readonly string[], options?: { abortSignal?: AbortSignal }): Promise<T>;
  /**
   * False while the client has no connection to Redis (node-redis's, reconnecting after Redis died):
   * once the client has been ready, the store then answers from local state at once, rather than queue
   * a command that waits out its timeout. Absent: taken as ready.
   */
  readonly isReady?: boolean | undefined;
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

/** Options of `redisStore()`. */
export interface RedisStoreOptions {
  /** A connected node-redis client (`createClient()` of the `redis` package). Required. */
  readonly client: RedisClientLike;
  /**
   * Prefix of every key and of the channel the store uses; instances that share state use the same,
   * apps that must not share use different ones (Redis's channels span its databases: apps kept apart
   * by database number alone hear each other's closures). Default `breakwater:`.
   */
  readonly prefix?: string | undefined;
  /**
   * Longest wait for one Redis command, in ms. Past it the call goes on with its instance's local state
   * and the store counts as down (`store-down`) until a refresh gets an answer again. Default 50.
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Period of the refresh, in ms: it re-reads the closures of the keys this instance uses (the backstop
   * of pub/sub, whose messages a reconnecting subscriber misses) and notices Redis coming back. Default
   * 1000.
   */
  readonly refreshMs?: number | undefined;
}

/**
 * An integer delay of at least `min` ms that a timer can hold: past {@link MAX_TIMER_MS} a timer runs
 * after 1 ms, so `refreshMs: 2 ** 31` (meant as "rarely") refreshed every millisecond and
 * `timeoutMs: 2 ** 31` gave every command up at once (audit s24).
 */
function timerMs(min: number): Check {
  const atLeast = integerAtLeast(min);
  return (value, path, required) => {
    atLeast(value, path, required);
    if ((value as number) > MAX_TIMER_MS) {
      refuse(
        path,
        `must be at most ${MAX_TIMER_MS} (a timer's longest delay, 24.8 days), got ${describeValue(value)}`,
      );
    }
  };
}

/** Refuses options `redisStore()` cannot run with, naming the option. */
export function checkRedisOptions(options: RedisStoreOptions): void {
  checkOptions(options, {
    client: clientCheck,
    prefix: stringCheck,
    timeoutMs: timerMs(1),
    refreshMs: timerMs(10),
  });
  if (options.client === undefined) refuse('client', 'is required: a connected node-redis client');
}

function clientCheck(value: unknown, path: string): void {
  const client = value as (Partial<RedisClientLike> & { getSlotMaster?: unknown }) | null;
  if (typeof client?.sendCommand !== 'function' || typeof client.duplicate !== 'function') {
    refuse(
      path,
      `must be a node-redis client (createClient() of the redis package), got ${describeNotObject(value)}`,
    );
  }
  // A cluster client has both methods, and its sendCommand takes a key first: every command failed,
  // and the store stayed down for its life with nothing to say why.
  if (typeof client.getSlotMaster === 'function') {
    refuse(
      path,
      'is a Redis Cluster client (createCluster()), which the store does not support: its scripts ' +
        'read and write keys of many slots at once. Pass a createClient() of one Redis (the primary, ' +
        "with replicas), or keep the in-memory store (no 'store' option)",
    );
  }
}

function stringCheck(value: unknown, path: string): void {
  if (typeof value !== 'string') refuse(path, `must be a string, got ${describeValue(value)}`);
}
