/**
 * The scenarios table. Times are at scale 1; `scaleScenario` shrinks them for the smoke test. Every
 * client of a scenario runs at the same time against its own server with the same script and seed.
 * Adding a scenario is one entry.
 */
import { type Phase, scalePhases } from './schedule.ts';

/** One route of a scenario: what the load generator calls and how the server behaves on it. */
export interface RouteSpec {
  readonly name: string;
  /** Exact request path. */
  readonly path: string;
  /** Endpoint rule for clients configured per endpoint (breakwater's `match` grammar). */
  readonly match: string;
  /** Logical calls per second started on this route. */
  readonly rps: number;
  readonly phases: readonly Phase[];
  /**
   * Calls come from several tenants, named by a request header. The server limits and tracks each
   * tenant on its own (its throttle phases apply per tenant), and breakwater's rule is partitioned by
   * the header (`keyHeader`). Default: no tenants.
   */
  readonly tenants?: TenantLoad;
}

/** Who sends a route's calls. */
export interface TenantLoad {
  /** The request header naming the tenant, e.g. `x-tenant-id`. */
  readonly header: string;
  /**
   * Tenants with their integer share of the route's calls: calls are dealt out in rotation, so a
   * tenant with share 3 next to two with share 1 sends 3/5 of the calls, evenly spread.
   */
  readonly ids: readonly { readonly id: string; readonly share: number }[];
}

/** The attempt timeout a client gets unless a scenario says otherwise (ms): breakwater's, ky's and opossum's default. */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 10_000;

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly durationMs: number;
  /** Seeds the server's fault draws. */
  readonly seed: number;
  /**
   * The attempt timeout every client gets (ms). Default 10 000 (DEFAULT_ATTEMPT_TIMEOUT_MS); fetch, p-retry and
   * cockatiel get it as an AbortSignal timeout.
   */
  readonly attemptTimeoutMs?: number;
  /**
   * false switches every client's circuit breaker off, to isolate what retries alone do (breakwater:
   * `breaker.enabled: false`; cockatiel: its retry alone; opossum, only a breaker, does not run).
   * Default true.
   */
  readonly breakers?: boolean;
  readonly routes: readonly RouteSpec[];
}

