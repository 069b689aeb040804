/**
 * The shape every client under test takes in the bench: one logical call in, a Response out (or a
 * throw), plus whatever breaker state the library exposes.
 */
import type { Phase } from './schedule.ts';

/** Breaker states as the bench charts them. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** One breaker's state at a moment. `key` names the route (or endpoint key) it guards. */
export interface BreakerSample {
  readonly key: string;
  readonly state: BreakerState;
}

/** A breaker state change reported by the library's own events, timed with the bench clock. */
export interface Transition {
  readonly at: number;
  readonly key: string;
  readonly state: BreakerState;
}

/** One route as a client sees it. */
export interface ContextRoute {
  readonly name: string;
  readonly path: string;
  readonly match: string;
  /**
   * The server limits this route per tenant, named by this request header: a careful breakwater user
   * partitions the endpoint by it (`keyHeader`). Absent for routes without tenants.
   */
  readonly tenantHeader?: string;
  /**
   * The route's fault script, as the server follows it (phases timed from the scenario start). Only
   * the oracle lane reads it: the other clients know no more than a real client would.
   */
  readonly phases?: readonly Phase[];
  /**
   * Some answers on this route are slow (a `slow` phase): lanes that exist for tail latency (hedging,
   * slow-call breaking) run only where there is a tail to show.
   */
  readonly slowTail?: true;
}

/** Extra request headers of one logical call (a tenant id); none for most scenarios. */
export type CallHeaders = Readonly<Record<string, string>>;

/** What a client factory gets. */
export interface ClientContext {
  /** The fetch to build on: instrumented in scenarios, bare in the overhead benchmark. */
  readonly fetch: typeof globalThis.fetch;
  /** Routes of the scenario: a careful user configures one breaker (endpoint) per route. */
  readonly routes: readonly ContextRoute[];
  /** The attempt timeout every client gets in this scenario (ms). */
  readonly attemptTimeoutMs: number;
  /**
   * false when the scenario switches circuit breakers off to isolate retries (the `budget` scenario):
   * clients with a breaker run without it, and a client that is only a breaker declines to run.
   */
  readonly breakers: boolean;
  /** The bench clock, for transition timestamps. */
  readonly now: () => number;
  /**
   * When the scenario's script starts, on the `now` clock (known once the load begins). Only the oracle
   * reads it, to place a call in the script; absent outside scenarios.
   */
  readonly scenarioStart?: () => number;
}

/** A client instance under test. */
export interface BenchClient {
  /**
   * One logical GET with `headers` sent on every attempt. Resolves with the final response, or rejects
   * as the library does.
   */
  call(url: string, signal: AbortSignal, headers?: CallHeaders): Promise<Response>;
  /** Current breaker states (empty for clients without a breaker). */
  breakers(): readonly BreakerSample[];
  /** Transitions seen through the library's events, in order. */
  transitions(): readonly Transition[];
  /** Library events counted by type (breakwater's onEvent), for the report. */
  events(): Readonly<Record<string, number>>;
  /** Stops the client's own timers. */
  close(): void;
}

/** One entry of the clients table. */
export interface ClientSpec {
  readonly name: string;
  /** One line for the report: what it is and how it is configured. */
  readonly description: string;
  /**
   * Whether the client belongs in a scenario with these routes (the tail-latency lanes only where
   * answers are slow); a client it does not apply to gets no lane at all. Default: every scenario.
   */
  readonly appliesTo?: (routes: readonly ContextRoute[]) => boolean;
  /** Builds an instance; rejects with ClientUnavailableError when it cannot run here. */
  create(context: ClientContext): Promise<BenchClient>;
}

/** The client cannot run in this checkout (e.g. @breakwater/core does not export wrapFetch yet). */
export class ClientUnavailableError extends Error {
  override readonly name = 'ClientUnavailableError';
}

/** A non-2xx response thrown by the peers' action functions, the way their READMEs do it. */
export class HttpStatusError extends Error {
  override readonly name = 'HttpStatusError';
  readonly status: number;
  constructor(status: number) {
    super(`HTTP ${status}`);
    this.status = status;
  }
}

/** Resolves with a 2xx response; cancels any other response's body and throws HttpStatusError. */
export async function okOrThrow(response: Response): Promise<Response> {
  if (response.ok) return response;
  await response.body?.cancel().catch(() => {});
  throw new HttpStatusError(response.status);
}

/** The caller's signal combined with a per-attempt timeout, as peers without their own timeout need. */
export function attemptSignal(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/**
 * fetch's init for one attempt: the signal, and the headers only when there are any (so that calls
 * without headers cost what they did before headers existed).
 */
export function attemptInit(signal: AbortSignal, headers: CallHeaders | undefined): RequestInit {
  return headers ? { signal, headers } : { signal };
}

/** The route whose path is the URL's path, for per-route breakers. */
export function routeOf(context: ClientContext, url: string): string {
  const path = new URL(url).pathname;
  return context.routes.find((r) => r.path === path)?.name ?? 'other';
}
