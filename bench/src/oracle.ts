/**
 * The oracle lane: a client told the server's token bucket (rate and burst), which queues every call
 * locally and sends it only once a token is there. It never has to learn the limit from a 429, so it
 * shows the most a client can get through the limiter, as early as the limiter allows it.
 */
import {
  attemptInit,
  attemptSignal,
  type CallHeaders,
  type ClientSpec,
  type ContextRoute,
  routeOf,
} from './client.ts';

/**
 * How late (ms) the oracle sends after its mirror of the bucket holds a token: slack for the two ends
 * reading the same clock at different steps of a request (and timers firing a little early).
 */
export const ORACLE_MARGIN_MS = 2;

/** A call let through by the pacer: call `answered` once its response (or error) is in. */
export interface Slot {
  answered(): void;
}

interface Waiting {
  readonly resolve: (slot: Slot) => void;
}

/**
 * A mirror of a token bucket with a queue: calls wait in order and each goes as soon as the mirror
 * holds a token for it, counted at the moment it goes (so a stalled event loop delays calls rather
 * than bunching them on tokens counted before the stall).
 *
 * While the bucket is full the server's refills are lost, and the client cannot see when its requests
 * arrive: a burst sent from a full bucket reaches the server spread out by the transport while the
 * server, still full, loses refills. So from the moment the mirror is full it counts no refill until
 * every call it let through since has been answered: by then the server has taken them all and holds
 * at least as many tokens as the mirror. For the same reason, at any time, refills only count up to
 * the burst less the calls still unanswered (the server may be full while they travel).
 */
export class BucketPacer {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #marginMs: number;
  readonly #queue: Waiting[] = [];
  #tokens: number;
  /** When the mirror last refilled; undefined while it counts no refill (full, burst unanswered). */
  #last: number | undefined;
  /** Calls let through since the mirror was last full, not answered yet. */
  #unanswered = 0;
  /** Bumped each time the mirror is full, so answers to older calls are not counted against a new burst. */
  #generation = 0;
  #timer: NodeJS.Timeout | undefined;
  /** Every call let through and not answered yet. */
  #inFlight = 0;

  constructor(bucket: NonNullable<ContextRoute['bucket']>, now: () => number, marginMs = ORACLE_MARGIN_MS) {
    this.#perSecond = bucket.perSecond;
    this.#burst = bucket.burst;
    this.#tokens = bucket.burst;
    this.#now = now;
    this.#marginMs = marginMs;
  }

  /** Resolves when a token is there for this call (in call order); rejects when `signal` aborts first. */
  take(signal?: AbortSignal): Promise<Slot> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Slot>((resolve, reject) => {
      // The run's signal is shared by every call: each takes its listener off again once it goes.
      const onAbort = (): void => {
        const i = this.#queue.indexOf(waiting);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(signal?.reason);
      };
      const waiting: Waiting = {
        resolve: (slot) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(slot);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiting);
      this.#pump();
    });
  }

  #pump(): void {
    this.#refill();
    while (this.#queue.length > 0 && this.#tokens >= 1) {
      this.#tokens -= 1;
      (this.#queue.shift() as Waiting).resolve(this.#slot());
    }
    if (this.#queue.length === 0 || this.#last === undefined || this.#timer) return;
    const waitMs = ((1 - this.#tokens) * 1000) / this.#perSecond + this.#marginMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, waitMs);
  }

  #refill(): void {
    if (this.#last === undefined) return;
    const now = this.#now();
    const cap = this.#burst - this.#inFlight;
    const refilled = this.#tokens + ((now - this.#last) * this.#perSecond) / 1000;
    if (this.#tokens < cap) this.#tokens = Math.min(cap, refilled);
    this.#last = now;
    if (this.#tokens >= this.#burst) {
      this.#last = undefined;
      this.#unanswered = 0;
      this.#generation++;
    }
  }

  /** A call let through now: while the mirror counts no refill, its answer may restart the refills. */
  #slot(): Slot {
    this.#inFlight++;
    const counted = this.#last === undefined;
    if (counted) this.#unanswered++;
    const generation = this.#generation;
    let answered = false;
    return {
      answered: () => {
        if (answered) return;
        answered = true;
        this.#inFlight--;
        if (!counted || generation !== this.#generation || this.#last !== undefined) return;
        if (--this.#unanswered > 0) return;
        this.#last = this.#now();
        this.#pump();
      },
    };
  }
}

/** The oracle name in the clients table and the report. */
export const ORACLE = 'oracle';

/**
 * The oracle as a bench client: one pacer per route and tenant. Should a 429 come anyway it queues the
 * call again (the server still counts that 429 against it).
 */
export const oracleClient: ClientSpec = {
  name: ORACLE,
  description:
    "knows the server's token bucket (rate, burst) and sends each call only when a token is there, queueing locally: the limit (runs only where a route has a token bucket)",
  appliesTo: (routes) => routes.some((r) => r.bucket),
  async create(context) {
    const pacers = new Map<string, BucketPacer>();
    // A route without a bucket is not limited: its calls go at once.
    const pacerFor = (url: string, headers: CallHeaders | undefined): BucketPacer | undefined => {
      const route = context.routes.find((r) => r.name === routeOf(context, url));
      if (!route?.bucket) return undefined;
      const tenant = route.tenantHeader === undefined ? '' : (headers?.[route.tenantHeader] ?? '');
      const key = `${route.name} ${tenant}`;
      let pacer = pacers.get(key);
      if (!pacer) {
        pacer = new BucketPacer(route.bucket, context.now);
        pacers.set(key, pacer);
      }
      return pacer;
    };
    return {
      async call(url, signal, headers) {
        const pacer = pacerFor(url, headers);
        for (;;) {
          const slot = await pacer?.take(signal);
          const init = attemptInit(attemptSignal(signal, context.attemptTimeoutMs), headers);
          const response = await context.fetch(url, init).finally(() => slot?.answered());
          if (response.status !== 429) return response;
          await response.body?.cancel().catch(() => {});
        }
      },
      breakers: () => [],
      transitions: () => [],
      events: () => ({}),
      close() {},
    };
  },
};
