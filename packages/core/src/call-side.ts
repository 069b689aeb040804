import type { Outcome, Policy, Verdict } from '@breakwater/policies';
import type { EndpointBreakers } from './call-breakers.ts';
import type { BreakwaterEvent } from './events.ts';
import { Reporter, type Told } from './reporter.ts';
import { RetryBudget } from './retry-budget.ts';

/**
 * What the adapters' retry loops (p-retry, cockatiel) reach beside each breaker of a set of breakers,
 * as wrapFetch's loop has it beside its own: the key's retry budget, until when its breaker refuses
 * every call, and the events to tell retries and give-ups on. Kept out of `EndpointBreakers`' public
 * shape; `createEndpointBreakers` shares it.
 */
interface CallSide {
  /** The retry budget of `key`, kept with its breaker in the registry, bounded and evicted with it. */
  budgetOf(key: string, policy: Policy): RetryBudget;
  /** Epoch ms until which the breaker of `key` refuses every call (`CircuitBreaker.refusedUntil`). */
  refusedUntil(key: string): number | undefined;
  /** Delivers an event to the breakers' listeners, channels and telemetry. */
  emit(event: BreakwaterEvent): void;
}

const sides = new WeakMap<EndpointBreakers, CallSide>();

/** Called by `createEndpointBreakers`. */
export function shareCallSide(breakers: EndpointBreakers, side: CallSide): void {
  sides.set(breakers, side);
}

/**
 * The retry budget of endpoint `key` for the calls made through `breakers`, so that a fleet of such
 * calls cannot multiply the load on a failing upstream either. Breakers that `createEndpointBreakers`
 * did not make have none to share: each call then gets a budget of its own.
 */
export function retryBudgetOf(breakers: EndpointBreakers, key: string, policy: Policy): RetryBudget {
  return sides.get(breakers)?.budgetOf(key, policy) ?? new RetryBudget(policy.retryBudget);
}

/**
 * Epoch ms until which the breaker of `key` refuses every call: the next probe's time while open,
 * Infinity while isolated by hand; undefined while a call may go, while half-open (the probe in flight
 * decides, and mostly closes the breaker within a round trip), or for breakers not made here.
 */
export function refusedUntil(breakers: EndpointBreakers, key: string): number | undefined {
  return sides.get(breakers)?.refusedUntil(key);
}

/**
 * The reporter of endpoint `key`'s retries and give-ups for a call through `breakers`; undefined for
 * breakers that `createEndpointBreakers` did not make, which have no events to tell them on.
 */
export function callReporter(breakers: EndpointBreakers, key: string): Reporter | undefined {
  const side = sides.get(breakers);
  return side && new Reporter(key, (event) => side.emit(event), true);
}

/** What an event tells of an outcome the adapters judged: its verdict, and its status if it had one. */
export function told(verdict: Verdict, outcome: Outcome): Told {
  return outcome.kind === 'response' ? { verdict, response: { status: outcome.status } } : { verdict };
}
