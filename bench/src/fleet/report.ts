/**
 * The fleet part in the report ("Fleet (issue 14)", a table per run) and on the console (one line per
 * run). Figures only: the targets table says what was met.
 */
import { fmt as format, percent } from '../format.ts';
import { markdownTable } from '../report.ts';
import { PULSE_GRACE_MS } from './figures.ts';
import type { FleetResult } from './run-fleet.ts';

/** Figures absent from a run print as a dash in the fleet's tables. */
const fmt = (n: number | null, digits = 1): string => format(n, digits, '–');
const pct = (share: number): string => percent(share, '–');
const seconds = (ms: number | null): string => (ms === null ? 'never' : `${fmt(ms / 1000, 2)} s`);

const STORE_DOWNS =
  "*store-down* = the instances' `store-down` events during the run: Redis answered a command later " +
  'than the store timeout (50 ms) and the instance went on alone until the next `store-up`.';

function outageTable(fleet: FleetResult): string[] {
  const o = fleet.outage;
  if (!o) return [];
  const row = (name: string, f: typeof o.shared): string[] => [
    name,
    f.openedAt.map((t) => seconds(t)).join(', '),
    String(f.downRequests),
    String(f.failuresBeforeOpen),
    `${fleet.threshold} + ${f.inFlightAtOpen}`,
    f.maxPerInterval === null ? '–' : String(f.maxPerInterval),
    fmt(f.meanPerInterval, 2),
    String(f.storeDowns),
  ];
  return [
    `### Outage: ${o.description}`,
    '',
    '*Failures before opening* = requests reaching the down upstream from an instance whose breaker had not ' +
      'opened yet, fleet-wide; *bound* = the breaker threshold (consecutive failures) + the calls in flight at ' +
      'each instance when its breaker opened; *per interval* = requests reaching the down upstream after every ' +
      'breaker had opened, the most in any half-open interval (sliding) and the mean. ' +
      STORE_DOWNS,
    '',
    markdownTable(
      [
        'fleet',
        'breakers opened at',
        'requests while down',
        'failures before opening',
        'bound',
        'max per interval',
        'mean per interval',
        'store-down',
      ],
      [row('independent', o.independent), row('shared (Redis)', o.shared)],
    ),
    '',
  ];
}

function throttleTable(fleet: FleetResult): string[] {
  const t = fleet.throttle;
  if (!t) return [];
  const row = (name: string, f: typeof t.shared): string[] => [
    name,
    String(f.requests),
    String(f.throttled),
    String(f.coolDowns),
    String(f.inWindow),
    fmt(f.perCoolDown, 2),
    `${f.ok}/${f.calls}`,
    String(f.storeDowns),
  ];
  return [
    `### Throttle: ${t.description}`,
    '',
    '*In window* = requests that arrived inside a Retry-After window the bucket had announced (to any instance), ' +
      `in-flight included; *cool-downs* = windows announced while none was running. ${STORE_DOWNS}`,
    '',
    markdownTable(
      ['fleet', 'requests', '429s', 'cool-downs', 'in window', 'per cool-down', 'success', 'store-down'],
      [row('independent', t.independent), row('shared (Redis)', t.shared)],
    ),
    '',
  ];
}

function brokenTable(fleet: FleetResult): string[] {
  const b = fleet.broken;
  if (!b) return [];
  return [
    `### One broken instance: ${b.description}`,
    '',
    markdownTable(
      ['instance', 'network', 'calls', 'success', 'breaker openings', 'store-down'],
      b.instances.map((i) => [
        String(i.id),
        i.broken ? 'broken' : 'healthy',
        String(i.calls),
        pct(i.successRate),
        String(i.breaks),
        String(i.storeDowns),
      ]),
    ),
    '',
  ];
}

function redisTable(fleet: FleetResult): string[] {
  const k = fleet.redisKill;
  if (!k) return [];
  const r = k.figures;
  const pulses = r.pulses
    .map(
      (p) =>
        `${seconds(p.at)}: ${p.others} of ${p.waiting}${p.at >= r.killAt && p.at < r.restartAt ? ' (Redis down)' : ''}`,
    )
    .join(', ');
  return [
    `### Redis killed: ${k.description}`,
    '',
    markdownTable(
      ['figure', 'value'],
      [
        ['calls on the load endpoint', String(r.calls)],
        ['failed (the upstream is healthy: because of Redis)', String(r.failed)],
        ['p99 of calls started in as long a stretch before the kill', `${fmt(r.p99Before)} ms`],
        ['p99 of calls started while Redis was down', `${fmt(r.p99Down)} ms`],
        ['p99 added while down', `${fmt(r.addedP99)} ms`],
        ['instances that emitted store-down', `${r.sawDown} of ${fleet.instances}`],
        ["restart to the last instance's store-up", seconds(r.storeUpMs)],
        ['restart to the first 429 closure respected by the others', seconds(r.closureSharedMs)],
        ['restart to shared behaviour (the later of the two)', seconds(r.resumedMs)],
      ],
    ),
    '',
    `Pulses (when the 429 was given: requests of the other instances inside its Retry-After window, from ${PULSE_GRACE_MS} ms after it, ` +
      `of their calls in progress in it; it counts as shared when they had calls to send and sent none): ${pulses}.`,
    '',
  ];
}

/** The report's fleet section. */
export function fleetSection(fleet: FleetResult): string[] {
  const head = [
    '## Fleet (issue 14)',
    '',
    `${fleet.instances} breakwater instances, each a child process of its own, against one fault server, the ` +
      'load split across them; *independent* = each with the in-memory store, *shared* = `redisStore` on a ' +
      `redis-server the bench started on 127.0.0.1. Half-open interval ${fleet.halfOpenMs} ms; figures counted ` +
      `by the server (the Redis run also by the instances' calls). Whole part ${fmt(fleet.wallMs / 1000)} s.`,
    '',
  ];
  if (fleet.unavailable !== undefined) return [...head, `Not run: ${fleet.unavailable}.`, ''];
  return [
    ...head,
    ...outageTable(fleet),
    ...throttleTable(fleet),
    ...brokenTable(fleet),
    ...redisTable(fleet),
  ];
}

/** One line per run for the console summary (short: the targets carry the verdicts). */
export function fleetConsoleLines(fleet: FleetResult): string[] {
  if (fleet.unavailable !== undefined) return ['', `fleet not run: ${fleet.unavailable}`];
  const lines = ['', `fleet (issue 14), ${fleet.instances} instances, ${fmt(fleet.wallMs / 1000)} s:`];
  const o = fleet.outage;
  if (o) {
    lines.push(
      `  outage: most per half-open interval while down: independent ${o.independent.maxPerInterval ?? '–'}, shared ${o.shared.maxPerInterval ?? '–'}`,
    );
  }
  const t = fleet.throttle;
  if (t) {
    lines.push(
      `  throttle: in window per cool-down: independent ${fmt(t.independent.perCoolDown, 2)}, shared ${fmt(t.shared.perCoolDown, 2)}`,
    );
  }
  const b = fleet.broken;
  if (b) {
    const healthy = b.instances.filter((i) => !i.broken);
    lines.push(
      `  broken instance: healthy breakers opened ${healthy.reduce((n, i) => n + i.breaks, 0)} time(s), lowest success ${pct(Math.min(...healthy.map((i) => i.successRate)))}`,
    );
  }
  const r = fleet.redisKill?.figures;
  if (r) {
    lines.push(
      `  Redis killed: ${r.failed} failed, p99 +${fmt(r.addedP99)} ms while down, shared again after ${seconds(r.resumedMs)}`,
    );
  }
  return lines;
}
