import { afterEach, describe, expect, it, vi } from 'vitest';
import { fakeFetch } from './fake-fetch.test-util.ts';
import { openTelemetry } from './telemetry.ts';
import { wrapFetch } from './wrap-fetch.ts';

const URL_A = 'https://api.test/v1/things?page=2';

describe('the healthy path (issue 17)', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('sends in the same turn as the call, as fetch does: nothing on the way is awaited', async () => {
    const fetch = fakeFetch({ status: 200 });
    const wrapped = wrapFetch(fetch);
    const caller = new AbortController();
    const calls = [wrapped(URL_A, { signal: caller.signal }), wrapped(`${URL_A}&b`, { method: 'DELETE' })];
    // Recorded before this test awaits anything, in the order called.
    expect(fetch.calls.map((c) => c.method)).toEqual(['GET', 'DELETE']);
    for (const response of await Promise.all(calls)) expect(response.status).toBe(200);
  });

  it('sends in the same turn with telemetry on and no SDK registered (the gate hook adds no await)', async () => {
    const fetch = fakeFetch({ status: 200 });
    const wrapped = wrapFetch(fetch, { telemetry: openTelemetry() });
    const calls = [wrapped(URL_A), wrapped(`${URL_A}&b`, { method: 'DELETE' })];
    expect(fetch.calls.map((c) => c.method)).toEqual(['GET', 'DELETE']);
    for (const response of await Promise.all(calls)) expect(response.status).toBe(200);
  });

  it('parses an absolute URL once per call (no canParse before the parse)', async () => {
    const canParse = vi.spyOn(URL, 'canParse');
    const wrapped = wrapFetch(fakeFetch({ status: 200 }));
    for (let i = 0; i < 3; i++) expect((await wrapped(`${URL_A}&i=${i}`)).status).toBe(200);
    expect(canParse).not.toHaveBeenCalled();
  });
});
