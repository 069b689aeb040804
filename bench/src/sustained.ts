/**
 * Loopback throughput held for seconds, each client alone in a process of its own: the figure issue 17's
 * loopback target names (throughput), each client paying for all of its own work and none of another's.
 * The loopback pairs (overhead.ts) time two clients in one process, in rounds of 64 calls (~4 ms), and
 * take the median round. Two things escape them:
 * - Work a call leaves for later lands in whichever lane's round runs then. Raw fetch with an attempt
 *   timeout leaves the most: each `AbortSignal.timeout` leaves a timer, cleared by a
 *   FinalizationRegistry callback once its signal is collected, or fired ten seconds on if it is not
 *   yet (a DOMException, an abort dispatched to the composite signal and to undici's listener: both in
 *   a profile of raw fetch's lane). In one process the two lanes split that work.
 * - A scavenge (here 14-20 ms, one about every 100 ms, ~20 % of a loopback run's time) lands in about
 *   one round in twelve, and the median leaves those rounds out.
 * So the pairs read main-thread work without GC, with raw fetch's deferred work shared. Longer rounds
 * in one process were no cure: raw fetch against itself read 0.75-1.52x per pair of 10 000-call runs
 * (session 27). In separate processes, one after the other, it read 0.89-1.13x per pair over 16 pairs:
 * a process's throughput varied by ~±10 % from the next one's while the client, its GC threads and the
 * server shared both cores as the scheduler liked; with the client on one core and the server on the
 * other (pinning.ts), 0.95-1.07x over 12 pairs.
 */
import type { LoopbackPairRow } from './overhead.ts';
import { medianInterval } from './stats.ts';

/** What one sustained run does: a client, warmed up, then timed over `calls` calls in one go. */
export interface SustainedJob {
  readonly client: string;
  readonly url: string;
  /** Untimed calls first. */
  readonly warmup: number;
  /** Timed calls, `concurrency` in flight, with no pause between them. */
  readonly calls: number;
  readonly concurrency: number;
}

/** How the sustained pairs are run. */
export interface SustainedMode {
  /** Raw fetch: the base every ratio is over, and the control's lane. */
  readonly base: string;
  /** The client measured against it. */
  readonly client: string;
  /** Pairs per lane (odd: the median is one of them). */
  readonly pairs: number;
  readonly url: string;
  readonly warmup: number;
  readonly calls: number;
  readonly concurrency: number;
}

/** Runs one job in a process of its own and answers its calls per second. */
export type SustainedRunner = (job: SustainedJob) => Promise<number>;

/**
 * The control (the base in two processes) and the client, each timed against the base in `pairs`
 * pairs of processes, the base first in every other pair: per pair the client's calls per second over
 * the base's, and the interval of their median. Rows: the control first, then the client.
 */
export async function sustainedPairs(mode: SustainedMode, run: SustainedRunner): Promise<LoopbackPairRow[]> {
  const job = (client: string): SustainedJob => ({
    client,
    url: mode.url,
    warmup: mode.warmup,
    calls: mode.calls,
    concurrency: mode.concurrency,
  });
  const lanes = [mode.base, mode.client];
  const ratios: number[][] = lanes.map(() => []);
  for (let pair = 0; pair < mode.pairs; pair++) {
    const baseFirst = pair % 2 === 0;
    for (const [i, lane] of lanes.entries()) {
      const [first, second] = baseFirst ? [mode.base, lane] : [lane, mode.base];
      const a = await run(job(first));
      const b = await run(job(second));
      ratios[i]?.push(baseFirst ? b / a : a / b);
    }
  }
  return lanes.map((client, i) => ({ client, vsFetch: medianInterval(ratios[i] ?? []) }));
}
