/**
 * The default outcome table of docs/architecture.md, row for row, for a GET, a POST without an
 * idempotency key and a POST with one. Each `describe` is named as the table's row so a reader can hold the two side by side.
 */
import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { DEFAULT_POLICY } from './defaults.ts';
import type { ClassifyContext, Outcome, RequestFacts, Verdict } from './types.ts';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const context: ClassifyContext = { now: NOW };

const requests: Record<'GET' | 'POST without key' | 'POST with Idempotency-Key', RequestFacts> = {
  GET: { method: 'GET', headers: new Headers() },
  'POST without key': { method: 'POST', headers: new Headers() },
  'POST with Idempotency-Key': { method: 'POST', headers: new Headers({ 'Idempotency-Key': 'k-1' }) },
};

type Expected = { readonly [K in keyof typeof requests]: Verdict };

function response(status: number, headers: Record<string, string> = {}): Outcome {
  return { kind: 'response', status, headers: new Headers(headers) };
}

function thrown(error: unknown): Outcome {
  return { kind: 'error', error };
}

function coded(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The same verdict whatever the method. */
function same(verdict: Verdict): Expected {
  return { GET: verdict, 'POST without key': verdict, 'POST with Idempotency-Key': verdict };
}

/**
 * Retried when idempotent; a keyless POST is returned as it is (reason `not-idempotent`), counted by the
 * breaker the same way and still showing the server's delay or the throttling flag.
 */
function idempotentOnly(verdict: Verdict): Expected {
  const returned: Verdict = { ...verdict, action: 'return', reason: 'not-idempotent' };
  return { GET: verdict, 'POST without key': returned, 'POST with Idempotency-Key': verdict };
}

interface Row {
  /** The table's "outcome" cell. */
  readonly row: string;
  /** The concrete case within the row. */
  readonly example: string;
  readonly outcome: Outcome;
  readonly callerAborted?: boolean;
  readonly expected: Expected;
}

const success: Verdict = { action: 'return', breaker: 'success', reason: 'success' };
const clientError: Verdict = { action: 'return', breaker: 'success', reason: 'client-error' };

const rows: readonly Row[] = [
  ...[100, 101, 200, 201, 204, 301, 302, 304].map((status) => ({
    row: '1xx–3xx',
    example: String(status),
    outcome: response(status),
    expected: same(success),
  })),
  ...[400, 401, 403, 404, 405, 406, 409, 412].map((status) => ({
    row: '400 401 403 404 405 406 409 412, other 4xx',
    example: String(status),
    outcome: response(status),
    expected: same(clientError),
  })),
  ...[410, 413, 418, 422, 451].map((status) => ({
    row: '400 401 403 404 405 406 409 412, other 4xx',
    example: `other 4xx: ${status}`,
    outcome: response(status),
    expected: same(clientError),
  })),
  {
    row: '408',
    example: '408',
    outcome: response(408),
    expected: idempotentOnly({ action: 'retry', breaker: 'ignore', reason: 'transient-status' }),
  },
  {
    row: '429',
    example: "with the server's delay (Retry-After: 5)",
    outcome: response(429, { 'Retry-After': '5' }),
    expected: idempotentOnly({ action: 'retry', breaker: 'ignore', reason: 'throttled', delayMs: 5_000 }),
  },
  {
    row: '429',
    example: 'without a delay header: throttling backoff',
    outcome: response(429),
    expected: idempotentOnly({ action: 'retry', breaker: 'ignore', reason: 'throttled', throttled: true }),
  },
  {
    row: '500',
    example: '500',
    outcome: response(500),
    expected: same({ action: 'return', breaker: 'failure', reason: 'server-error' }),
  },
  {
    row: '501',
    example: '501',
    outcome: response(501),
    expected: same({ action: 'return', breaker: 'ignore', reason: 'permanent' }),
  },
  ...[502, 503, 504].map((status) => ({
    row: '502 503 504',
    example: String(status),
    outcome: response(status),
    expected: idempotentOnly({ action: 'retry', breaker: 'failure', reason: 'transient-status' }),
  })),
  ...(
    [
      ['reset', 'ECONNRESET'],
      ['refused', 'ECONNREFUSED'],
      ['DNS', 'ENOTFOUND'],
      ['socket', 'UND_ERR_SOCKET'],
    ] as const
  ).map(([label, code]) => ({
    row: 'network error (reset, refused, DNS, socket)',
    example: `${label}: fetch failed, cause ${code}`,
    outcome: thrown(new TypeError('fetch failed', { cause: coded(label, code) })),
    expected: idempotentOnly({
      action: 'retry',
      breaker: 'failure',
      reason: 'network-error',
      errorKind: 'network',
      errorCode: code,
    }),
  })),
  {
    row: 'network error (reset, refused, DNS, socket)',
    example: "browser: TypeError('Failed to fetch')",
    outcome: thrown(new TypeError('Failed to fetch')),
    expected: idempotentOnly({
      action: 'retry',
      breaker: 'failure',
      reason: 'network-error',
      errorKind: 'network',
    }),
  },
  {
    row: 'attempt timeout',
    example: "DOMException 'TimeoutError'",
    outcome: thrown(new DOMException('The operation timed out.', 'TimeoutError')),
    expected: idempotentOnly({
      action: 'retry',
      breaker: 'failure',
      reason: 'timeout',
      errorKind: 'timeout',
    }),
  },
  {
    row: "caller's abort",
    example: "DOMException 'AbortError'",
    outcome: thrown(new DOMException('This operation was aborted', 'AbortError')),
    callerAborted: true,
    expected: same({ action: 'return', breaker: 'ignore', reason: 'aborted', errorKind: 'abort' }),
  },
  {
    row: "caller's abort",
    example: 'a custom abort reason',
    outcome: thrown('user navigated away'),
    callerAborted: true,
    expected: same({ action: 'return', breaker: 'ignore', reason: 'aborted', errorKind: 'abort' }),
  },
];

describe('default outcome table (docs/architecture.md)', () => {
  const rowNames = [...new Set(rows.map((r) => r.row))];
  for (const row of rowNames) {
    const cases = rows.filter((r) => r.row === row);
    describe(row, () => {
      for (const { example, outcome, callerAborted, expected } of cases) {
        for (const [label, request] of Object.entries(requests) as [keyof Expected, RequestFacts][]) {
          it(`${example} — ${label}`, () => {
            const ctx = callerAborted === undefined ? context : { ...context, callerAborted };
            expect(classify(outcome, request, DEFAULT_POLICY, ctx)).toEqual(expected[label]);
          });
        }
      }
    });
  }
});
