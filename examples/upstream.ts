/**
 * The upstream every example talks to: the bench's fault-injecting server, which answers like Partner
 * Center (its error payloads and headers) and follows a seeded script, so every run sees the same
 * faults. It listens on 127.0.0.1 only.
 */
import { FaultServer, type ServerRoute } from '../bench/src/fault-server.ts';

export async function startUpstream(routes: readonly ServerRoute[]): Promise<FaultServer> {
  const server = await FaultServer.start({ routes, seed: 42 });
  server.begin(performance.now());
  return server;
}

/** A seeded random source for backoff jitter, so the examples print the same thing on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
