import type { Outcome, Verdict } from '@breakwater/policies';
import type { EndpointBreakers } from './call-breakers.ts';
import type { BreakwaterEvent } from './events.ts';
import { Reporter, type Told } from './reporter.ts';

/**
 * How the adapters' retry loops (p-retry, cockatiel) tell their retries and give-ups on the events of
 * the breakers they run through, as wrapFetch's loop does: the same `onEvent`, diagnostics channels and
 * telemetry see them.
 */
const emitters = new WeakMap<EndpointBreakers, (event: BreakwaterEvent) => void>();

/** Called by `createEndpointBreakers`: `emit` delivers an event to its listeners and telemetry. */
export function shareEvents(breakers: EndpointBreakers, emit: (event: BreakwaterEvent) => void): void {
  emitters.set(breakers, emit);
}

/**
 * The reporter of endpoint `key`'s retries and give-ups for a call through `breakers`; undefined for
 * breakers that `createEndpointBreakers` did not make, which have no events to tell them on.
 */
export function callReporter(breakers: EndpointBreakers, key: string): Reporter | undefined {
  const emit = emitters.get(breakers);
  return emit && new Reporter(key, emit, true);
}

/** What an event tells of an outcome the adapters judged: its verdict, and its status if it had one. */
export function told(verdict: Verdict, outcome: Outcome): Told {
  return outcome.kind === 'response' ? { verdict, response: { status: outcome.status } } : { verdict };
}
