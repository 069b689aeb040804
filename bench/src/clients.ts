/**
 * The clients table: every library under test, each configured the way its README shows (plus the
 * scenario's attempt timeout, which every client gets alike). Adding a client is one entry.
 */

import { type BreakwaterEvent, wrapFetch } from '@breakwater/core';
import { type PolicyInput, partnerCenter } from '@breakwater/policies';
import {
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  wrap,
} from 'cockatiel';
import ky from 'ky';
import CircuitBreaker from 'opossum';
import pRetry from 'p-retry';
import {
  attemptInit,
  attemptSignal,
  type BenchClient,
  type BreakerSample,
  type BreakerState,
  type CallHeaders,
  type ClientContext,
  type ClientSpec,
  ClientUnavailableError,
  type ContextRoute,
  okOrThrow,
  routeOf,
  type Transition,
} from './client.ts';
import { oracleClient } from './oracle.ts';

const noEvents: Readonly<Record<string, number>> = Object.freeze({});

/** Per-route instances, built on first use: a careful user keeps one breaker per endpoint. */
function perRoute<T>(context: ClientContext, build: (route: string) => T): Map<string, T> {
  const map = new Map<string, T>();
  for (const route of context.routes) map.set(route.name, build(route.name));
  return map;
}

function pick<T>(map: Map<string, T>, context: ClientContext, url: string): T {
  const found = map.get(routeOf(context, url)) ?? map.values().next().value;
  if (found === undefined) throw new Error(`no route configured for ${new URL(url).pathname}`);
  return found;
}

/** raw fetch: no resilience at all, only the attempt timeout. */
const rawFetch: ClientSpec = {
  name: 'fetch',
  description: 'raw fetch, no retry or breaker (attempt timeout only)',
  async create(context) {
    return {
      call: (url, signal, headers) =>
        context.fetch(url, attemptInit(attemptSignal(signal, context.attemptTimeoutMs), headers)),
      breakers: () => [],
      transitions: () => [],
      events: () => noEvents,
      close() {},
    };
  },
};

/** p-retry as typically used: throw on non-2xx, `retries: 3` (4 attempts), default backoff 1 s x2. */
const pRetryClient: ClientSpec = {
  name: 'p-retry',
  description: 'p-retry 9, retries: 3 (4 attempts), non-2xx thrown, default 1 s exponential backoff',
  async create(context) {
    return {
      call: (url, signal, headers) =>
        pRetry(
          async () =>
            okOrThrow(
              await context.fetch(url, attemptInit(attemptSignal(signal, context.attemptTimeoutMs), headers)),
            ),
          { retries: 3, signal },
        ),
      breakers: () => [],
      transitions: () => [],
      events: () => noEvents,
      close() {},
    };
  },
};

/** ky with its own retry defaults (limit 2, Retry-After honoured on 413/429/503). */
const kyClient: ClientSpec = {
  name: 'ky',
  description:
    'ky 2 defaults: retry limit 2 (3 attempts) on 408/413/429/500/502/503/504, Retry-After honoured',
  async create(context) {
    const client = ky.create({ fetch: context.fetch, timeout: context.attemptTimeoutMs });
    return {
      call: (url, signal, headers) => client.get(url, headers ? { signal, headers } : { signal }),
      breakers: () => [],
      transitions: () => [],
      events: () => noEvents,
      close() {},
    };
  },
};

const cockatielStates: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'open',
};

/**
 * cockatiel's README composition: retry(handleAll, 3 retries, exponential) around ConsecutiveBreaker(5);
 * the retry alone when the scenario switches breakers off.
 */
const cockatielClient: ClientSpec = {
  name: 'cockatiel',
  description:
    'cockatiel 4 README: wrap(retry(handleAll, maxAttempts 3, ExponentialBackoff), circuitBreaker(ConsecutiveBreaker(5), halfOpenAfter 10 s)), non-2xx thrown',
  async create(context) {
    const log: Transition[] = [];
    const policies = perRoute(context, (route) => {
      const breaker = circuitBreaker(handleAll, {
        halfOpenAfter: 10_000,
        breaker: new ConsecutiveBreaker(5),
      });
      breaker.onStateChange((state) =>
        log.push({ at: context.now(), key: route, state: cockatielStates[state] }),
      );
      const retries = retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() });
      const policy = context.breakers ? wrap(retries, breaker) : retries;
      return { breaker, policy };
    });
    return {
      call: (url, signal, headers) =>
        pick(policies, context, url).policy.execute(
          async (ctx) =>
            okOrThrow(
              await context.fetch(
                url,
                attemptInit(attemptSignal(ctx.signal, context.attemptTimeoutMs), headers),
              ),
            ),
          signal,
        ),
      breakers: () =>
        context.breakers
          ? [...policies].map(([key, p]) => ({ key, state: cockatielStates[p.breaker.state] }))
          : [],
      transitions: () => log,
      events: () => noEvents,
      close() {},
    };
  },
};

