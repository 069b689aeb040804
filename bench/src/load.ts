/**
 * The open-loop load generator: logical calls start on a fixed schedule, whatever happened to the
 * previous ones, so a client that stalls cannot hide load (no coordinated omission). Every lane (one
 * client against its own server) gets the same call at the same moment.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchClient, CallHeaders } from './client.ts';
import { callContext } from './instrument.ts';
import type { TenantLoad } from './scenarios.ts';

/** How a logical call ended, from the caller's point of view. */
export type Outcome =
  | 'ok'
  | 'client-error'
  | 'throttled'
  | 'server-error'
  | 'fail-fast'
  | 'timeout'
  | 'network'
  | 'aborted';

/** Every outcome, in chart stacking order. */
export const OUTCOMES: readonly Outcome[] = [
  'ok',
  'client-error',
  'throttled',
  'server-error',
  'fail-fast',
  'timeout',
  'network',
  'aborted',
];

/** One logical call. Times in ms from the scenario start. */
export interface CallRecord {
  readonly route: string;
  readonly start: number;
  readonly end: number;
  readonly outcome: Outcome;
  /** Final HTTP status, 0 when there was none. */
  readonly status: number;
  /** Upstream attempts it made (0: rejected without touching the network). */
  readonly attempts: number;
  /** The tenant it was sent for, on routes with tenants. */
  readonly tenant?: string;
}

/** One scheduled logical call. */
export interface PlannedCall {
  readonly at: number;
  readonly route: string;
  readonly path: string;
  /** The tenant it is sent for, and the header naming it, on routes with tenants. */
  readonly tenant?: string;
  readonly headers?: CallHeaders;
}

/** What planCalls needs of a route. */
export interface PlannedRoute {
  readonly name: string;
  readonly path: string;
  readonly rps: number;
  readonly tenants?: TenantLoad;
}

/**
 * The rotation of tenant ids a route's calls are dealt out in: shares interleaved (largest remainder
 * first), so that `contoso: 3, fabrikam: 1` gives `contoso fabrikam contoso contoso` rather than a burst
 * of one tenant followed by the other.
 */
export function tenantRotation(tenants: TenantLoad): string[] {
  if (tenants.ids.length === 0) throw new RangeError(`tenants of header ${tenants.header}: at least one id`);
  for (const { id, share } of tenants.ids) {
    if (!(Number.isInteger(share) && share > 0)) {
      throw new RangeError(`tenant ${id}: share must be a positive integer, got ${share}`);
    }
  }
  const total = tenants.ids.reduce((sum, t) => sum + t.share, 0);
  const credit = tenants.ids.map(() => 0);
  const out: string[] = [];
  // Smooth weighted round-robin (as nginx does it): deterministic, and spreads each tenant evenly.
  for (let k = 0; k < total; k++) {
    let best = 0;
    tenants.ids.forEach((t, i) => {
      credit[i] = (credit[i] as number) + t.share;
      if ((credit[i] as number) > (credit[best] as number)) best = i;
    });
    credit[best] = (credit[best] as number) - total;
    out.push((tenants.ids[best] as { id: string }).id);
  }
  return out;
}

/**
 * Evenly spaced calls for each route at its rate over [0, durationMs), merged in time order. On a route
 * with tenants, call k carries the k-th tenant of the rotation in the tenant header.
 */
export function planCalls(routes: readonly PlannedRoute[], durationMs: number): PlannedCall[] {
  const plan: PlannedCall[] = [];
  for (const route of routes) {
    if (!(route.rps > 0)) throw new RangeError(`route ${route.name}: rps must be > 0, got ${route.rps}`);
    const gap = 1000 / route.rps;
    const tenants = route.tenants;
    const rotation = tenants ? tenantRotation(tenants) : [];
    for (let k = 0; k * gap < durationMs; k++) {
      const call: PlannedCall = { at: k * gap, route: route.name, path: route.path };
      const tenant = rotation[k % rotation.length];
      plan.push(
        tenants && tenant !== undefined ? { ...call, tenant, headers: { [tenants.header]: tenant } } : call,
      );
    }
  }
  return plan.sort((a, b) => a.at - b.at);
}

