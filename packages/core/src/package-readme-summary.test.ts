import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_POLICY } from '@breakwater/policies';
import { expect, it } from 'vitest';

const README = fileURLToPath(new URL('../README.md', import.meta.url));

/**
 * The npm page of @breakwater/core is this README: its summary is all many users read. It must name
 * the statuses the default policy retries, and say that only idempotent requests are retried (a POST
 * without an idempotency key is sent once), or a reader expects a failed POST to be repeated.
 */
it("@breakwater/core's README summary says what is retried, and for which requests", () => {
  const summary = (readFileSync(README, 'utf8').split('```')[0] ?? '').replaceAll('\n', ' ');
  for (const status of DEFAULT_POLICY.retry.statuses) expect(summary).toContain(String(status));
  expect(summary).toMatch(/idempotent requests/);
});
