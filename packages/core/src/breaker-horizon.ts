import type { EndpointBreakers } from './call-breakers.ts';

/**
 * Epoch ms until which the breaker of `key` refuses every call: while it is open, its next probe's
 * time; `undefined` otherwise (closed, half-open, isolated by hand, or not made yet). For the adapters'
 * retry loops, asked only when a retry is due, since it reads the breakers' snapshots.
 */
export function refusedUntil(breakers: EndpointBreakers, key: string): number | undefined {
  const snapshot = breakers.breakers().find((s) => s.key === key);
  return snapshot?.state === 'open' && snapshot.nextProbeAt !== null ? snapshot.nextProbeAt : undefined;
}
