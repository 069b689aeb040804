/**
 * Progress on stderr from the first second: the scenario, the time elapsed and the time expected to
 * remain (from the scenario table's durations). On a terminal one line is rewritten every second;
 * elsewhere (CI logs, a pipe) a line at each scenario's start and end and at most one every
 * `LOG_EVERY_MS` in between, so a log is not flooded.
 */
import type { Progress } from './run-scenario.ts';

/**
 * Wall time a scenario takes beyond its script (starting the servers and clients): the next scenario
 * starts as the script ends, while the late calls settle (main.ts), so only the last one's drain adds
 * to the run, a few seconds.
 */
export const SCENARIO_EXTRA_MS = 500;
/**
 * Wall time of the overhead benchmark, for the estimate only: 11 child-process batches of 1000
 * warm-up, 600 in-memory and 240 loopback calls per client (~4 s each on a quiet 2-core machine).
 */
export const OVERHEAD_ESTIMATE_MS = 45_000;
/** Off a terminal, at most one progress line this often within a scenario. */
export const LOG_EVERY_MS = 10_000;
/** The widest line written off a terminal (the console's width budget). */
export const MAX_WIDTH = 100;

/** The part of a stream progress writes to (process.stderr, or a test's). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** What the run will do, scaled: the estimate of what remains is made from it. */
export interface ProgressPlan {
  readonly scenarios: readonly PlannedScenario[];
  readonly overhead: boolean;
}

/** A scenario as progress shows it: its scripted duration and the wall time it is expected to take. */
export interface PlannedScenario {
  readonly name: string;
  readonly durationMs: number;
  readonly expectedMs: number;
}

/** A scenario of the table at `scale`, with the wall time it is expected to take. */
export function planned(scenario: { name: string; durationMs: number }, scale: number): PlannedScenario {
  const durationMs = scenario.durationMs * scale;
  return { name: scenario.name, durationMs, expectedMs: durationMs + SCENARIO_EXTRA_MS };
}

const s = (ms: number): string => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/** `text` cut to `width` columns, an ellipsis marking the cut. */
export function fit(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

export class ProgressReporter {
  readonly #plan: ProgressPlan;
  readonly #stream: ProgressStream;
  readonly #now: () => number;
  readonly #tty: boolean;
  readonly #began: number;
  #index = -1;
  #phaseStart: number;
  #latest: Progress | null = null;
  #lastLogged = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `now` in ms; default `performance.now`. */
  constructor(plan: ProgressPlan, stream: ProgressStream = process.stderr, now = () => performance.now()) {
    this.#plan = plan;
    this.#stream = stream;
    this.#now = now;
    this.#tty = stream.isTTY === true;
    this.#began = now();
    this.#phaseStart = this.#began;
  }

  /** Says what the run will do and how long it should take, then keeps the line fresh every second. */
  start(): void {
    const n = this.#plan.scenarios.length;
    this.log(
      `bench: ${n} scenario${n === 1 ? '' : 's'}${this.#plan.overhead ? ' and the overhead' : ''}, ~${s(this.remainingMs())} expected`,
    );
    this.#timer = setInterval(() => this.#tick(), 1_000);
    this.#timer.unref();
  }

  /** Scenario `index` (0-based, in the plan's order) starts. */
  scenario(index: number): void {
    this.#index = index;
    this.#phaseStart = this.#now();
    this.#latest = null;
    this.#lastLogged = Number.NEGATIVE_INFINITY;
    this.#tick();
  }

  /** The run's own progress report for the running scenario (lanes' calls started and settled). */
  update(progress: Progress): void {
    this.#latest = progress;
  }

  /** The overhead benchmark starts. */
  overhead(): void {
    this.#index = this.#plan.scenarios.length;
    this.#phaseStart = this.#now();
    this.#latest = null;
    this.#lastLogged = Number.NEGATIVE_INFINITY;
    this.#tick();
  }

  /** Expected wall time left: the rest of the current step and every step after it. */
  remainingMs(): number {
    const { scenarios, overhead } = this.#plan;
    const inPhase = this.#now() - this.#phaseStart;
    let left = overhead ? OVERHEAD_ESTIMATE_MS : 0;
    if (this.#index >= scenarios.length) return Math.max(0, left - inPhase);
    for (const [i, sc] of scenarios.entries()) {
      if (i < this.#index) continue;
      left += i === this.#index ? Math.max(0, sc.expectedMs - inPhase) : sc.expectedMs;
    }
    return left;
  }

  /** The status line: step, scenario, time in it, elapsed, expected remaining, and the lanes' calls. */
  line(): string {
    const { scenarios } = this.#plan;
    const elapsed = this.#now() - this.#began;
    const inPhase = this.#now() - this.#phaseStart;
    const times = `elapsed ${s(elapsed)} · ~${s(this.remainingMs())} left`;
    if (this.#index < 0) return `bench: starting · ${times}`;
    if (this.#index >= scenarios.length) return `overhead benchmark ${s(inPhase)} · ${times}`;
    const sc = scenarios[this.#index];
    const head = `[${this.#index + 1}/${scenarios.length}] ${sc?.name} ${s(inPhase)}/${s(sc?.durationMs ?? 0)}`;
    const lanes = this.#latest?.lanes.map((l) => `${l.client} ${l.settled}/${l.started}`).join(' ');
    return `${head} · ${times}${lanes ? ` · ${lanes}` : ''}`;
  }

  /** Prints a line that stays (the rewritten line, on a terminal, comes back on the next tick). */
  log(text: string): void {
    this.#clearLine();
    this.#stream.write(`${fit(text, MAX_WIDTH)}\n`);
  }

  /** Stops the ticking and clears the line. */
  stop(): void {
    clearInterval(this.#timer);
    this.#clearLine();
  }

  #tick(): void {
    if (this.#tty) {
      const width = Math.min(this.#stream.columns ?? MAX_WIDTH, MAX_WIDTH);
      this.#stream.write(`\r\x1b[2K${fit(this.line(), width - 1)}`);
      return;
    }
    if (this.#now() - this.#lastLogged < LOG_EVERY_MS) return;
    this.#lastLogged = this.#now();
    this.#stream.write(`${fit(this.line(), MAX_WIDTH)}\n`);
  }

  #clearLine(): void {
    if (this.#tty) this.#stream.write('\r\x1b[2K');
  }
}