const customers = { name: 'customers', path: '/v1/customers', match: 'GET */v1/customers' } as const;
const orders = { name: 'orders', path: '/v1/orders', match: 'GET */v1/orders' } as const;

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'outage',
    description: '2 s healthy, 11.5 s of HTTP 500 on every request, 5.5 s recovered',
    // breakwater's breaker opens at ~2.2 s and probes at ~7.2 s, while down; the next probe comes twice
    // the interval after that probe's answer (~17.2 s, later on a loaded machine): the upstream heals
    // within one interval (5 s) of it, and the run lasts ~2 s past it, so both the probe while down and
    // the return are measured.
    durationMs: 19_000,
    seed: 1,
    routes: [
      {
        ...customers,
        rps: 40,
        phases: [
          { at: 0, label: 'healthy' },
          { at: 2_000, label: 'outage 500', down: true, status: 500 },
          { at: 13_500, label: 'recovered' },
        ],
      },
    ],
  },
  {
    name: 'throttle',
    description: '30 req/s against a 20 req/s limit: 429 with Retry-After: 1 (gateway payload)',
    // 240 calls: long enough for the peers' retries to run out (at 5 s p-retry got every call through).
    durationMs: 8_000,
    seed: 2,
    routes: [
      {
        ...customers,
        rps: 30,
        phases: [{ at: 0, label: 'limit 20/s', throttle: { perSecond: 20, retryAfterS: 1 } }],
      },
    ],
  },
  {
    name: 'token-bucket',
    description:
      "40 req/s for 6 s against a token bucket of 20 tokens/s, burst 20 (one tenant's bucket, as Partner Center's gateway keeps per tenant): 429 with Retry-After = whole seconds to the next token, rounded up",
    // An ideal client finishes the 240 calls at 11 s (20 at once, then 20/s): its last call waits 5 s,
    // well inside breakwater's 30 s total deadline and within the run's 8 s drain.
    durationMs: 6_000,
    seed: 10,
    routes: [
      {
        ...customers,
        rps: 40,
        phases: [{ at: 0, label: 'bucket 20/s, burst 20', bucket: { perSecond: 20, burst: 20 } }],
      },
    ],
  },
  {
    name: 'throttle-tenant',
    description:
      'per-tenant limit of 10 req/s (429, Retry-After: 1, one window per tenant): contoso sends 15/s, fabrikam and northwind 5/s each',
    durationMs: 3_000,
    seed: 8,
    routes: [
      {
        ...customers,
        rps: 25,
        tenants: {
          header: 'x-tenant-id',
          ids: [
            { id: 'contoso', share: 3 },
            { id: 'fabrikam', share: 1 },
            { id: 'northwind', share: 1 },
          ],
        },
        phases: [{ at: 0, label: 'limit 10/s per tenant', throttle: { perSecond: 10, retryAfterS: 1 } }],
      },
    ],
  },
  {
    name: 'budget',
    description:
      '1 s healthy, 5 s of HTTP 503 (no Retry-After) on every request, 1 s recovered; every breaker off to isolate retries',
    durationMs: 7_000,
    seed: 9,
    breakers: false,
    routes: [
      {
        ...customers,
        rps: 20,
        phases: [
          { at: 0, label: 'healthy' },
          { at: 1_000, label: '503, no Retry-After', down: true, status: 503 },
          { at: 6_000, label: 'recovered' },
        ],
      },
    ],
  },
  {
    name: 'flaky',
    description: '10 % HTTP 503 (no Retry-After) and 2 % connection resets',
    durationMs: 8_000,
    seed: 3,
    routes: [
      {
        ...customers,
        rps: 40,
        phases: [
          {
            at: 0,
            label: 'flaky',
            faults: [
              { p: 0.1, status: 503 },
              { p: 0.02, reset: true },
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'flap',
    description: '15 % 502/503/504 flaps; the 503s carry Retry-After: 1',
    // 200 calls, as flaky: one failure is 99.5 %, the success target's bound.
    durationMs: 5_000,
    seed: 4,
    routes: [
      {
        ...customers,
        rps: 40,
        phases: [
          {
            at: 0,
            label: 'flapping',
            faults: [
              { p: 0.05, status: 502 },
              { p: 0.05, status: 503, retryAfterS: 1 },
              { p: 0.05, status: 504 },
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'client-errors',
    description: '30 % 4xx (400, 401, 404, 409 with Partner Center bodies): nothing may be retried',
    durationMs: 3_000,
    seed: 5,
    routes: [
      {
        ...customers,
        rps: 40,
        phases: [
          {
            at: 0,
            label: '30 % 4xx',
            faults: [
              { p: 0.1, status: 400 },
              { p: 0.05, status: 401 },
              { p: 0.1, status: 404 },
              { p: 0.05, status: 409 },
            ],
          },
        ],
      },
    ],
  },
  {
    name: 'slow',
    description:
      '20 % of responses take 3 s (past the 1 s attempt timeout every client gets) from 1 s to 4 s',
    durationMs: 5_000,
    seed: 6,
    attemptTimeoutMs: 1_000,
    routes: [
      {
        ...customers,
        rps: 30,
        phases: [
          { at: 0, label: 'healthy' },
          { at: 1_000, label: 'slow spikes', slow: { p: 0.2, delayMs: 3_000 } },
          { at: 4_000, label: 'healthy' },
        ],
      },
    ],
  },
  {
    name: 'multi-endpoint',
    description: 'orders down (500) from 2 s to 5 s while customers stays healthy',
    // Until a breaker's half-open probe (5 s after it opens, at ~7 s) finds orders healed.
    durationMs: 8_000,
    seed: 7,
    routes: [
      { ...customers, rps: 20, phases: [{ at: 0, label: 'healthy' }] },
      {
        ...orders,
        rps: 20,
        phases: [
          { at: 0, label: 'healthy' },
          { at: 2_000, label: 'outage 500', down: true, status: 500 },
          { at: 5_000, label: 'recovered' },
        ],
      },
    ],
  },
];

/** The scenario with its duration and every phase start multiplied by `scale` (rates unchanged). */
export function scaleScenario(scenario: Scenario, scale: number): Scenario {
  if (!(scale > 0)) throw new RangeError(`scale must be > 0, got ${scale}`);
  if (scale === 1) return scenario;
  return {
    ...scenario,
    durationMs: Math.round(scenario.durationMs * scale),
    routes: scenario.routes.map((r) => ({ ...r, phases: scalePhases(r.phases, scale) })),
  };
}

/** Each tenant's rate of calls (per second) on a route with tenants; empty without. */
export function tenantRates(route: RouteSpec): { readonly id: string; readonly rps: number }[] {
  if (!route.tenants) return [];
  const total = route.tenants.ids.reduce((sum, t) => sum + t.share, 0);
  return route.tenants.ids.map((t) => ({ id: t.id, rps: (route.rps * t.share) / total }));
}

/** Looks a scenario up by name, with the known names in the error. */
export function scenarioNamed(name: string): Scenario {
  const found = SCENARIOS.find((s) => s.name === name);
  if (!found) {
    throw new Error(`unknown scenario "${name}"; known: ${SCENARIOS.map((s) => s.name).join(', ')}`);
  }
  return found;
}
