import { afterEach, describe, expect, it } from 'vitest';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things';

/** Collects unhandled rejections for the duration of a test (Node's default would crash the process). */
function watchUnhandled(): { reasons: unknown[]; stop: () => void } {
  const reasons: unknown[] = [];
  const onUnhandled = (reason: unknown): void => {
    reasons.push(reason);
  };
  process.on('unhandledRejection', onUnhandled);
  return { reasons, stop: () => process.off('unhandledRejection', onUnhandled) };
}

/** Lets pending promise jobs and their unhandled-rejection checks run. */
const drain = () => new Promise((resolve) => setTimeout(resolve, 20));

let watch: ReturnType<typeof watchUnhandled> | undefined;
afterEach(() => watch?.stop());

describe('an async onEvent listener that rejects', () => {
  it('produces no unhandled rejection and does not change the call', async () => {
    watch = watchUnhandled();
    let calls = 0;
    const wrapped = wrapFetch(fakeFetch({ status: 200, body: 'ok' }), {
      onEvent: async () => {
        calls++;
        throw new Error('listener failed');
      },
    });
    const response = await wrapped(URL_A);
    expect(await response.text()).toBe('ok');
    await drain();
    expect(calls).toBeGreaterThan(0);
    expect(watch.reasons).toEqual([]);
  });

  it('is not awaited: a listener that never settles does not hold the call', async () => {
    const wrapped = wrapFetch(fakeFetch({ status: 200 }), {
      onEvent: () => new Promise<void>(() => {}),
    });
    expect((await wrapped(URL_A)).status).toBe(200);
  });
});
