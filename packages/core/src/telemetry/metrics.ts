/**
 * breakwater's instruments on one OpenTelemetry Meter. Every attribute set is bounded by the endpoint
 * keys (at most `maxEndpoints` live per wrapped fetch) or by the rule names: never a URL path or query.
 */
import type { Attributes, Counter, Histogram, Meter, ObservableGauge } from '@opentelemetry/api';
import type { BreakwaterEvent } from '../events.ts';
import type { BreakerSnapshot } from '../types.ts';
import { ExportedKeys, ruleOf } from './attributes.ts';

/** The HTTP semantic conventions' advisory buckets for `http.client.request.duration`, in seconds. */
const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/** `breakwater.breaker.state`: ordered by how much the breaker holds back. */
export const BREAKER_STATE_VALUES = { closed: 0, 'half-open': 1, open: 2, isolated: 3 } as const;

/** A wrapped fetch's live endpoints, held weakly: a wrapped fetch that is dropped stops being read. */
type Endpoints = () => readonly BreakerSnapshot[];

export class Metrics {
  private readonly attemptDuration: Histogram;
  private readonly callDuration: Histogram;
  private readonly events: Counter;
  private readonly sources = new Set<WeakRef<Endpoints>>();
  private readonly gauges: { state: ObservableGauge; waiting: ObservableGauge; budget: ObservableGauge };
  private readonly keys = new ExportedKeys();

  constructor(meter: Meter) {
    const advice = { explicitBucketBoundaries: DURATION_BUCKETS };
    this.attemptDuration = meter.createHistogram('http.client.request.duration', {
      unit: 's',
      description: 'Duration of HTTP client requests: one physical attempt.',
      advice,
    });
    this.callDuration = meter.createHistogram('breakwater.call.duration', {
      unit: 's',
      description:
        'Duration of a breakwater call, from its pipeline to its end: every attempt, wait and queue.',
      advice,
    });
    this.events = meter.createCounter('breakwater.events', {
      unit: '{event}',
      description:
        'Resilience events: retry, give-up, break, half-open, reset, isolate, reject, throttled, timeout, hedge, resume, rate-change, store-down, store-up.',
    });
    const state = meter.createObservableGauge('breakwater.breaker.state', {
      unit: '{state}',
      description:
        'Circuit breaker state per endpoint key: 0 closed, 1 half-open, 2 open, 3 isolated by hand.',
    });
    const waiting = meter.createObservableGauge('breakwater.gate.waiting', {
      unit: '{call}',
      description: 'Calls waiting at the throttle gate of the endpoint key.',
    });
    const budget = meter.createObservableGauge('breakwater.retry_budget.remaining', {
      unit: '{retry}',
      description: 'Retries the retry budget of the endpoint key still allows in its window.',
    });
    meter.addBatchObservableCallback(
      (result) => this.observe((gauge, value, attributes) => result.observe(gauge, value, attributes)),
      [state, waiting, budget],
    );
    this.gauges = { state, waiting, budget };
  }

  /** Reads `endpoints` at every collection while the wrapped fetch that owns it lives. */
  watch(endpoints: Endpoints): void {
    this.sources.add(new WeakRef(endpoints));
  }

  attempt(attributes: Attributes, seconds: number): void {
    this.attemptDuration.record(seconds, attributes);
  }

  call(attributes: Attributes, seconds: number): void {
    this.callDuration.record(seconds, attributes);
  }

  /** Counts the resilience events; `attempt` (the duration histogram's) and `gate-open` are not. */
  event(event: BreakwaterEvent): void {
    const reason = reasonOf(event);
    if (reason === null) return;
    const attributes: Attributes = { 'breakwater.event.name': event.type };
    // The store's events are about no endpoint (their key is empty).
    if (event.key !== '') attributes['breakwater.endpoint'] = ruleOf(event.key);
    if (reason !== undefined) attributes['breakwater.event.reason'] = reason;
    this.events.add(1, attributes);
  }

  /**
   * Observes each attribute set once. Wrapped fetches that share this telemetry and call one origin
   * have the same key, so the same attributes: the SDK keeps one observation per set and a closed
   * breaker read last would hide an isolated one. Their endpoints are merged instead (see `merge`).
   */
  private observe(record: (gauge: ObservableGauge, value: number, attributes: Attributes) => void): void {
    const { state, waiting, budget } = this.gauges;
    const exportedKey = this.keys.collection();
    const merged = new Map<string, Observed>();
    for (const ref of this.sources) {
      const endpoints = ref.deref();
      if (!endpoints) {
        this.sources.delete(ref);
        continue;
      }
      for (const snapshot of endpoints()) merge(merged, exportedKey(snapshot.key), snapshot);
    }
    for (const [key, observed] of merged) {
      const attributes = { 'breakwater.endpoint': ruleOf(key), 'breakwater.endpoint.key': key };
      record(state, observed.state, attributes);
      record(waiting, observed.waiting, attributes);
      if (observed.budget !== null) record(budget, observed.budget, attributes);
    }
  }
}

/** The gauges' values of one exported key, over every wrapped fetch that has it. */
interface Observed {
  state: number;
  waiting: number;
  budget: number | null;
}

/**
 * Adds `snapshot` to its key's values: the state that holds back most (an isolated or open breaker is
 * what an alert must see), the calls waiting at every gate, and the fewest retries left (a budget that
 * is off leaves the others').
 */
function merge(merged: Map<string, Observed>, key: string, snapshot: BreakerSnapshot): void {
  const state = BREAKER_STATE_VALUES[snapshot.state];
  const left = snapshot.retryBudgetLeft;
  const seen = merged.get(key);
  if (!seen) {
    merged.set(key, { state, waiting: snapshot.waiting, budget: left });
    return;
  }
  seen.state = Math.max(seen.state, state);
  seen.waiting += snapshot.waiting;
  if (left !== null) seen.budget = seen.budget === null ? left : Math.min(seen.budget, left);
}

/** `breakwater.event.reason` of a counted event; null for an event that is not counted. */
function reasonOf(event: BreakwaterEvent): string | undefined | null {
  switch (event.type) {
    case 'retry':
    case 'give-up':
      return event.reason;
    case 'reject':
      return event.cause;
    case 'timeout':
      return event.scope;
    case 'rate-change':
      return event.reason;
    case 'break':
    case 'half-open':
    case 'reset':
    case 'throttled':
    case 'isolate':
    case 'hedge':
    case 'resume':
    case 'store-down':
    case 'store-up':
      return undefined;
    default:
      return null;
  }
}
