/**
 * The overhead section's Redis lane: breakwater configured as the in-memory `breakwater telemetry: off`
 * lane (one endpoint rule per route, no onEvent), with `redisStore` on the bench's redis-server, so the
 * two are paired per batch: the healthy path's cost of sharing state through Redis.
 */
import { redisStore } from '@breakwater/redis';
import { createClient } from 'redis';
import { breakwaterOff, NO_BREAKERS } from '../breakwater-off.ts';
import type { ClientSpec } from '../client.ts';

/** The lane's name in the overhead tables. */
export const REDIS_LANE = 'breakwater-redis';

/** The lane on the Redis at `url`, its keys under `prefix` (one per batch, so batches share nothing). */
export function redisLane(url: string, prefix: string): ClientSpec {
  return {
    name: REDIS_LANE,
    description: `${REDIS_LANE}: one endpoint rule per route, no onEvent, redisStore on a local redis-server`,
    async create(context) {
      const client = createClient({ url });
      client.on('error', () => {});
      await client.connect();
      const store = redisStore({ client, prefix });
      const f = breakwaterOff(context, undefined, { store });
      return {
        call: (url, signal) => f(url, { signal }),
        ...NO_BREAKERS,
        close() {
          store.close();
          client.destroy();
        },
      };
    },
  };
}
