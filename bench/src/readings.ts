/**
 * The two or three sentences under each chart: what happened to breakwater (defaults) beside its peers
 * and, where the figures show it, why. Written by rules from the metrics of the run, never by hand, so
 * the words follow the figures when a run changes them.
 */
import type { Metrics } from './metrics.ts';
import { ORACLE } from './oracle.ts';
import type { ScenarioResult } from './run-scenario.ts';
import { ratio } from './vs-oracle.ts';

/** The lane the readings are about: breakwater with its defaults. */
const SUBJECT = 'breakwater';
/** A recovery at least this much later than the fastest peer's (ms) is called a slower return. */
const SLOWER_RETURN_MS = 500;
/** Success within this share of breakwater's counts as the same, not higher (a point of percentage). */
const SAME_SUCCESS = 0.01;
/** A peer's p99 at least this many times breakwater's (and over a second) is called waiting. */
const WAITING_FACTOR = 2;
/** Amplification at least this many times breakwater's is called sending more. */
const MORE_LOAD_FACTOR = 1.2;

interface Named {
  readonly client: string;
  readonly m: Metrics;
}

/** Milliseconds as a reader wants them: seconds from 1 s, whole ms from 10 ms. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)} s`;
  return ms >= 10 ? `${Math.round(ms)} ms` : `${ms.toFixed(1)} ms`;
}

const pct = (share: number): string => `${(share * 100).toFixed(1)} %`;
const amp = (m: Metrics): string => `x${m.amplification.toFixed(2)}`;

/** The reading of one scenario, or '' when breakwater did not run in it. */
export function readingOf(result: ScenarioResult): string {
  const lanes: Named[] = result.lanes.flatMap((l) => (l.metrics ? [{ client: l.client, m: l.metrics }] : []));
  const subject = lanes.find((l) => l.client === SUBJECT);
  if (!subject) return '';
  const peers = lanes.filter((l) => !l.client.startsWith(SUBJECT) && l.client !== ORACLE);
  const oracle = lanes.find((l) => l.client === ORACLE);
  const sentences = [
    whatHappened(subject, peers, oracle),
    downPhase(result, subject, peers) ?? limiter(subject, peers),
    trade(subject, peers),
  ];
  return sentences.filter((s): s is string => s !== null).join(' ');
}

/** Sentence 1: breakwater's success and latency, the best peer's, and the oracle's where it ran. */
function whatHappened(subject: Named, peers: readonly Named[], oracle: Named | undefined): string {
  const { m } = subject;
  let s = `breakwater got ${pct(m.successRate)} of calls through (p50 ${duration(m.latency.p50)}, p99 ${duration(m.latency.p99)}, ${amp(m)} requests per call)`;
  const best = [...peers].sort((a, b) => b.m.successRate - a.m.successRate)[0];
  if (best) {
    s += `; the most among the others, ${best.client}, ${pct(best.m.successRate)} (p99 ${duration(best.m.latency.p99)}, ${amp(best.m)})`;
  }
  if (oracle) {
    s +=
      `; the oracle, which knows the fault script, ${pct(oracle.m.successRate)} (p99 ${duration(oracle.m.latency.p99)}, ` +
      `${amp(oracle.m)}), so breakwater got ${ratio(m.successRate, oracle.m.successRate)} the success of the limit`;
  }
  return `${s}.`;
}

/** Sentence 2 in a scenario with an outage: failing fast while down, and what the breaker costs after. */
function downPhase(result: ScenarioResult, subject: Named, peers: readonly Named[]): string | null {
  const { m } = subject;
  if (!result.breakers && m.downPhase) return budget(subject, peers);
  if (m.failFastMs === null || m.recoveryMs === null) return null;
  let s = `While the upstream was down it failed fast from ${duration(m.failFastMs)} after the outage began`;
  if (m.whileOpen) s += ` (p99 ${duration(m.whileOpen.p99)} while its breaker was open)`;
  const fastest = [...peers]
    .filter((p) => p.m.recoveryMs !== null)
    .sort((a, b) => (a.m.recoveryMs as number) - (b.m.recoveryMs as number))[0];
  if (fastest && m.recoveryMs - (fastest.m.recoveryMs as number) >= SLOWER_RETURN_MS) {
    return (
      `${s}, at the cost of a slower return: its first success came ${duration(m.recoveryMs)} after the upstream ` +
      `healed against ${duration(fastest.m.recoveryMs as number)} for ${fastest.client}, because its breaker ` +
      'stays open until its half-open probe.'
    );
  }
  return `${s}, and its first success came ${duration(m.recoveryMs)} after the upstream healed.`;
}

