/**
 * The fleet's word on consecutive failures (docs/architecture.md, "Shared store"): the instances in a
 * run of failures together count `threshold` consecutive failures, each counting for at most this
 * instance's own run, and they are at least two and a strict majority of the `instances` active on
 * the key. An outage seen by all opens after about `threshold` failures fleet-wide, not per
 * instance; one instance whose own network is broken is one run, never a majority, and its long run
 * weighs no more than the failures the healthy instance saw itself (Polly's objection, #215).
 */
export function fleetRunOpens(
  own: number,
  others: readonly number[],
  instances: number,
  threshold: number,
): boolean {
  if (own < 1) return false;
  let sum = own;
  for (const run of others) sum += Math.min(run, own);
  const inRun = others.length + 1;
  return inRun >= 2 && inRun * 2 > Math.max(instances, inRun) && sum >= threshold;
}
