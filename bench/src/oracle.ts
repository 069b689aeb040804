/**
 * The oracle lane: a client told the route's fault script (phases, statuses, delays, limiters,
 * tenants), which no other client is. It sends only what will succeed, when it will: nothing while the
 * route answers every request with a failure, each call through a limiter only once the limiter has
 * room, at once again after a fault it could not foresee. It shows the limit of each scenario: what a
 * client can get through, and how soon. Per fault kind, see {@link oracleStep} and bench/README.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_POLICY } from '@breakwater/policies';
import {
  attemptInit,
  attemptSignal,
  type CallHeaders,
  type ClientContext,
  type ClientSpec,
  routeOf,
} from './client.ts';
import { type Phase, phaseIndexAt } from './schedule.ts';

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

/** A mirror of a route's limiter: calls wait in order until it has room for them. */
export interface Pacer {
  /** Resolves when the limiter has room for this call (in call order); rejects when `signal` aborts first. */
  take(signal?: AbortSignal): Promise<Slot>;
}

/** Queues a call on `queue` and pumps; the returned promise settles as {@link Pacer.take} says. */
function enqueue(queue: Waiting[], signal: AbortSignal | undefined, pump: () => void): Promise<Slot> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<Slot>((resolve, reject) => {
    // The run's signal is shared by every call: each takes its listener off again once it goes.
    const onAbort = (): void => {
      const i = queue.indexOf(waiting);
      if (i >= 0) queue.splice(i, 1);
      reject(signal?.reason);
    };
    const waiting: Waiting = {
      resolve: (slot) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(slot);
      },
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    queue.push(waiting);
    pump();
  });
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
export class BucketPacer implements Pacer {
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

  constructor(bucket: NonNullable<Phase['bucket']>, now: () => number, marginMs = ORACLE_MARGIN_MS) {
    this.#perSecond = bucket.perSecond;
    this.#burst = bucket.burst;
    this.#tokens = bucket.burst;
    this.#now = now;
    this.#marginMs = marginMs;
  }

