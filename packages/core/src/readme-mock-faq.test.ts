import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PolicyInput } from '@breakwater/policies';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { wrapFetch } from './wrap-fetch.ts';

const README = fileURLToPath(new URL('../../../README.md', import.meta.url));

/** The `policy` the FAQ's mocking block hands wrapFetch, as written there. */
function faqPolicy(): PolicyInput {
  const readme = readFileSync(README, 'utf8');
  const section = /### How do I mock it in tests\?\n([\s\S]*?)\n### /.exec(readme)?.[1] ?? '';
  const block = /```ts\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
  const literal = /\{ policy: (\{.*\}) \}/.exec(block)?.[1];
  expect(literal, 'the FAQ block passes wrapFetch a one-line { policy: ... }').toBeDefined();
  return new Function(`return (${literal});`)() as PolicyInput;
}

beforeEach(() => {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 26, 12, 0, 0) });
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * README's FAQ: "Set the backoff to 0 so retries do not wait". A test double that throttles (a 429
 * without Retry-After, the commonest thing to mock next to a 503) used the throttling backoff, 1 s
 * base, which `initialDelayMs: 0` alone does not touch: two 429s took 5 s of real time, above vitest's
 * default test timeout. The FAQ's policy must make every retry of a mocked 503 or 429 immediate.
 */
it.each([
  ['503', 503],
  ['429 without Retry-After', 429],
])('the FAQ policy retries a mocked %s without waiting', async (_, status) => {
  const answers = [
    new Response(null, { status }),
    new Response(null, { status }),
    Response.json({ id: '42' }),
  ];
  const sentAt: number[] = [];
  const fetch = wrapFetch(
    async () => {
      sentAt.push(Date.now());
      return answers.shift() ?? new Response(null, { status: 500 });
    },
    { policy: faqPolicy() },
  );
  const pending = fetch('https://api.example.com/v1/customers/42');
  await vi.runAllTimersAsync();
  const res = await pending;
  expect(res.status).toBe(200);
  // Fake time: the three attempts went out at the same instant, no wait between them.
  expect(sentAt).toEqual([sentAt[0], sentAt[0], sentAt[0]]);
});