/** Sentence 2 with breakers off: what retries alone multiplied the down phase's load by. */
function budget(subject: Named, peers: readonly Named[]): string {
  const d = subject.m.downPhase;
  const worst = [...peers]
    .filter((p) => p.m.downPhase)
    .sort((a, b) => (b.m.downPhase?.amplification ?? 0) - (a.m.downPhase?.amplification ?? 0))[0];
  const own = `x${d?.amplification.toFixed(2)}`;
  if (!worst?.m.downPhase) return `With breakers off, its retries multiplied the load while down by ${own}.`;
  return (
    `With breakers off, retries alone multiplied the load on the failing upstream by ${own} for breakwater, ` +
    `held by its retry budget, against x${worst.m.downPhase.amplification.toFixed(2)} for ${worst.client}.`
  );
}

const requests = (n: number): string => `${n} request${n === 1 ? '' : 's'}`;

/** Sentence 2 behind a limiter: what the limiter refused, and how many requests came inside its windows. */
function limiter(subject: Named, peers: readonly Named[]): string | null {
  const { m } = subject;
  if (!m.limiter) return null;
  const most = [...peers].sort((a, b) => b.m.throttled - a.m.throttled)[0];
  let s =
    `Through the ${m.limiter.perSecond}/s limiter it used ${pct(m.limiter.goodput)} of what the limiter admitted, ` +
    `with ${requests(m.throttled)} refused (429) and ${m.earlyAfterSeen} sent inside a Retry-After it had received`;
  if (most && most.m.throttled > m.throttled) {
    s += `, against ${most.m.throttled} refused and ${most.m.earlyAfterSeen} such for ${most.client}`;
  }
  return `${s}.`;
}

/**
 * Sentence 3: where peers got more through, what they paid for it: waiting (a long p99), or calls
 * sent upstream that breakwater's breaker rejected untried. Otherwise a peer as successful but quicker,
 * or the one that loaded the server most.
 */
function trade(subject: Named, peers: readonly Named[]): string {
  const { m } = subject;
  const better = [...peers]
    .filter((p) => p.m.successRate > m.successRate + SAME_SUCCESS)
    .sort((a, b) => b.m.successRate - a.m.successRate);
  if (better.length === 0) return slowerAtSameSuccess(subject, peers);
  const isWaiting = (p: Named): boolean =>
    p.m.latency.p99 >= 1000 && p.m.latency.p99 >= WAITING_FACTOR * m.latency.p99;
  const waiting = better.find(isWaiting);
  // The next peer is told apart by what it sent, whatever its latency: on a loaded machine a raw
  // fetch's p99 can pass a second too, without it having waited for anything.
  const other = better.find((p) => p !== waiting);
  const clauses: string[] = [];
  if (waiting) {
    clauses.push(
      `${waiting.client}'s higher success comes from waiting: its p99 is ${duration(waiting.m.latency.p99)} ` +
        `against breakwater's ${duration(m.latency.p99)}${loadClause(waiting, m)}`,
    );
  }
  if (other && m.outcomes['fail-fast'] > 0) {
    clauses.push(
      `${other.client}'s (${pct(other.m.successRate)}) from sending every call upstream (${amp(other.m)} requests ` +
        `per call against ${amp(m)}) where breakwater's breaker rejected ${m.outcomes['fail-fast']} calls untried`,
    );
  } else if (other) {
    clauses.push(`${other.client} got more through, ${pct(other.m.successRate)}${loadClause(other, m)}`);
  }
  return `${clauses.join('; ')}.`;
}

const loadClause = (peer: Named, m: Metrics): string =>
  peer.m.amplification >= MORE_LOAD_FACTOR * m.amplification
    ? `, and from sending ${amp(peer.m)} requests per call against ${amp(m)}`
    : '';

/**
 * Where no peer got more through: a peer as successful but quicker, the peer that loaded the server
 * most, or else the quickest of those as successful.
 */
function slowerAtSameSuccess(subject: Named, peers: readonly Named[]): string {
  const { m } = subject;
  const same = peers
    .filter((p) => p.m.successRate >= m.successRate - SAME_SUCCESS)
    .sort((a, b) => a.m.latency.p99 - b.m.latency.p99);
  const quickest = same[0];
  if (quickest && quickest.m.latency.p99 * WAITING_FACTOR <= m.latency.p99) {
    return (
      `${quickest.client} got as much through sooner, p99 ${duration(quickest.m.latency.p99)} against breakwater's ` +
      `${duration(m.latency.p99)}.`
    );
  }
  const loudest = [...peers].sort((a, b) => b.m.amplification - a.m.amplification)[0];
  if (loudest && loudest.m.amplification >= MORE_LOAD_FACTOR * m.amplification) {
    return `No other client got more through; ${loudest.client} sent the most, ${amp(loudest.m)} requests per call.`;
  }
  if (!quickest) return 'No other client got as much through.';
  return (
    `No other client got more through; of those that got as much, ${quickest.client} had the lowest p99, ` +
    `${duration(quickest.m.latency.p99)} against breakwater's ${duration(m.latency.p99)}.`
  );
}
