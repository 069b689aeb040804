import type { TargetCheck } from './targets.ts';

/** A target's check: `miss` (by how much) is kept only when the target was missed. */
export function check(target: string, met: boolean | null, measured: string, miss: string): TargetCheck {
  return met === false ? { target, met, measured, miss } : { target, met, measured };
}