/** opossum's README options (timeout aside): 50 % errors, reset after 30 s, non-2xx thrown. */
const opossumClient: ClientSpec = {
  name: 'opossum',
  description:
    'opossum 10 README: errorThresholdPercentage 50, resetTimeout 30 s, timeout = attempt timeout, no retry, non-2xx thrown',
  async create(context) {
    if (!context.breakers) {
      throw new ClientUnavailableError(
        'opossum is only a circuit breaker (no retry): left out while breakers are off',
      );
    }
    const log: Transition[] = [];
    const breakers = perRoute(context, (route) => {
      const breaker = new CircuitBreaker(
        async (url: string, signal: AbortSignal, headers: CallHeaders | undefined) =>
          okOrThrow(
            await context.fetch(url, attemptInit(attemptSignal(signal, context.attemptTimeoutMs), headers)),
          ),
        { timeout: context.attemptTimeoutMs, errorThresholdPercentage: 50, resetTimeout: 30_000 },
      );
      breaker.on('open', () => log.push({ at: context.now(), key: route, state: 'open' }));
      breaker.on('halfOpen', () => log.push({ at: context.now(), key: route, state: 'half-open' }));
      breaker.on('close', () => log.push({ at: context.now(), key: route, state: 'closed' }));
      return breaker;
    });
    const stateOf = (b: CircuitBreaker): BreakerState =>
      b.opened ? 'open' : b.halfOpen ? 'half-open' : 'closed';
    return {
      call: (url, signal, headers) =>
        pick(breakers, context, url).fire(url, signal, headers) as Promise<Response>,
      breakers: () => [...breakers].map(([key, b]) => ({ key, state: stateOf(b) })),
      transitions: () => log,
      events: () => noEvents,
      close() {
        for (const b of breakers.values()) b.shutdown();
      },
    };
  },
};

/**
 * Endpoint keys are `<rule name> <origin>[ <header>=<value>]`: the bench charts the rule name, and the
 * header's value for a partitioned key (one breaker per tenant).
 */
export function keyName(key: string): string {
  const [name = key, , partition] = key.split(' ');
  if (partition === undefined) return name;
  return `${name} ${partition.slice(partition.indexOf('=') + 1)}`;
}

const eventStates: Readonly<Partial<Record<BreakwaterEvent['type'], BreakerState>>> = {
  break: 'open',
  'half-open': 'half-open',
  reset: 'closed',
};

/** What sets a lane apart from breakwater's default lane, besides its policy. */
interface TailLane {
  /** The lane runs only in scenarios with slow answers (`slow` phases): elsewhere it shows nothing new. */
  readonly slowTailOnly?: boolean;
  /** Breaks on slow calls: an answer later than half the attempt timeout is slow, 10 % of them open. */
  readonly slowCalls?: boolean;
  /** Passes no `onEvent` (the default lane counts events and breaker transitions through one). */
  readonly withoutOnEvent?: boolean;
}

const hasSlowTail = (routes: readonly ContextRoute[]): boolean => routes.some((r) => r.slowTail);

function slowCallBreaker(lane: TailLane, context: ClientContext): PolicyInput {
  if (!lane.slowCalls) return {};
  return { breaker: { slowCallMs: context.attemptTimeoutMs / 2, slowCallRatio: 0.1 } };
}

/**
 * breakwater: one endpoint rule per route, the scenario's attempt timeout, defaults or a preset. A route
 * the server limits per tenant is partitioned by the tenant header (`keyHeader`), as a careful user
 * would; with breakers off the rule switches its breaker off (`breaker.enabled: false`).
 */
