/**
 * The upstream every example talks to: the bench's fault-injecting server, which answers like Partner
 * Center (its error payloads and headers) and follows a seeded script, so every run sees the same
 * faults. It listens on 127.0.0.1 only.
 */
import { FaultServer, type ServerRoute } from '../bench/src/fault-server.ts';
import { mulberry32 } from '../bench/src/prng.ts';

export async function startUpstream(routes: readonly ServerRoute[]): Promise<FaultServer> {
  const server = await FaultServer.start({ routes, seed: 42 });
  server.begin(performance.now());
  return server;
}

/** A seeded random source for backoff jitter, so the examples print the same thing on every run. */
export const seededRandom = mulberry32;
