/** Metrics fixtures shared by the report's tests. */
import { OUTCOMES, type Outcome } from './load.ts';
import type { Metrics } from './metrics.ts';
import type { LaneResult } from './run-scenario.ts';

export const outcomes = (over: Partial<Record<Outcome, number>> = {}): Record<Outcome, number> =>
  ({ ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])), ...over }) as Record<Outcome, number>;

/** Fixed metrics: a client that got everything through quickly, one request per call. */
export const metrics = (over: Partial<Metrics>): Metrics => ({
  logical: 1_000,
  unfinished: 0,
  successRate: 1,
  upstream: 1_000,
  amplification: 1,
  whileDown: 0,
  early: 0,
  earlyAfterSeen: 0,
  throttled: 0,
  coolDowns: 0,
  limiter: null,
  latency: { p50: 3, p95: 10, p99: 20 },
  failFastMs: null,
  recoveryMs: null,
  whileOpen: null,
  probes: null,
  breakerOpened: false,
  outcomes: outcomes(),
  routes: {},
  tenants: {},
  downPhase: null,
  ...over,
});

export const lane = (client: string, over: Partial<Metrics>): LaneResult => ({
  client,
  description: client,
  metrics: metrics(over),
});
