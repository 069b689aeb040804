/**
 * Two overhead runs against each other: every median of the second run must lie within the interval
 * the first run stated for it (issue 16: stable figures). `node src/overhead-compare.ts a.json b.json`
 * (two runs' latest.json, e.g. of `pnpm bench --overhead-only` twice in a row) prints each figure and
 * exits 1 when one falls outside.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { OverheadResult } from './overhead.ts';
import type { Estimate } from './stats.ts';

/** One figure of both runs: the first run's interval and the second run's median. */
export interface Comparison {
  readonly figure: string;
  readonly first: Estimate;
  readonly second: number;
  readonly within: boolean;
}

/**
 * Every figure both runs have (values, ratios to fetch and to breakwater, the loopback pairs, the
 * sustained loopback runs, telemetry, the Redis store lane), in report order.
 */
export function compareOverhead(first: OverheadResult, second: OverheadResult): Comparison[] {
  const out: Comparison[] = [];
  const add = (figure: string, a: Estimate | null | undefined, b: Estimate | null | undefined): void => {
    if (!a || !b) return;
    out.push({ figure, first: a, second: b.median, within: b.median >= a.low && b.median <= a.high });
  };
  for (const mode of ['memory', 'loopback'] as const) {
    for (const row of first[mode]) {
      const other = second[mode].find((r) => r.client === row.client);
      add(`${mode} ${row.client}`, row.value, other?.value);
      add(`${mode} ${row.client} vs fetch`, row.vsFetch, other?.vsFetch);
      add(`${mode} ${row.client} vs breakwater`, row.vsBreakwater, other?.vsBreakwater);
      add(`${mode} ${row.client} µs above fetch`, row.aboveFetch, other?.aboveFetch);
    }
  }
  for (const row of first.loopbackPairs ?? []) {
    const other = second.loopbackPairs?.find((r) => r.client === row.client);
    add(`loopback pairs ${row.client} vs fetch`, row.vsFetch, other?.vsFetch);
  }
  for (const row of first.loopbackSustained ?? []) {
    const other = second.loopbackSustained?.find((r) => r.client === row.client);
    add(`loopback sustained ${row.client} vs fetch`, row.vsFetch, other?.vsFetch);
  }
  for (const row of first.telemetry) {
    add(`${row.client} vs off`, row.vsOff, second.telemetry.find((r) => r.client === row.client)?.vsOff);
  }
  const [a, b] = [first.redis, second.redis];
  if (a && b && 'value' in a && 'value' in b) {
    add(a.client, a.value, b.value);
    add(`${a.client} vs the in-memory store`, a.vsInMemory, b.vsInMemory);
  }
  return out;
}

function main(paths: readonly string[]): void {
  const [a, b] = paths.map(
    (p) => (JSON.parse(readFileSync(p, 'utf8')) as { overhead: OverheadResult }).overhead,
  );
  if (!a || !b) throw new Error('overhead-compare: two latest.json files with an overhead section, please');
  const rows = compareOverhead(a, b);
  const f = (n: number): string => n.toPrecision(4);
  for (const r of rows) {
    process.stdout.write(
      `${r.within ? '   ok' : ' OUT '}  ${r.figure}: ${f(r.second)} in [${f(r.first.low)}, ${f(r.first.high)}] (median ${f(r.first.median)})\n`,
    );
  }
  const out = rows.filter((r) => !r.within).length;
  process.stdout.write(`${rows.length - out} of ${rows.length} medians of run 2 within run 1's intervals\n`);
  process.exitCode = out > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
