import { describe, expect, it } from 'vitest';
import { CLIENTS } from './clients.ts';
import { runOverhead } from './overhead.ts';
import { laneOverBase, roundOrder } from './overhead-worker.ts';
import { sustainedCores } from './pinning.ts';

describe('overhead sampling', () => {
  it('rotates the clients by batch and reverses their order every round', () => {
    expect(roundOrder(['a', 'b', 'c'], 0, 0)).toEqual(['a', 'b', 'c']);
    expect(roundOrder(['a', 'b', 'c'], 0, 1)).toEqual(['c', 'b', 'a']);
    expect(roundOrder(['a', 'b', 'c'], 1, 0)).toEqual(['a', 'c', 'b']);
    expect(roundOrder(['a', 'b', 'c'], 1, 1)).toEqual(['b', 'c', 'a']);
  });

  it('refuses an even count of batches or of pair rounds, naming the option', async () => {
    await expect(runOverhead([], { batches: 4 })).rejects.toThrow('batches must be an odd count');
    for (const name of ['pairRounds', 'loopbackPairRounds', 'memoryPairRounds', 'sustainedPairs'] as const) {
      await expect(runOverhead([], { [name]: 40 })).rejects.toThrow(`${name} must be an odd count`);
    }
  });

  it('pairs each telemetry lane with telemetry off, whichever of the two ran first in a round', () => {
    // A lane twice as dear reads 2, whether telemetry off was timed first or second.
    expect(laneOverBase(true, 10, 20)).toBe(2);
    expect(laneOverBase(false, 20, 10)).toBe(2);
  });

  it('runs each batch in a child process against a loopback server of its own, with paired ratios', async () => {
    const chosen = CLIENTS.filter((c) => ['fetch', 'breakwater', 'oracle'].includes(c.name));
    const batches: number[] = [];
    const result = await runOverhead(chosen, {
      batches: 3,
      memoryCalls: 20,
      loopbackCalls: 32,
      concurrency: 8,
      memoryRounds: 2,
      loopbackRounds: 2,
      warmup: 4,
      pairRounds: 3,
      pairCalls: 5,
      loopbackPairRounds: 3,
      loopbackPairCalls: 8,
      loopbackPairWarmup: 16,
      memoryPairRounds: 3,
      memoryPairCalls: 5,
      sustainedPairs: 1,
      sustainedCalls: 16,
      sustainedWarmup: 8,
      onBatch: (done) => batches.push(done),
    });
    expect(batches).toEqual([1, 2, 3]);
    expect(result.method).toMatchObject({
      batches: 3,
      ranks: [1, 3],
      coverage: 0.6,
      pairRounds: 3,
      pairCalls: 5,
      loopbackPairRounds: 3,
      loopbackPairCalls: 8,
    });
    // The oracle is no library: no overhead figure.
    expect(result.memory.map((r) => r.client)).toEqual(['fetch', 'breakwater']);
    expect(result.loopback.map((r) => r.client)).toEqual(['fetch', 'breakwater']);
    for (const row of [...result.memory, ...result.loopback]) {
      expect(row.value.low).toBeGreaterThan(0);
      expect(row.value.low).toBeLessThanOrEqual(row.value.median);
      expect(row.value.median).toBeLessThanOrEqual(row.value.high);
    }
    expect(result.memory[0]?.vsFetch).toEqual({ median: 1, low: 1, high: 1 });
    expect(result.memory[1]?.vsBreakwater).toEqual({ median: 1, low: 1, high: 1 });
    expect(result.telemetry.map((t) => t.client)).toEqual([
      'breakwater telemetry: off, a second instance (control)',
      'breakwater telemetry: no SDK',
      'breakwater telemetry: in-memory SDK',
      'breakwater telemetry: in-memory SDK, batch processor',
      'in-memory SDK alone, no breakwater',
      'breakwater telemetry: off, the same SDK work by hand',
      'breakwater telemetry: off, the same SDK work by hand, batch processor',
    ]);
    for (const t of result.telemetry) expect(t.vsOff.median).toBeGreaterThan(0);
    expect(result.loopbackPairs?.map((r) => r.client)).toEqual(['fetch', 'breakwater']);
    for (const r of result.loopbackPairs ?? []) expect(r.vsFetch.median).toBeGreaterThan(0);
    // Each sustained run is a process of its own, against the same loopback server.
    expect(result.loopbackSustained?.map((r) => r.client)).toEqual(['fetch', 'breakwater']);
    for (const r of result.loopbackSustained ?? []) expect(r.vsFetch.median).toBeGreaterThan(0);
    // Pinned where taskset can pin them (this machine's cores), else not: the method says which.
    const cores = sustainedCores();
    expect(result.method.sustainedCores).toEqual(cores && [cores.client, cores.server]);
    expect(result.method).toMatchObject({
      loopbackPairRounds: 3,
      loopbackPairCalls: 8,
      loopbackPairWarmup: 16,
      memoryPairRounds: 3,
      memoryPairCalls: 5,
      sustainedPairs: 1,
      sustainedCalls: 16,
      sustainedWarmup: 8,
    });
    // Raw fetch is the only base here (cockatiel retry+breaker was not chosen): its control, then breakwater.
    expect(result.memoryPairs?.map((r) => [r.base, r.client])).toEqual([
      ['fetch', 'fetch'],
      ['fetch', 'breakwater'],
    ]);
    for (const r of result.memoryPairs ?? []) {
      expect(r.vsBase.median).toBeGreaterThan(0);
      expect(r.aboveBase.low).toBeLessThanOrEqual(r.aboveBase.high);
    }
    // breakwater against a second instance of itself (the control), then each lane less one default.
    expect(result.features?.map((r) => [r.base, r.client])).toEqual([
      ['breakwater', 'breakwater'],
      ['breakwater', 'breakwater, RateLimit headers not read'],
      ['breakwater', 'breakwater, no throttle gate (nor RateLimit reads)'],
      ['breakwater', 'breakwater, no circuit breaker'],
      ['breakwater', 'breakwater, no retry budget'],
      ['breakwater', 'breakwater, no onEvent listener'],
    ]);
    for (const r of result.features ?? []) {
      expect(r.vsBase.median).toBeGreaterThan(0);
      expect(r.aboveBase.low).toBeLessThanOrEqual(r.aboveBase.high);
    }
  }, 60_000);
});
