import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import type {
  BreakerPolicy,
  ClassifyContext,
  Outcome,
  Policy,
  RequestFacts,
  RetryPolicy,
  Verdict,
} from './types.ts';

const NOW = Date.parse('2026-10-21T07:27:30Z');
const context: ClassifyContext = { now: NOW };

const get: RequestFacts = { method: 'GET', headers: new Headers() };
const post: RequestFacts = { method: 'POST', headers: new Headers() };

/** The default policy with some retry / breaker fields replaced, as a resolved endpoint policy would be. */
function policyWith(
  change: {
    retry?: Partial<RetryPolicy>;
    breaker?: Partial<BreakerPolicy>;
    permanentStatuses?: readonly number[];
  } = {},
): Policy {
  return {
    ...DEFAULT_POLICY,
    ...(change.permanentStatuses === undefined ? {} : { permanentStatuses: change.permanentStatuses }),
    retry: { ...DEFAULT_POLICY.retry, ...change.retry },
    breaker: { ...DEFAULT_POLICY.breaker, ...change.breaker },
  };
}

function response(status: number, headers: Record<string, string> = {}): Outcome {
  return { kind: 'response', status, headers: new Headers(headers) };
}

function networkError(code = 'ECONNRESET'): Outcome {
  return {
    kind: 'error',
    error: new TypeError('fetch failed', { cause: Object.assign(new Error(code), { code }) }),
  };
}

const timeout: Outcome = {
  kind: 'error',
  error: new DOMException('The operation timed out.', 'TimeoutError'),
};

describe('classify: a POST without an idempotency key is sent exactly once by default', () => {
  it.each([
    ['408', response(408)],
    ['429', response(429)],
    ['429 with Retry-After', response(429, { 'Retry-After': '1' })],
    ['502', response(502)],
    ['503', response(503)],
    ['504', response(504)],
    ['a network error', networkError()],
    ['an attempt timeout', timeout],
  ])('%s is returned, not retried', (_label, outcome) => {
    expect(classify(outcome, post, DEFAULT_POLICY, context)).toMatchObject({
      action: 'return',
      reason: 'not-idempotent',
    });
  });

  it('retryAnyMethodStatuses [429] makes a keyless POST retry on 429, and only on 429', () => {
    const policy = policyWith({ retry: { retryAnyMethodStatuses: [429] } });
    expect(classify(response(429), post, policy, context)).toEqual({
      action: 'retry',
      breaker: 'ignore',
      reason: 'throttled',
      throttled: true,
    });
    expect(classify(response(429, { 'Retry-After': '2' }), post, policy, context)).toEqual({
      action: 'retry',
      breaker: 'ignore',
      reason: 'throttled',
      delayMs: 2_000,
    });
    expect(classify(response(503), post, policy, context)).toMatchObject({
      action: 'return',
      reason: 'not-idempotent',
    });
  });

  it('a status only in retryAnyMethodStatuses is retried for any method', () => {
    const policy = policyWith({ retry: { retryAnyMethodStatuses: [500] } });
    expect(classify(response(500), post, policy, context)).toEqual({
      action: 'retry',
      breaker: 'failure',
      reason: 'transient-status',
    });
  });

  it('an MS-RequestId makes a POST retryable', () => {
    const keyed: RequestFacts = { method: 'POST', headers: new Headers({ 'MS-RequestId': 'r-1' }) };
    expect(classify(response(503), keyed, DEFAULT_POLICY, context).action).toBe('retry');
  });

  it('an endpoint that opts in (retry.idempotent) retries a keyless POST', () => {
    const policy = policyWith({ retry: { idempotent: true } });
    expect(classify(response(503), post, policy, context).action).toBe('retry');
    expect(classify(networkError(), post, policy, context).action).toBe('retry');
  });
});