  /** Resolves when a token is there for this call (in call order); rejects when `signal` aborts first. */
  take(signal?: AbortSignal): Promise<Slot> {
    return enqueue(this.#queue, signal, () => this.#pump());
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

/**
 * A mirror of a sliding-window limiter (at most `perSecond` requests served in any second, as the
 * server's throttle phases keep): a call goes while fewer than `perSecond` calls hold the window. A
 * call holds it from when it goes until a second after its answer: the server counted it at some moment
 * in between, which the client cannot see, so the window it leaves is never one the server still counts.
 */
export class WindowPacer implements Pacer {
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #queue: Waiting[] = [];
  /** When each answered call was answered, oldest first. */
  readonly #answeredAt: number[] = [];
  #unanswered = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(perSecond: number, now: () => number) {
    this.#perSecond = perSecond;
    this.#now = now;
  }

  take(signal?: AbortSignal): Promise<Slot> {
    return enqueue(this.#queue, signal, () => this.#pump());
  }

  #pump(): void {
    const now = this.#now();
    while (this.#answeredAt.length > 0 && (this.#answeredAt[0] as number) + 1000 <= now)
      this.#answeredAt.shift();
    while (this.#queue.length > 0 && this.#unanswered + this.#answeredAt.length < this.#perSecond) {
      this.#unanswered++;
      (this.#queue.shift() as Waiting).resolve(this.#slot());
    }
    const oldest = this.#answeredAt[0];
    if (this.#queue.length === 0 || oldest === undefined || this.#timer) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#pump();
      },
      oldest + 1000 - now,
    );
  }

  #slot(): Slot {
    let answered = false;
    return {
      answered: () => {
        if (answered) return;
        answered = true;
        this.#unanswered--;
        this.#answeredAt.push(this.#now());
        this.#pump();
      },
    };
  }
}

/**
 * The fastest the oracle sends (requests a second, and at once from rest). Every lane of a scenario
 * shares one event loop: the hundreds of calls it holds through an outage, sent all at once when the
 * route heals, stalled that loop for every lane (a raw fetch's p99 went from 24 to 674 ms). Five times
 * the highest rate a scenario offers a route, so it only ever paces a backlog: 440 held calls go within
 * ~2 s of the heal, and their latency carries that.
 */
export const ORACLE_MAX_RATE = { perSecond: 200, burst: 20 } as const;

/**
 * A call's deadline for the oracle (ms from its start): breakwater's default total deadline, the
 * longest a caller of it waits. A call that cannot succeed within it fails at once, unsent.
 */
export const ORACLE_DEADLINE_MS = DEFAULT_POLICY.timeout.totalMs;

/**
 * In a phase with slow answers, an attempt not answered within this (ms) is a slow one: the script
 * answers either at once or after the phase's delay, and which draw is slow cannot be foreseen. Well
 * over the event-loop delay p99 of a full run (~15 ms), so an answer sent at once is not abandoned.
 */
export const ORACLE_SLOW_CUT_MS = 100;

/**
 * How long (ms) a request may take to reach the server: a failing phase that starts this soon counts as
 * started, since a request sent now could arrive in it. A few event-loop delays of a loaded run.
 */
export const ORACLE_ARRIVAL_MS = 20;

/** What the oracle does with a call at a moment of its route's script. */
export type OracleStep =
  /** Send now; through the limiter of `phase` when it has one; abandon the attempt after `cutMs`. */
  | { readonly kind: 'send'; readonly phase: number; readonly cutMs?: number }
  /** Every request fails until `untilMs` (ms from the scenario start): send nothing until then. */
  | { readonly kind: 'wait'; readonly untilMs: number }
  /** No request can succeed before the call's deadline: fail at once, unsent. */
  | { readonly kind: 'refuse'; readonly why: string };

/** A phase that answers every request with a failure worth waiting out (a sustained 5xx or 429). */
const failing = (phase: Phase): boolean =>
  phase.status !== undefined && (phase.status >= 500 || phase.status === 429);

/**
 * The oracle's decision at `t` (ms from the scenario start) for a call whose deadline is `deadlineT`
 * (same clock), from the route's script alone. A request sent now may arrive up to `arrivalMs` later,
 * so a failing phase that starts by then counts as already started.
 */
export function oracleStep(
  phases: readonly Phase[],
  t: number,
  deadlineT: number,
  arrivalMs = ORACLE_ARRIVAL_MS,
): OracleStep {
  const index = phaseIndexAt(phases, t);
  const blocked = [index, phaseIndexAt(phases, t + arrivalMs)].find((i) => failing(phases[i] as Phase));
  if (blocked !== undefined) {
    const next = phases.findIndex((p, i) => i > blocked && !failing(p));
    if (next < 0) return { kind: 'refuse', why: 'the route fails to the end of its script' };
    const untilMs = (phases[next] as Phase).at;
    if (untilMs > deadlineT) {
      return { kind: 'refuse', why: `the route fails until ${untilMs} ms, past the call's deadline` };
    }
    return { kind: 'wait', untilMs };
  }
  const slow = (phases[index] as Phase).slow;
  return slow && slow.p > 0 && slow.delayMs > ORACLE_SLOW_CUT_MS
    ? { kind: 'send', phase: index, cutMs: ORACLE_SLOW_CUT_MS }
    : { kind: 'send', phase: index };
}

/** An answer the oracle sends again after: a failure it could not foresee, or a limiter's 429. */
export const sendsAgain = (status: number): boolean => status === 429 || status >= 500;

/** The oracle declined a call it knows cannot succeed in time: the call fails at once, unsent. */
export class OracleRefusal extends Error {
  override readonly name = 'OracleRefusal';
}

/** The oracle name in the clients table and the report. */
export const ORACLE = 'oracle';

/** The limiter mirror for a phase that limits; undefined for one that does not. */
function pacerOf(phase: Phase, now: () => number): Pacer | undefined {
  if (phase.bucket) return new BucketPacer(phase.bucket, now);
  if (phase.throttle) return new WindowPacer(phase.throttle.perSecond, now);
  return undefined;
}

/** One call's last failed attempt: a response (its body still unread) or an error. */
type Last = { readonly response: Response } | { readonly error: unknown } | undefined;

async function drop(last: Last): Promise<void> {
  if (last && 'response' in last) await last.response.body?.cancel().catch(() => {});
}

/**
 * The oracle as a bench client: one limiter mirror per route, phase and tenant (as the server keeps
 * them). Where it has no script (the overhead benchmark) it sends each call once.
 */
export const oracleClient: ClientSpec = {
  name: ORACLE,
  description:
    'knows the fault script (phases, statuses, delays, limiters, tenants) and sends only what will succeed, when it will: the limit (see the oracle in the bench README)',
  async create(context) {
    const pacers = new Map<string, Pacer | undefined>();
    const release = new BucketPacer(ORACLE_MAX_RATE, context.now);
    const pacerFor = (route: string, phases: readonly Phase[], index: number, tenant: string) => {
      const key = `${route} ${index} ${tenant}`;
      if (!pacers.has(key)) pacers.set(key, pacerOf(phases[index] as Phase, context.now));
      return pacers.get(key);
    };
    const attempt = (url: string, signal: AbortSignal, headers: CallHeaders | undefined, timeoutMs: number) =>
      context.fetch(url, attemptInit(attemptSignal(signal, timeoutMs), headers));
    return {
      async call(url, signal, headers) {
        const route = context.routes.find((r) => r.name === routeOf(context, url));
        const phases = route?.phases;
        if (!route || !phases) return attempt(url, signal, headers, context.attemptTimeoutMs);
        const tenant = route.tenantHeader === undefined ? '' : (headers?.[route.tenantHeader] ?? '');
        const clock = scriptClock(context);
        const deadline = clock() + ORACLE_DEADLINE_MS;
        let last: Last;
        for (;;) {
          const t = clock();
          const step: OracleStep =
            t > deadline ? { kind: 'refuse', why: 'past the deadline' } : oracleStep(phases, t, deadline);
          if (step.kind === 'refuse') {
            if (!last) throw new OracleRefusal(`oracle: ${step.why}`);
            if ('response' in last) return last.response;
            throw last.error;
          }
          if (step.kind === 'wait') {
            await sleep(step.untilMs - t, undefined, { signal });
            continue;
          }
          const slot = await pacerFor(route.name, phases, step.phase, tenant)?.take(signal);
          const turn = await release.take(signal).catch((error: unknown) => {
            slot?.answered();
            throw error;
          });
          const timeoutMs = Math.min(step.cutMs ?? Number.POSITIVE_INFINITY, context.attemptTimeoutMs);
          await drop(last);
          try {
            const response = await attempt(url, signal, headers, timeoutMs).finally(() => {
              slot?.answered();
              turn.answered();
            });
            if (!sendsAgain(response.status)) return response;
            last = { response };
          } catch (error) {
            if (signal.aborted) throw error;
            last = { error };
          }
        }
      },
      breakers: () => [],
      transitions: () => [],
      events: () => ({}),
      close() {},
    };
  },
};

/** ms from the scenario start, as the script times its phases (0-based from creation without one). */
function scriptClock(context: ClientContext): () => number {
  const start = context.scenarioStart;
  if (start) return () => context.now() - start();
  const origin = context.now();
  return () => context.now() - origin;
}