/** The outcome of a final HTTP status. */
export function outcomeOfStatus(status: number): Outcome {
  if (status < 400) return 'ok';
  if (status === 429) return 'throttled';
  if (status < 500) return 'client-error';
  return 'server-error';
}

function statusOf(error: unknown): number {
  if (typeof error !== 'object' || error === null) return 0;
  const e = error as { status?: unknown; response?: { status?: unknown } };
  if (typeof e.status === 'number') return e.status;
  if (typeof e.response?.status === 'number') return e.response.status;
  return 0;
}

/** Classifies a rejection. No attempt at all means the client failed fast (an open breaker). */
export function outcomeOfError(
  error: unknown,
  attempts: number,
  runAborted: boolean,
): { outcome: Outcome; status: number } {
  const status = statusOf(error);
  if (status > 0) return { outcome: outcomeOfStatus(status), status };
  if (runAborted) return { outcome: 'aborted', status: 0 };
  if (attempts === 0) return { outcome: 'fail-fast', status: 0 };
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  if (name === 'TimeoutError' || name === 'AbortError' || /timed? ?out/i.test(message)) {
    return { outcome: 'timeout', status: 0 };
  }
  return { outcome: 'network', status: 0 };
}

/** One client driven against its own server. */
export interface Lane {
  readonly name: string;
  readonly client: BenchClient;
  readonly origin: string;
  readonly records: CallRecord[];
  started: number;
}

export interface OpenLoopOptions {
  readonly plan: readonly PlannedCall[];
  readonly lanes: readonly Lane[];
  readonly now: () => number;
  /** `now()` value of the scenario start. */
  readonly startAt: number;
  /** How long to wait for calls still running after the last start, before aborting them (ms). */
  readonly drainMs: number;
  /**
   * Called once every call of the plan has started and at most `quietCalls` are still running (a few
   * late calls, mostly asleep in a backoff), before the drain ends.
   */
  readonly onScheduled?: () => void;
  /** See `onScheduled`. Default 0. */
  readonly quietCalls?: number;
}

/** Runs the plan through every lane; resolves when every call has settled (or been given up on). */
export async function runOpenLoop(options: OpenLoopOptions): Promise<void> {
  const { plan, lanes, now, startAt } = options;
  const controller = new AbortController();
  const pending = new Set<Promise<void>>();

  const fire = (lane: Lane, call: PlannedCall): void => {
    const start = now() - startAt;
    const context = { attempts: 0 };
    lane.started++;
    const done = callContext.run(context, async () => {
      let outcome: Outcome;
      let status = 0;
      let end: number;
      try {
        const response = await lane.client.call(lane.origin + call.path, controller.signal, call.headers);
        end = now() - startAt;
        status = response.status;
        outcome = outcomeOfStatus(status);
        await response.arrayBuffer().catch(() => {});
      } catch (error) {
        end = now() - startAt;
        ({ outcome, status } = outcomeOfError(error, context.attempts, controller.signal.aborted));
      }
      const record: CallRecord = {
        route: call.route,
        start,
        end,
        outcome,
        status,
        attempts: context.attempts,
      };
      lane.records.push(call.tenant === undefined ? record : { ...record, tenant: call.tenant });
    });
    pending.add(done);
    void done.finally(() => {
      pending.delete(done);
      if (scheduled) quiet();
    });
  };
  let scheduled = false;
  let told = false;
  const quiet = (): void => {
    if (told || pending.size > (options.quietCalls ?? 0)) return;
    told = true;
    options.onScheduled?.();
  };

  let i = 0;
  while (i < plan.length) {
    const t = now() - startAt;
    while (i < plan.length && (plan[i] as PlannedCall).at <= t) {
      for (const lane of lanes) fire(lane, plan[i] as PlannedCall);
      i++;
    }
    const next = plan[i];
    if (next) await sleep(Math.max(0, next.at - (now() - startAt)));
  }

  scheduled = true;
  quiet();
  const settled = (): Promise<unknown> => Promise.allSettled([...pending]);
  const timer = (ms: number) => sleep(ms, undefined, { ref: false });
  await Promise.race([settled(), timer(options.drainMs)]);
  if (pending.size > 0) {
    controller.abort(new Error('bench: scenario over'));
    await Promise.race([settled(), timer(2_000)]);
  }
}
