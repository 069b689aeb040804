/**
 * The longest delay a timer holds: 2^31-1 ms (about 24.8 days). Node and browsers run a timer set for
 * longer after 1 ms, so no delay may reach `setTimeout` or `setInterval` beyond this: core splits a
 * longer wait into several timers, the Redis store refuses a longer `refreshMs` or `timeoutMs`.
 */
export const MAX_TIMER_MS = 2_147_483_647;
