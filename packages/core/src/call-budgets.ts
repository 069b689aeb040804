import type { Policy } from '@breakwater/policies';
import type { EndpointBreakers } from './call-breakers.ts';
import { RetryBudget } from './retry-budget.ts';

/** How the adapters reach the retry budget kept beside each breaker of a set of breakers. */
const budgets = new WeakMap<EndpointBreakers, (key: string, policy: Policy) => RetryBudget>();

/** Called by `createEndpointBreakers`: `budgetOf` finds the budget of a key in its registry. */
export function shareBudgets(
  breakers: EndpointBreakers,
  budgetOf: (key: string, policy: Policy) => RetryBudget,
): void {
  budgets.set(breakers, budgetOf);
}

/**
 * The retry budget of endpoint `key` for the calls made through `breakers` (the cockatiel and p-retry
 * adapters), so that a fleet of such calls cannot multiply the load on a failing upstream either. It
 * lives with the key's breaker in the registry, bounded and evicted with it. Breakers that
 * `createEndpointBreakers` did not make have none to share: each call then gets a budget of its own.
 */
export function retryBudgetOf(breakers: EndpointBreakers, key: string, policy: Policy): RetryBudget {
  return budgets.get(breakers)?.(key, policy) ?? new RetryBudget(policy.retryBudget);
}
