/**
 * The overhead section's Redis lane: measured in the same batches as the in-memory store, on a real
 * redis-server, and its target judged from the paired ratio; without redis-server, said, not faked.
 */
import { describe, expect, it } from 'vitest';
import { CLIENTS } from '../clients.ts';
import { overheadResult } from '../overhead.test-util.ts';
import { runOverhead } from '../overhead.ts';
import { markdownReport } from '../report.ts';
import { checkTargets, REDIS_OVERHEAD_TARGET } from '../targets.ts';
import { startRedis } from './redis.ts';

const TARGET = REDIS_OVERHEAD_TARGET;
const meta = { date: 'd', node: 'n', cpus: 'c', totalMs: 1, clients: [] };

describe('the Redis store lane of the overhead section', () => {
  it('is timed beside the in-memory store, paired per batch, and judged against 1.2x', async () => {
    const redis = await startRedis();
    try {
      const chosen = CLIENTS.filter((c) => ['fetch', 'breakwater'].includes(c.name));
      const result = await runOverhead(chosen, {
        batches: 3,
        memoryCalls: 20,
        loopbackCalls: 16,
        concurrency: 4,
        memoryRounds: 2,
        loopbackRounds: 1,
        warmup: 4,
        pairRounds: 1,
        pairCalls: 2,
        loopbackPairRounds: 1,
        loopbackPairCalls: 4,
        loopbackPairWarmup: 8,
        // Not what this test is about: 0 leaves the sustained loopback runs out.
        sustainedPairs: 0,
        redis: { url: redis.url },
      });
      expect(result.loopbackSustained).toBeUndefined();
      const row = result.redis;
      if (!row || !('vsInMemory' in row)) throw new Error(`no Redis row: ${JSON.stringify(row)}`);
      expect(row.client).toBe('breakwater-redis');
      expect(row.value.median).toBeGreaterThan(0);
      expect(row.vsInMemory.low).toBeLessThanOrEqual(row.vsInMemory.median);
      const target = checkTargets([], result).find((t) => t.target === TARGET);
      expect(target?.verdict).toBeDefined();
      expect(target?.measured).toMatch(/^\d+\.\d\dx \[/);
      expect(markdownReport([], result, [], meta)).toContain('| breakwater-redis |');
    } finally {
      await redis.stop();
    }
  }, 60_000);

  it('without redis-server: the row and the target say why, with no figure', () => {
    const e = { median: 1, low: 1, high: 1 };
    const overhead = overheadResult({
      memory: [{ client: 'fetch', value: e, vsFetch: e, vsBreakwater: null }],
      redis: { unavailable: 'redis-server not found' },
    });
    expect(checkTargets([], overhead).find((t) => t.target === TARGET)).toEqual({
      target: TARGET,
      met: null,
      measured: 'not run: redis-server not found',
    });
    expect(markdownReport([], overhead, [], meta)).toContain(
      '| breakwater-redis | not run: redis-server not found |',
    );
  });
});
