/**
 * The progress line on stderr: rewritten in place on a terminal, one line per scenario otherwise (CI logs).
 */
import type { Progress } from './run-scenario.ts';

export function formatProgress(p: Progress, index: number, count: number): string {
  const pct = Math.min(100, Math.round((p.elapsedMs / p.durationMs) * 100));
  const lanes = p.lanes.map((l) => `${l.client} ${l.settled}/${l.started}`).join(' · ');
  return `[${index}/${count}] ${p.scenario} ${(p.elapsedMs / 1000).toFixed(1)}/${(p.durationMs / 1000).toFixed(0)} s ${pct}% · ${lanes}`;
}

export class ProgressLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #tty: boolean;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#tty = stream.isTTY === true;
  }

  /** Replaces the line (on a terminal; elsewhere progress updates are dropped). */
  update(text: string): void {
    if (!this.#tty) return;
    const width = this.#stream.columns ?? 120;
    this.#stream.write(`\r\x1b[2K${text.length > width - 1 ? `${text.slice(0, width - 2)}…` : text}`);
  }

  /** Prints a line that stays. */
  log(text: string): void {
    if (this.#tty) this.#stream.write('\r\x1b[2K');
    this.#stream.write(`${text}\n`);
  }

  clear(): void {
    if (this.#tty) this.#stream.write('\r\x1b[2K');
  }
}
