/**
 * The bench's redis-server, for the fleet part and the overhead section's Redis lane: the one the Redis
 * store's tests start (127.0.0.1, a free port, a temp dir, no persistence). A machine without
 * redis-server gets a reason, not a crash: the parts that need it report "not run".
 */
import {
  type RedisServer,
  startRedis as startServer,
} from '../../../packages/redis/src/redis-server.test-util.ts';

/** Why the fleet part and the Redis lane did not run on a machine without redis-server. */
export const REDIS_MISSING = 'redis-server not found';

export type BenchRedis = RedisServer;

/** Starts a redis-server; rejects with an Error whose message is REDIS_MISSING when there is none. */
export async function startRedis(): Promise<BenchRedis> {
  try {
    return await startServer();
  } catch (error) {
    if ((error as NodeJS.ErrnoException | null)?.code === 'ENOENT') throw new Error(REDIS_MISSING);
    throw error;
  }
}

/** A redis-server, or why there is none (REDIS_MISSING, or the start's error). */
export async function tryStartRedis(): Promise<BenchRedis | { readonly unavailable: string }> {
  try {
    return await startRedis();
  } catch (error) {
    return { unavailable: error instanceof Error ? error.message : String(error) };
  }
}
