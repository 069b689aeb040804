import type { Policy } from './types.ts';

/**
 * The built-in policy: the default outcome table (docs/architecture.md, "Default outcome table") and
 * defaults. Frozen, so that a resolved policy can be shared by every call without a defensive copy.
 */
export const DEFAULT_POLICY: Policy = deepFreeze({
  retry: {
    maxAttempts: 4,
    backoff: {
      kind: 'decorrelated-jitter',
      initialDelayMs: 200,
      multiplier: 2,
      maxDelayMs: 30_000,
      throttleInitialDelayMs: 1_000,
    },
    maxRetryAfterMs: 60_000,
    statuses: [408, 429, 502, 503, 504],
    networkErrors: true,
    timeouts: true,
    idempotentMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'],
    idempotencyKeyHeaders: ['Idempotency-Key', 'MS-RequestId'],
    idempotent: false,
    retryAnyMethodStatuses: [],
  },
  breaker: {
    enabled: true,
    failureStatuses: [500, 502, 503, 504],
    networkErrors: true,
    timeouts: true,
    consecutiveFailures: 5,
    failureRatio: 0.5,
    minimumCalls: 10,
    windowMs: 10_000,
    halfOpenAfterMs: 5_000,
    maxHalfOpenAfterMs: 60_000,
    slowCallMs: null,
    slowCallRatio: 1,
  },
  timeout: { attemptMs: 10_000, totalMs: 30_000 },
  throttle: {
    enabled: true,
    statuses: [429, 503],
    releaseSpreadMs: 200,
    rateLimitHeaders: true,
    adaptive: true,
    quietMs: 30_000,
  },
  retryBudget: { enabled: true, ratio: 0.2, minRetries: 10, windowMs: 10_000 },
  bulkhead: null,
  permanentStatuses: [501],
  generateHeaders: [],
  generateHeadersHosts: null,
  resumeDownloads: false,
  hedging: { enabled: false, maxHedgedAttempts: 1, delayMs: 2_000 },
});

/** Freezes an object graph of plain data. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
