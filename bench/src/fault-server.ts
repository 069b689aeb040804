/**
 * A fault-injecting HTTP server that answers like Partner Center and follows each route's scripted
 * phases (schedule.ts). It counts every request it receives, those that arrive while the route is down,
 * those it answered 429, the cool-downs it announced, and those that arrive before a Retry-After it gave
 * has elapsed (throttle.ts).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { errorPayload, type Payload, successPayload, throttledPayload } from './payloads.ts';
import { deriveSeed, mulberry32, type Random } from './prng.ts';
import { decide, type Phase, phaseIndexAt, validatePhases } from './schedule.ts';
import { type Admission, RateLimiter, RetryAfterLedger, TokenBucket } from './throttle.ts';

/** Request header carrying the client's send time (`performance.now()`, same process). */
export const SENT_HEADER = 'x-bench-sent';
/** Request header carrying the attempt number within the logical call (1 = first attempt). */
export const ATTEMPT_HEADER = 'x-bench-attempt';
/** Response header naming the Retry-After given, so the client side can report when it saw it. */
export const THROTTLE_HEADER = 'x-bench-throttle';

/** One route the server answers: requests whose path is exactly `path`. */
export interface ServerRoute {
  readonly name: string;
  readonly path: string;
  readonly phases: readonly Phase[];
  /**
   * The request header naming the tenant: each tenant then has its own rate limiters, its own
   * Retry-After windows and its own early counts. Default none: the route is one tenant.
   */
  readonly tenantHeader?: string;
}

export interface FaultServerOptions {
  readonly routes: readonly ServerRoute[];
  /** Seeds the fault draws; one stream per route. */
  readonly seed: number;
  /** Clock in ms; default `performance.now`. */
  readonly now?: () => number;
}

/** One request as the server saw it. `status` 0 means the connection was reset. */
export interface Arrival {
  /** ms from the scenario start. */
  readonly t: number;
  readonly route: string;
  readonly status: number;
  readonly down: boolean;
  /** Attempt number within its logical call (1 = first attempt); 0 when the client did not say. */
  readonly attempt: number;
  /** The tenant, on routes with a tenant header. */
  readonly tenant?: string;
}

/** What one tenant of a route received. */
export interface TenantCounts {
  readonly requests: number;
  /** Requests answered 429 by a throttle phase or a token bucket. */
  readonly throttled: number;
  /** Retry-After windows announced to this tenant while none was running (RetryAfterLedger). */
  readonly coolDowns: number;
  /** Requests that arrived before a Retry-After given to this tenant had elapsed. */
  readonly early: number;
  /** ...of which the client had already received that Retry-After when it sent them. */
  readonly earlyAfterSeen: number;
}

/** What one route received. */
export interface RouteCounts {
  requests: number;
  /** Requests that arrived while the route was down. */
  whileDown: number;
  /** Requests answered 429 by a throttle phase or a token bucket. */
  throttled: number;
  /** Retry-After windows announced while none was running for that tenant, over the tenants. */
  coolDowns: number;
  /** Requests that arrived before a Retry-After the server had given (to their tenant) had elapsed. */
  early: number;
  /** ...of which the client had already received that Retry-After when it sent them. */
  earlyAfterSeen: number;
  /** Per tenant, on routes with a tenant header. */
  tenants?: Record<string, TenantCounts>;
}

/** The throttling state of one tenant of a route (the whole route when it has no tenant header). */
interface TenantState {
  readonly ledger: RetryAfterLedger;
  /** One limiter (a rate limiter or a token bucket) per limiting phase, by phase index. */
  readonly limiters: Map<number, { admit(now: number): Admission }>;
  requests: number;
  throttled: number;
}

interface RouteState {
  readonly route: ServerRoute;
  readonly random: Random;
  readonly tenants: Map<string, TenantState>;
  readonly counts: RouteCounts;
}

/** One request being answered: where it falls in its route's script, and for which tenant. */
interface Incoming {
  /** When it arrived, on the server's clock. */
  readonly now: number;
  readonly state: RouteState;
  /** The index of the phase it arrived in. */
  readonly index: number;
  readonly phase: Phase;
  readonly tenant: string;
  readonly tenantState: TenantState;
  /** Adds it to `arrivals` with the status it was answered with (0: reset). */
  readonly record: (status: number) => void;
}

