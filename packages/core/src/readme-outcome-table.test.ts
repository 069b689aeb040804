import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { classify, DEFAULT_POLICY } from '@breakwater/policies';
import { describe, expect, it } from 'vitest';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

interface Row {
  readonly outcome: string;
  readonly action: string;
  readonly breaker: string;
  /** The statuses the row names itself, or the hundreds it covers (`4xx`: 4). */
  readonly statuses: readonly number[];
  readonly classes: readonly number[];
}

/** README's outcome table, the rows about statuses. */
function statusRows(): Row[] {
  const readme = readFileSync(README, 'utf8');
  const table = /### The outcome table\n\n((?:\|.*\n)+)/.exec(readme)?.[1] ?? '';
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .map(([, outcome = '', action = '', breaker = '']) => {
      const head = outcome.split('(')[0] ?? '';
      const statuses = [...head.matchAll(/\b([1-5]\d\d)\b/g)].map((m) => Number(m[1]));
      const range = /([1-5])xx(?:–([1-5])xx)?/.exec(head);
      const classes: number[] = [];
      if (range) for (let c = Number(range[1]); c <= Number(range[2] ?? range[1]); c++) classes.push(c);
      return { outcome, action, breaker, statuses, classes };
    })
    .filter((row) => row.statuses.length > 0 || row.classes.length > 0);
}

/** The row a status reads: the one naming it, else the one covering its hundred. */
function rowOf(rows: readonly Row[], status: number): Row | undefined {
  return (
    rows.find((row) => row.statuses.includes(status)) ??
    rows.find((row) => row.classes.includes(Math.floor(status / 100)))
  );
}

/**
 * README's outcome table is what users read to know which statuses are retried and which count
 * against the breaker: every status from 100 to 599 must find a row there, and the row must say what
 * `classify` does with it for a GET under the default policy. A 505 or 507 found none (the table
 * jumped from 504 to network errors), though classify ignores them for the breaker, unlike the 500 the
 * reader would have guessed from.
 */
describe("README's outcome table says what classify does", () => {
  const rows = statusRows();

  it('has the rows it is read by', () => {
    expect(rows.length).toBeGreaterThanOrEqual(7);
  });

  it('every status 100-599 finds its row, with classify’s action and breaker count', () => {
    const wrong: string[] = [];
    for (let status = 100; status <= 599; status++) {
      const row = rowOf(rows, status);
      if (!row) {
        wrong.push(`${status}: no row`);
        continue;
      }
      const verdict = classify(
        { kind: 'response', status, headers: new Headers() },
        { method: 'GET', headers: new Headers() },
        DEFAULT_POLICY,
        { now: Date.now() },
      );
      const action = row.action.startsWith('retry') ? 'retry' : 'return';
      if (action !== verdict.action || row.breaker !== verdict.breaker) {
        wrong.push(
          `${status}: README ${action}/${row.breaker}, classify ${verdict.action}/${verdict.breaker}`,
        );
      }
    }
    expect(wrong).toEqual([]);
  });
});
