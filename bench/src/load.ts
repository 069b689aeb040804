/**
 * The open-loop load generator: logical calls start on a fixed schedule, whatever happened to the
 * previous ones, so a client that stalls cannot hide load (no coordinated omission). Every lane (one
 * client against its own server) gets the same call at the same moment.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchClient } from './client.ts';
import { callContext } from './instrument.ts';

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
}

/** One scheduled logical call. */
export interface PlannedCall {
  readonly at: number;
  readonly route: string;
  readonly path: string;
}

/** Evenly spaced calls for each route at its rate over [0, durationMs), merged in time order. */
export function planCalls(
  routes: readonly { readonly name: string; readonly path: string; readonly rps: number }[],
  durationMs: number,
): PlannedCall[] {
  const plan: PlannedCall[] = [];
  for (const route of routes) {
    if (!(route.rps > 0)) throw new RangeError(`route ${route.name}: rps must be > 0, got ${route.rps}`);
    const gap = 1000 / route.rps;
    for (let k = 0; k * gap < durationMs; k++)
      plan.push({ at: k * gap, route: route.name, path: route.path });
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
        const response = await lane.client.call(lane.origin + call.path, controller.signal);
        end = now() - startAt;
        status = response.status;
        outcome = outcomeOfStatus(status);
        await response.arrayBuffer().catch(() => {});
      } catch (error) {
        end = now() - startAt;
        ({ outcome, status } = outcomeOfError(error, context.attempts, controller.signal.aborted));
      }
      lane.records.push({ route: call.route, start, end, outcome, status, attempts: context.attempts });
    });
    pending.add(done);
    void done.finally(() => pending.delete(done));
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

  const settled = (): Promise<unknown> => Promise.allSettled([...pending]);
  const timer = (ms: number) => sleep(ms, undefined, { ref: false });
  await Promise.race([settled(), timer(options.drainMs)]);
  if (pending.size > 0) {
    controller.abort(new Error('bench: scenario over'));
    await Promise.race([settled(), timer(2_000)]);
  }
}