/** The THROTTLE_HEADER value naming Retry-After `id` of `tenant` on `path` (all three recoverable). */
export function throttleToken(path: string, tenant: string, id: number): string {
  return `${encodeURIComponent(path)} ${encodeURIComponent(tenant)} ${id}`;
}

/** The parts of a throttleToken, or undefined when `token` is not one. */
export function parseThrottleToken(
  token: string,
): { readonly path: string; readonly tenant: string; readonly id: number } | undefined {
  const parts = token.split(' ');
  const id = Number(parts[2]);
  if (parts.length !== 3 || !Number.isInteger(id)) return undefined;
  try {
    return {
      path: decodeURIComponent(parts[0] as string),
      tenant: decodeURIComponent(parts[1] as string),
      id,
    };
  } catch {
    return undefined;
  }
}

/** A fresh limiter for a phase that limits (throttle or bucket); undefined for one that does not. */
function limiterOf(phase: Phase): { admit(now: number): Admission } | undefined {
  if (phase.throttle) return new RateLimiter(phase.throttle.perSecond, phase.throttle.retryAfterS);
  if (phase.bucket) return new TokenBucket(phase.bucket.perSecond, phase.bucket.burst);
  return undefined;
}

export class FaultServer {
  readonly #server: Server;
  readonly #routes: Map<string, RouteState>;
  readonly #now: () => number;
  readonly #timers = new Set<NodeJS.Timeout>();
  #startAt: number;
  /** Every request received, in arrival order. */
  readonly arrivals: Arrival[] = [];
  /** `http://127.0.0.1:<port>` once started. */
  origin = '';

