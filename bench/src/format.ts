/**
 * The report's, the console's and the targets' number formats, in one place so that a figure reads
 * the same wherever it is printed.
 */
import type { Estimate } from './stats.ts';

/** `n` with `digits` decimals; `none` for a figure there is not (null, NaN, infinite). */
export const fmt = (n: number | null, digits = 2, none = 'n/a'): string =>
  n === null || !Number.isFinite(n) ? none : n.toFixed(digits);

/** A share (0-1) as a percentage with one decimal, e.g. `99.5 %`. */
export const percent = (share: number, none = 'n/a'): string => `${fmt(share * 100, 1, none)} %`;

/** A figure with its interval, e.g. `9.40 [8.90, 10.10]`, or `1.21x [1.02x, 1.35x]` with unit `x`. */
export function withInterval(e: Estimate, digits = 2, unit = ''): string {
  const f = (n: number): string => `${fmt(n, digits)}${unit}`;
  return `${f(e.median)} [${f(e.low)}, ${f(e.high)}]`;
}
