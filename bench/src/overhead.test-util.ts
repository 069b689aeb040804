import type { OverheadMethod, OverheadResult } from './overhead.ts';

/** How a test's overhead figures were "taken": nothing reads it but the report's method paragraph. */
export const TEST_METHOD: OverheadMethod = {
  batches: 1,
  memoryCalls: 1,
  loopbackCalls: 1,
  concurrency: 1,
  memoryRounds: 1,
  loopbackRounds: 1,
  warmup: 1,
  pairRounds: 1,
  pairCalls: 1,
  coverage: 0,
  ranks: [1, 1],
};

/** An overhead result with no rows but those given. */
export function overheadResult(parts: Partial<OverheadResult>): OverheadResult {
  return { method: TEST_METHOD, memory: [], loopback: [], telemetry: [], ...parts };
}
