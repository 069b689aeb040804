import { randomBytes } from 'node:crypto';
import { getHeapSnapshot } from 'node:v8';
import { expect, it } from 'vitest';
import { wrapFetch } from './wrap-fetch.ts';

/** Every string reachable in this process's heap, as the snapshot's text (it collects garbage first). */
async function heapText(): Promise<string> {
  const chunks: string[] = [];
  for await (const chunk of getHeapSnapshot()) chunks.push(String(chunk));
  return chunks.join('');
}

/**
 * breakwater remembers the last URL it parsed, resolved and redacted (most calls repeat it). A URL
 * with a token in its query must not be kept so: once its calls are over, nothing of breakwater may
 * hold it, or a heap dump of a long-running service shows the last token sent. (A RegExp run on the
 * URL would keep it too, as `RegExp.input`.)
 */
it('no token from a URL query stays reachable after its calls end', async () => {
  // Bytes, not text: the test itself holds no string with the token until the snapshot is taken.
  const secret = randomBytes(12);
  const events: unknown[] = [];
  // A fetch that keeps nothing of its calls (a recording fake would hold the URL itself).
  const f = wrapFetch(async () => new Response('{}'), {
    endpoints: [{ name: 'items', match: '*/v1/items' }],
    onEvent: (e) => events.push(e),
  });
  await (async () => {
    const url = `https://api.test/v1/items?access_token=tok${secret.toString('hex')}`;
    for (let i = 0; i < 3; i++) await (await f(url)).arrayBuffer();
  })();
  expect(events.length).toBeGreaterThan(0);
  const heap = await heapText();
  expect(heap.includes(`tok${secret.toString('hex')}`)).toBe(false);
}, 30_000);