describe('classify: every row is overridable', () => {
  it('permanentStatuses wins over the retry and breaker lists', () => {
    const policy = policyWith({ permanentStatuses: [503] });
    expect(classify(response(503, { 'Retry-After': '1' }), get, policy, context)).toEqual({
      action: 'return',
      breaker: 'ignore',
      reason: 'permanent',
    });
  });

  it('a 4xx made permanent is ignored by the breaker', () => {
    const policy = policyWith({ permanentStatuses: [404, 501] });
    expect(classify(response(404), get, policy, context)).toEqual({
      action: 'return',
      breaker: 'ignore',
      reason: 'permanent',
    });
  });

  it('removing 501 from permanentStatuses makes it an unlisted server error the breaker ignores', () => {
    const policy = policyWith({ permanentStatuses: [] });
    expect(classify(response(501), get, policy, context)).toEqual({
      action: 'return',
      breaker: 'ignore',
      reason: 'server-error',
    });
  });

  it('adding 500 to retry.statuses retries it and keeps it a breaker failure', () => {
    const policy = policyWith({ retry: { statuses: [...DEFAULT_POLICY.retry.statuses, 500] } });
    expect(classify(response(500), get, policy, context)).toEqual({
      action: 'retry',
      breaker: 'failure',
      reason: 'transient-status',
    });
  });

  it('removing 408 from retry.statuses makes it a plain client error', () => {
    const policy = policyWith({ retry: { statuses: [429, 502, 503, 504] } });
    expect(classify(response(408), get, policy, context)).toEqual({
      action: 'return',
      breaker: 'success',
      reason: 'client-error',
    });
  });

  it('adding 429 to breaker.failureStatuses counts it as a failure, still retried', () => {
    const policy = policyWith({ breaker: { failureStatuses: [429, 500, 502, 503, 504] } });
    expect(classify(response(429), get, policy, context)).toMatchObject({
      action: 'retry',
      breaker: 'failure',
    });
  });

  it('adding 404 to breaker.failureStatuses counts it as a failure, still returned', () => {
    const policy = policyWith({ breaker: { failureStatuses: [404, 500] } });
    expect(classify(response(404), get, policy, context)).toEqual({
      action: 'return',
      breaker: 'failure',
      reason: 'client-error',
    });
  });

  it('an empty breaker.failureStatuses counts no status', () => {
    const policy = policyWith({ breaker: { failureStatuses: [] } });
    expect(classify(response(500), get, policy, context).breaker).toBe('ignore');
    expect(classify(response(503), get, policy, context)).toMatchObject({
      action: 'retry',
      breaker: 'ignore',
    });
  });

  it('retry.networkErrors false returns a network error, still a breaker failure', () => {
    const policy = policyWith({ retry: { networkErrors: false } });
    expect(classify(networkError('ECONNREFUSED'), get, policy, context)).toEqual({
      action: 'return',
      breaker: 'failure',
      reason: 'network-error',
      errorKind: 'network',
      errorCode: 'ECONNREFUSED',
    });
  });

  it('breaker.networkErrors false keeps retrying but does not count', () => {
    const policy = policyWith({ breaker: { networkErrors: false } });
    expect(classify(networkError(), get, policy, context)).toMatchObject({
      action: 'retry',
      breaker: 'ignore',
    });
  });

  it('retry.timeouts false returns a timeout, still a breaker failure', () => {
    const policy = policyWith({ retry: { timeouts: false } });
    expect(classify(timeout, get, policy, context)).toEqual({
      action: 'return',
      breaker: 'failure',
      reason: 'timeout',
      errorKind: 'timeout',
    });
  });

  it('breaker.timeouts false keeps retrying but does not count', () => {
    const policy = policyWith({ breaker: { timeouts: false } });
    expect(classify(timeout, get, policy, context)).toMatchObject({ action: 'retry', breaker: 'ignore' });
  });

  it('breaker.enabled false makes every verdict ignore', () => {
    const policy = policyWith({ breaker: { enabled: false } });
    for (const outcome of [
      response(200),
      response(404),
      response(500),
      response(503),
      networkError(),
      timeout,
    ]) {
      expect(classify(outcome, get, policy, context).breaker).toBe('ignore');
    }
  });
});

