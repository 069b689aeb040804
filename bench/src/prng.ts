/**
 * Seeded randomness, so that two runs of a scenario draw the same faults in the same order: a
 * comparison between runs (or between clients in one run) is then a comparison of clients, not of luck.
 */

/** A function returning uniformly distributed numbers in [0, 1). */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough for fault draws. Not for anything secret. */
export function mulberry32(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives a 32-bit seed from a scenario seed and names (FNV-1a), so each route gets its own stream. */
export function deriveSeed(seed: number, ...names: readonly string[]): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const name of names) {
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    h ^= 0xff;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}
