/**
 * The fleet part scaled down to its outage run (~10 s instead of ~30 s; the outage at full length, so
 * a loaded machine cannot blur the difference) with real parts: four instance processes, a real
 * redis-server on 127.0.0.1 (as .ci/run installs it), one loopback server. The shared outage must
 * spare the down upstream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REDIS_MISSING } from './redis.ts';
import { runFleet } from './run-fleet.ts';
import { fleetTargets } from './targets.ts';

describe('the fleet part', () => {
  it('sends fewer requests to the down upstream with the shared store than with independent instances', async () => {
    const fleet = await runFleet({ runs: ['outage'] });
    const seen = JSON.stringify(fleet);
    expect(fleet.unavailable, seen).toBeUndefined();
    const { independent, shared } = fleet.outage ?? expect.unreachable('no outage figures');
    expect(independent.openedAt.every((t) => t !== null)).toBe(true);
    expect(shared.openedAt.every((t) => t !== null)).toBe(true);
    expect(shared.downRequests, seen).toBeLessThan(independent.downRequests);
    // Only the outage ran: its targets, none of the other runs'.
    expect(fleetTargets(fleet).map((t) => t.target.split(':')[0])).toEqual(['fleet outage', 'fleet outage']);
  }, 60_000);

  it('without redis-server, says so instead of running or crashing', async () => {
    const saved = process.env.PATH;
    const empty = mkdtempSync(join(tmpdir(), 'breakwater-no-redis-'));
    process.env.PATH = empty;
    try {
      const fleet = await runFleet({ scale: 0.2 });
      expect(fleet.unavailable).toBe(REDIS_MISSING);
      expect(fleet.outage).toBeUndefined();
      const targets = fleetTargets(fleet);
      expect(targets.length).toBe(7);
      expect(targets.every((t) => t.met === null && t.measured === `not run: ${REDIS_MISSING}`)).toBe(true);
    } finally {
      process.env.PATH = saved;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
