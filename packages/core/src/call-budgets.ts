import type { RetryBudgetPolicy } from '@breakwater/policies';
import type { EndpointBreakers } from './call-breakers.ts';
import { RetryBudget } from './retry-budget.ts';

/** Budgets per endpoint key, per set of breakers: calls that share breakers share budgets. */
const budgets = new WeakMap<EndpointBreakers, Map<string, RetryBudget>>();

/**
 * Keys whose budgets are kept per set of breakers; past it the least recently used is dropped, which
 * forgets at most one window of that key's counts (a budget holds nothing that must outlive it).
 */
const MAX_KEYS = 1000;

/**
 * The retry budget of endpoint `key` for the calls made through `breakers` (the cockatiel and p-retry
 * adapters), so that a fleet of such calls cannot multiply the load on a failing upstream either.
 */
export function retryBudgetOf(
  breakers: EndpointBreakers,
  key: string,
  policy: RetryBudgetPolicy,
): RetryBudget {
  const byKey = budgets.get(breakers) ?? new Map<string, RetryBudget>();
  budgets.set(breakers, byKey);
  const budget = byKey.get(key) ?? new RetryBudget(policy);
  // Map keeps insertion order: re-inserting marks the key as most recently used.
  byKey.delete(key);
  byKey.set(key, budget);
  if (byKey.size > MAX_KEYS) byKey.delete(byKey.keys().next().value as string);
  return budget;
}