describe('classify: server delay', () => {
  it('exposes Retry-After on a retried 503', () => {
    expect(classify(response(503, { 'Retry-After': '3' }), get, DEFAULT_POLICY, context)).toEqual({
      action: 'retry',
      breaker: 'failure',
      reason: 'transient-status',
      delayMs: 3_000,
    });
  });

  it('reads an HTTP-date against context.now', () => {
    const outcome = response(503, { 'Retry-After': 'Wed, 21 Oct 2026 07:28:00 GMT' });
    expect(classify(outcome, get, DEFAULT_POLICY, context).delayMs).toBe(30_000);
    expect(classify(outcome, get, DEFAULT_POLICY, { now: NOW + 20_000 }).delayMs).toBe(10_000);
  });

  it('a delay above maxRetryAfterMs returns at once with the delay exposed', () => {
    expect(classify(response(429, { 'Retry-After': '120' }), get, DEFAULT_POLICY, context)).toEqual({
      action: 'return',
      breaker: 'ignore',
      reason: 'retry-after-exceeds-cap',
      delayMs: 120_000,
    });
    expect(classify(response(503, { 'Retry-After': '120' }), get, DEFAULT_POLICY, context)).toEqual({
      action: 'return',
      breaker: 'failure',
      reason: 'retry-after-exceeds-cap',
      delayMs: 120_000,
    });
  });

  it('a delay equal to the cap is waited for', () => {
    expect(classify(response(429, { 'Retry-After': '60' }), get, DEFAULT_POLICY, context)).toMatchObject({
      action: 'retry',
      delayMs: 60_000,
    });
  });

  it('raising maxRetryAfterMs lets a long delay be waited for', () => {
    const policy = policyWith({ retry: { maxRetryAfterMs: 300_000 } });
    expect(classify(response(429, { 'Retry-After': '120' }), get, policy, context)).toMatchObject({
      action: 'retry',
      delayMs: 120_000,
    });
  });

  it('a delay header on a status that is not retried is not reported', () => {
    expect(classify(response(500, { 'Retry-After': '5' }), get, DEFAULT_POLICY, context)).toEqual({
      action: 'return',
      breaker: 'failure',
      reason: 'server-error',
    });
    expect(classify(response(200, { 'Retry-After': '5' }), get, DEFAULT_POLICY, context)).toEqual({
      action: 'return',
      breaker: 'success',
      reason: 'success',
    });
  });

  it('a 503 without a delay header is not flagged throttled', () => {
    expect(classify(response(503), get, DEFAULT_POLICY, context).throttled).toBeUndefined();
  });
});

describe('classify: errors', () => {
  it('the caller abort wins over an error that would be retried', () => {
    expect(classify(networkError(), get, DEFAULT_POLICY, { ...context, callerAborted: true })).toEqual({
      action: 'return',
      breaker: 'ignore',
      reason: 'aborted',
      errorKind: 'abort',
      errorCode: 'ECONNRESET',
    });
  });

  it('an AbortError is never retried, even without callerAborted', () => {
    const outcome: Outcome = { kind: 'error', error: new DOMException('aborted', 'AbortError') };
    expect(classify(outcome, get, DEFAULT_POLICY, context)).toMatchObject({
      action: 'return',
      reason: 'aborted',
    });
  });

  it('an unrecognised error is returned and not counted', () => {
    const outcome: Outcome = { kind: 'error', error: new TypeError('Invalid URL') };
    expect(classify(outcome, get, DEFAULT_POLICY, context)).toEqual({
      action: 'return',
      breaker: 'ignore',
      reason: 'unknown-error',
      errorKind: 'unknown',
    });
  });
});