function breakwater(
  name: string,
  description: string,
  policy: PolicyInput | undefined,
  lane: TailLane = {},
): ClientSpec {
  return {
    name,
    description,
    ...(lane.slowTailOnly ? { appliesTo: hasSlowTail } : {}),
    async create(context) {
      const log: Transition[] = [];
      const counts: Record<string, number> = {};
      const f = wrapFetch(context.fetch, {
        ...(policy ? { policy } : {}),
        endpoints: context.routes.map((r) => ({
          name: r.name,
          match: r.match,
          ...(r.tenantHeader === undefined ? {} : { keyHeader: r.tenantHeader }),
          policy: {
            timeout: { attemptMs: context.attemptTimeoutMs },
            ...(context.breakers ? slowCallBreaker(lane, context) : { breaker: { enabled: false } }),
          },
        })),
        ...(lane.withoutOnEvent
          ? {}
          : {
              onEvent: (e: BreakwaterEvent) => {
                counts[e.type] = (counts[e.type] ?? 0) + 1;
                const state = eventStates[e.type];
                if (state) log.push({ at: context.now(), key: keyName(e.key), state });
              },
            }),
      });
      const client: BenchClient = {
        call: (url, signal, headers) => f(url, attemptInit(signal, headers)),
        breakers: (): BreakerSample[] =>
          f
            .breakers()
            .map((b) => ({ key: keyName(b.key), state: b.state === 'isolated' ? 'open' : b.state })),
        transitions: () => log,
        events: () => counts,
        close() {},
      };
      return client;
    },
  };
}

/** Every client, in report order; the oracle last, where the scenario's limiter is known to it. */
export const CLIENTS: readonly ClientSpec[] = [
  rawFetch,
  pRetryClient,
  kyClient,
  cockatielClient,
  opossumClient,
  breakwater('breakwater', 'breakwater defaults, one endpoint rule per route', undefined),
  breakwater(
    'breakwater-pc',
    'breakwater with the partnerCenter() preset, one endpoint rule per route',
    partnerCenter(),
  ),
  breakwater(
    'breakwater-hedge',
    'breakwater defaults plus hedging: one hedged attempt after 250 ms (scenarios with a slow tail)',
    { hedging: { enabled: true, delayMs: 250 } },
    { slowTailOnly: true },
  ),
  breakwater(
    'breakwater-slowcall',
    'breakwater defaults plus slow-call breaking: slowCallMs half the attempt timeout, slowCallRatio 0.1 (scenarios with a slow tail)',
    undefined,
    { slowTailOnly: true, slowCalls: true },
  ),
  oracleClient,
];

/**
 * breakwater's default lane less one of its defaults each (or less its `onEvent` listener), for the
 * overhead section's feature pairs: what that costs per call on a healthy path (each timed back to
 * back with the default lane).
 */
export const FEATURE_CLIENTS: readonly ClientSpec[] = [
  breakwater(
    'breakwater, RateLimit headers not read',
    'breakwater defaults but throttle.rateLimitHeaders: false',
    { throttle: { rateLimitHeaders: false } },
  ),
  // The gate alone reads the RateLimit headers: this lane saves the row above's cost too.
  breakwater(
    'breakwater, no throttle gate (nor RateLimit reads)',
    'breakwater defaults but throttle.enabled: false',
    {
      throttle: { enabled: false },
    },
  ),
  breakwater('breakwater, no circuit breaker', 'breakwater defaults but breaker.enabled: false', {
    breaker: { enabled: false },
  }),
  breakwater('breakwater, no retry budget', 'breakwater defaults but retryBudget.enabled: false', {
    retryBudget: { enabled: false },
  }),
  // Not a default: the bench's default lane counts events through an onEvent, which builds an attempt
  // event per call; what a user who passes one pays.
  breakwater('breakwater, no onEvent listener', 'breakwater defaults, no onEvent listener', undefined, {
    withoutOnEvent: true,
  }),
];

/** The cockatiel composition the overhead target names: retry around a breaker, nothing else. */
export const cockatielBare: ClientSpec = {
  name: 'cockatiel (retry+breaker only)',
  description: 'cockatiel retry+breaker without the attempt timeout signal',
  async create(context) {
    const policy = wrap(
      retry(handleAll, { maxAttempts: 3, backoff: new ExponentialBackoff() }),
      circuitBreaker(handleAll, { halfOpenAfter: 10_000, breaker: new ConsecutiveBreaker(5) }),
    );
    return {
      call: (url, signal, headers) =>
        policy.execute(async () => okOrThrow(await context.fetch(url, attemptInit(signal, headers))), signal),
      breakers: () => [],
      transitions: () => [],
      events: () => noEvents,
      close() {},
    };
  },
};