  private constructor(options: FaultServerOptions) {
    this.#now = options.now ?? (() => performance.now());
    this.#startAt = this.#now();
    this.#routes = new Map();
    for (const route of options.routes) {
      validatePhases(route.phases);
      this.#routes.set(route.path, {
        route,
        random: mulberry32(deriveSeed(options.seed, route.name)),
        tenants: new Map(),
        counts: { requests: 0, whileDown: 0, throttled: 0, coolDowns: 0, early: 0, earlyAfterSeen: 0 },
      });
    }
    this.#server = createServer({ keepAlive: true }, (req, res) => this.#handle(req, res));
  }

  /** Starts a server on 127.0.0.1 on an ephemeral port. */
  static async start(options: FaultServerOptions): Promise<FaultServer> {
    const server = new FaultServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#server.once('error', reject);
      server.#server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.#server.address() as AddressInfo;
    server.origin = `http://127.0.0.1:${port}`;
    return server;
  }

  /** Marks the scenario start (`now()` value): phases are timed from it. */
  begin(at: number): void {
    this.#startAt = at;
  }

  /** The client received throttle `token` (a THROTTLE_HEADER value) at `at`. Unknown tokens are ignored. */
  seen(token: string, at: number): void {
    const parsed = parseThrottleToken(token);
    if (!parsed) return;
    this.#routes.get(parsed.path)?.tenants.get(parsed.tenant)?.ledger.seen(parsed.id, at);
  }

  /** Counts per route name. */
  counts(): Record<string, RouteCounts> {
    const out: Record<string, RouteCounts> = {};
    for (const state of this.#routes.values()) {
      const tenants: Record<string, TenantCounts> = {};
      const counts: RouteCounts = { ...state.counts };
      for (const [tenant, t] of state.tenants) {
        const { early, earlyAfterSeen, coolDowns } = t.ledger;
        counts.early += early;
        counts.earlyAfterSeen += earlyAfterSeen;
        counts.coolDowns += coolDowns;
        tenants[tenant] = { requests: t.requests, throttled: t.throttled, coolDowns, early, earlyAfterSeen };
      }
      out[state.route.name] = state.route.tenantHeader === undefined ? counts : { ...counts, tenants };
    }
    return out;
  }

  /** Stops listening, drops every connection and pending slow answer. */
  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const now = this.#now();
    const path = (req.url ?? '/').split('?')[0] as string;
    const state = this.#routes.get(path);
    if (!state) {
      this.#send(res, 404, errorPayload(404));
      return;
    }
    const incoming = this.#arrive(state, req, now);
    if (this.#throttled(incoming, path, res)) return;
    this.#answer(incoming, req, res);
  }

  /** Places a request in its route's script and counts it (early or not) before anything is answered. */
  #arrive(state: RouteState, req: IncomingMessage, now: number): Incoming {
    const t = now - this.#startAt;
    const index = phaseIndexAt(state.route.phases, t);
    const phase = state.route.phases[index] as Phase;
    const tenantHeader = state.route.tenantHeader;
    const tenantValue = tenantHeader === undefined ? undefined : req.headers[tenantHeader];
    const tenant = typeof tenantValue === 'string' ? tenantValue : '';
    const tenantState = this.#tenant(state, tenant);
    const sentHeader = req.headers[SENT_HEADER];
    const sentAt = typeof sentHeader === 'string' ? Number(sentHeader) : Number.NaN;
    tenantState.ledger.check(now, Number.isFinite(sentAt) ? sentAt : undefined);
    tenantState.requests++;
    state.counts.requests++;
    if (phase.down) state.counts.whileDown++;
    const attemptHeader = Number(req.headers[ATTEMPT_HEADER]);
    const attempt = Number.isInteger(attemptHeader) && attemptHeader > 0 ? attemptHeader : 0;
    const record = (status: number): void => {
      const arrival: Arrival = { t, route: state.route.name, status, down: phase.down === true, attempt };
      this.arrivals.push(tenantHeader === undefined ? arrival : { ...arrival, tenant });
    };
    return { now, state, index, phase, tenant, tenantState, record };
  }

  /** In a throttle or bucket phase, answers 429 with a Retry-After when the tenant is over its rate. */
  #throttled(incoming: Incoming, path: string, res: ServerResponse): boolean {
    const { now, index, phase, tenant, tenantState } = incoming;
    let limiter = tenantState.limiters.get(index);
    if (!limiter) {
      limiter = limiterOf(phase);
      if (!limiter) return false;
      tenantState.limiters.set(index, limiter);
    }
    const admission = limiter.admit(now);
    if (!admission.throttled) return false;
    const id = tenantState.ledger.give(now, admission.retryAfterS);
    tenantState.throttled++;
    incoming.state.counts.throttled++;
    incoming.record(429);
    res.setHeader(THROTTLE_HEADER, throttleToken(path, tenant, id));
    this.#send(res, 429, throttledPayload(admission.retryAfterS));
    return true;
  }

  /** Answers as the phase's draw says: a reset, or a status, at once or after its delay. */
  #answer(incoming: Incoming, req: IncomingMessage, res: ServerResponse): void {
    const decision = decide(incoming.phase, incoming.state.random);
    if (decision.kind === 'reset') {
      incoming.record(0);
      req.socket.resetAndDestroy();
      return;
    }
    incoming.record(decision.status);
    const payload =
      decision.status < 400 ? successPayload(incoming.state.route.name) : errorPayload(decision.status);
    if (decision.retryAfterS !== undefined) res.setHeader('retry-after', String(decision.retryAfterS));
    if (decision.delayMs > 0) this.#sendLater(res, decision.status, payload, decision.delayMs);
    else this.#send(res, decision.status, payload);
  }

  /** Sends after `delayMs`, unless the connection closes first (a client's timeout). */
  #sendLater(res: ServerResponse, status: number, payload: Payload, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#send(res, status, payload);
    }, delayMs);
    this.#timers.add(timer);
    res.once('close', () => {
      clearTimeout(timer);
      this.#timers.delete(timer);
    });
  }

  #tenant(state: RouteState, tenant: string): TenantState {
    let found = state.tenants.get(tenant);
    if (!found) {
      found = { ledger: new RetryAfterLedger(), limiters: new Map(), requests: 0, throttled: 0 };
      state.tenants.set(tenant, found);
    }
    return found;
  }

  #send(res: ServerResponse, status: number, payload: Payload): void {
    if (res.destroyed) return;
    res.statusCode = status;
    res.setHeader('content-type', payload.contentType);
    res.setHeader('ms-correlationid', '0b1f4d3e-9a7c-4e51-8d0a-6a2d9c4b7e10');
    for (const [name, value] of Object.entries(payload.headers ?? {})) res.setHeader(name, value);
    res.end(payload.body);
  }
}