describe('classify: bad input', () => {
  it.each([Number.NaN, 1.5, -1, 1000])('rejects status %s with a RangeError', (status) => {
    expect(() => classify(response(200), get, DEFAULT_POLICY, context)).not.toThrow();
    const outcome: Outcome = { kind: 'response', status, headers: new Headers() };
    expect(() => classify(outcome, get, DEFAULT_POLICY, context)).toThrow(RangeError);
  });

  it('rejects a non-finite now', () => {
    expect(() => classify(response(200), get, DEFAULT_POLICY, { now: Number.NaN })).toThrow(RangeError);
  });

  it('rejects an outcome of another kind', () => {
    const outcome = { kind: 'other' } as unknown as Outcome;
    expect(() => classify(outcome, get, DEFAULT_POLICY, context)).toThrow(/outcome\.kind/);
  });
});

describe('classify: invariants', () => {
  const statuses = fc.integer({ min: 100, max: 599 });
  const lists = fc.array(statuses, { maxLength: 6 });

  it('permanent statuses always return, never counted; a disabled breaker never counts', () => {
    fc.assert(
      fc.property(
        statuses,
        lists,
        lists,
        lists,
        fc.boolean(),
        (status, permanent, retryable, failures, enabled) => {
          const policy = policyWith({
            permanentStatuses: permanent,
            retry: { statuses: retryable },
            breaker: { failureStatuses: failures, enabled },
          });
          const verdict: Verdict = classify(response(status), get, policy, context);
          if (permanent.includes(status))
            expect(verdict).toEqual({ action: 'return', breaker: 'ignore', reason: 'permanent' });
          if (!enabled) expect(verdict.breaker).toBe('ignore');
          if (verdict.action === 'retry') expect(retryable).toContain(status);
        },
      ),
      { seed: 7, numRuns: 500 },
    );
  });
});

describe('classify: Partner Center fixtures', () => {
  const directory = new URL('../../../fixtures/partner-center/', import.meta.url);
  const files = readdirSync(directory).filter((name) => name.endsWith('.json'));

  /** Expected verdicts for a GET (idempotent) and a keyless POST, at NOW = 2026-10-21T07:27:30Z. */
  const expected: Record<string, { get: Verdict; post: Verdict }> = {
    '400-old-schema.json': both({ action: 'return', breaker: 'success', reason: 'client-error' }),
    '400-quota-exceeded.json': both({ action: 'return', breaker: 'success', reason: 'client-error' }),
    '401-unauthorized.json': both({ action: 'return', breaker: 'success', reason: 'client-error' }),
    '404-partner-not-found.json': both({ action: 'return', breaker: 'success', reason: 'client-error' }),
    // isRetryable: false in the body is read by core's error parsing; by status this is a client error.
    '409-extended-not-retryable.json': both({ action: 'return', breaker: 'success', reason: 'client-error' }),
    '409-order-in-progress.json': both({ action: 'return', breaker: 'success', reason: 'client-error' }),
    '429-gateway-throttled.json': {
      get: { action: 'retry', breaker: 'ignore', reason: 'throttled', delayMs: 57_000 },
      post: { action: 'return', breaker: 'ignore', reason: 'not-idempotent', delayMs: 57_000 },
    },
    '500-internal.json': both({ action: 'return', breaker: 'failure', reason: 'server-error' }),
    '503-busy-text.json': {
      get: { action: 'retry', breaker: 'failure', reason: 'transient-status', delayMs: 30_000 },
      post: { action: 'return', breaker: 'failure', reason: 'not-idempotent', delayMs: 30_000 },
    },
  };

  function both(verdict: Verdict) {
    return { get: verdict, post: verdict };
  }

  it('has an expectation for every fixture', () => {
    expect(files.sort()).toEqual(Object.keys(expected).sort());
  });

  for (const file of files) {
    it(`${file}`, () => {
      const fixture = JSON.parse(readFileSync(new URL(file, directory), 'utf8')) as {
        status: number;
        headers: Record<string, string>;
      };
      const outcome = response(fixture.status, fixture.headers);
      expect(classify(outcome, get, DEFAULT_POLICY, context)).toEqual(expected[file]?.get);
      expect(classify(outcome, post, DEFAULT_POLICY, context)).toEqual(expected[file]?.post);
    });
  }
});
