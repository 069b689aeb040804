import { expect, it } from 'vitest';
import { RedisConnection } from './connection.ts';
import { connectClient } from './redis-server.test-util.ts';
import { useRedis } from './use-redis.test-util.ts';

const redis = useRedis();

/** Keeps this process's event loop busy for `ms`, as a start-up's module loading or a CPU burst does. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

async function connection() {
  const client = await connectClient(redis);
  const seen: boolean[] = [];
  const connection = new RedisConnection(client, 50, (up) => seen.push(up));
  return { connection, seen, close: () => client.destroy() };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

it('a reply that came in time is not lost to a timeout that fired late because this process was busy', async () => {
  const { connection: c, seen, close } = await connection();
  try {
    const reply = c.command<string>(['PING']);
    // node-redis writes in the next turn; Redis answers within a ms, and this process reads that
    // answer only after the timeout is due, in the same turn of the loop.
    await turn();
    await turn();
    busy(200);
    expect(await reply).toBe('PONG');
    expect(seen).toEqual([]);
    expect(c.up).toBe(true);
  } finally {
    close();
  }
});

it('a reply read in the turn its timeout fires, the process busy for one to one and a half timeouts, is not lost', async () => {
  const { connection: c, seen, close } = await connection();
  try {
    // Too little late to be given the timeout again; Redis answered within a ms all the same (a GC
    // pause or a long parse here). Timers run before the loop reads its sockets.
    for (const ms of [55, 60, 65, 70, 74, 55, 60, 65, 70, 74]) {
      const reply = c.command<string>(['PING']);
      await turn();
      await turn();
      busy(ms);
      expect(await reply).toBe('PONG');
    }
    expect(seen).toEqual([]);
  } finally {
    close();
  }
});

it('a process busy before its command was even sent gives Redis the timeout again, of its own time', async () => {
  const { connection: c, seen, close } = await connection();
  try {
    const reply = c.command<string>(['PING']);
    busy(200);
    expect(await reply).toBe('PONG');
    expect(seen).toEqual([]);
  } finally {
    close();
  }
});

it('a Redis that does not answer within the timeout still marks the store down', async () => {
  const { connection: c, seen, close } = await connection();
  try {
    // A script that spins for 0.3 s holds Redis itself: the reply is late, whatever this process does.
    const spin = `local s = redis.call('TIME')
      repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000000 + (n[2] - s[2]) > 300000
      return 1`;
    const started = Date.now();
    expect(await c.command(['EVAL', spin, '0'])).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(250);
    expect(seen).toEqual([false]);
  } finally {
    close();
  }
});
