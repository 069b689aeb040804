import { describe, expect, it } from 'vitest';
import { type SustainedJob, sustainedPairs } from './sustained.ts';

const mode = {
  base: 'fetch',
  client: 'breakwater',
  pairs: 3,
  url: 'http://127.0.0.1:1/v1/customers',
  warmup: 10,
  calls: 20,
  concurrency: 4,
};

describe('sustainedPairs', () => {
  it('times the control and the client against the base, the base first in every other pair', async () => {
    const order: string[] = [];
    const jobs: SustainedJob[] = [];
    await sustainedPairs(mode, async (job) => {
      order.push(job.client);
      jobs.push(job);
      return 1;
    });
    expect(order).toEqual([
      ...['fetch', 'fetch', 'fetch', 'breakwater'],
      ...['fetch', 'fetch', 'breakwater', 'fetch'],
      ...['fetch', 'fetch', 'fetch', 'breakwater'],
    ]);
    for (const job of jobs) {
      expect(job).toEqual({ client: job.client, url: mode.url, warmup: 10, calls: 20, concurrency: 4 });
    }
  });

  it("gives each row the client's calls per second over the base's of the same pair, whichever ran first", async () => {
    // breakwater runs at 110 calls/s, the base alternately at 100 and 50 (by pair): the ratio is per pair.
    let runs = 0;
    const rows = await sustainedPairs(mode, async (job) => {
      const pair = Math.floor(runs++ / 4);
      return job.client === 'breakwater' ? 110 : pair === 1 ? 50 : 100;
    });
    expect(rows.map((r) => r.client)).toEqual(['fetch', 'breakwater']);
    expect(rows[0]?.vsFetch).toEqual({ median: 1, low: 1, high: 1 });
    expect(rows[1]?.vsFetch.median).toBeCloseTo(1.1);
    expect(rows[1]?.vsFetch.high).toBeCloseTo(2.2);
  });
});
