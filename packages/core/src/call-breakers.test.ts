import { ConfigError } from '@breakwater/policies';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createEndpointBreakers } from './call-breakers.ts';
import { outcomeOfError } from './call-outcome.ts';
import { BrokenCircuitError } from './errors.ts';
import type { BreakwaterEvent } from './events.ts';
import { HttpError } from './http-error.ts';

const target = { method: 'GET', url: 'https://api.example.com/v1/customers' };

function statusError(statusCode: number, headers: Record<string, string> = {}): Error {
  return Object.assign(new Error(`failed with ${statusCode}`), { statusCode, headers });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createEndpointBreakers', () => {
  it('settles as the call does and counts by the outcome table', async () => {
    const breakers = createEndpointBreakers();
    await expect(breakers.run(target, () => 'value')).resolves.toBe('value');
    const notFound = statusError(404);
    await expect(breakers.run(target, () => Promise.reject(notFound))).rejects.toBe(notFound);
    await expect(breakers.run(target, () => Promise.reject(statusError(503)))).rejects.toThrow('503');
    // 200 and 404 are successes (the server answered), 503 a failure.
    expect(breakers.breakers()).toMatchObject([{ calls: 3, failures: 1, consecutiveFailures: 1 }]);
  });

  it('does not count throttling (429) or errors it does not recognise', async () => {
    const breakers = createEndpointBreakers();
    await breakers.run(target, () => Promise.reject(statusError(429))).catch(() => {});
    await breakers.run(target, () => Promise.reject(new Error('a bug'))).catch(() => {});
    expect(breakers.breakers()).toMatchObject([{ calls: 0, failures: 0 }]);
  });

  it('opens, refuses without calling, lets one probe through after halfOpenAfterMs, and closes on success', async () => {
    vi.useFakeTimers();
    const events: BreakwaterEvent['type'][] = [];
    const breakers = createEndpointBreakers({
      policy: { breaker: { consecutiveFailures: 2, halfOpenAfterMs: 1_000 } },
      onEvent: (e) => events.push(e.type),
    });
    for (let i = 0; i < 2; i++)
      await breakers.run(target, () => Promise.reject(statusError(500))).catch(() => {});
    const call = vi.fn(() => 'ok');
    const refused = await breakers.run(target, call).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(BrokenCircuitError);
    expect(refused).toMatchObject({
      state: 'open',
      retryAfterMs: 1_000,
      endpoint: 'default https://api.example.com',
    });
    expect(call).not.toHaveBeenCalled();

    await vi.advanceTimersByTimeAsync(1_000);
    let release: (value: string) => void = () => {};
    const probe = breakers.run(target, () => new Promise<string>((resolve) => (release = resolve)));
    // While the probe is in flight, other calls fail fast rather than queue behind it.
    await expect(breakers.run(target, call)).rejects.toMatchObject({ state: 'half-open' });
    release('back');
    await expect(probe).resolves.toBe('back');
    expect(breakers.breakers()).toMatchObject([{ state: 'closed' }]);
    expect(events).toEqual(['break', 'reject', 'half-open', 'reject', 'reset']);
  });

  it('keys breakers by rule name and origin', async () => {
    const breakers = createEndpointBreakers({ endpoints: [{ name: 'orders', match: 'POST */v1/orders' }] });
    await breakers.run({ method: 'post', url: 'https://a.example.com/v1/orders' }, () => 1);
    await breakers.run({ method: 'GET', url: 'https://a.example.com/v1/orders' }, () => 1);
    await breakers.run({ method: 'POST', url: 'https://b.example.com/v1/orders' }, () => 1);
    expect(breakers.breakers().map((b) => b.key)).toEqual([
      'orders https://a.example.com',
      'default https://a.example.com',
      'orders https://b.example.com',
    ]);
  });

  it('drops the least recently used idle closed breakers past maxEndpoints', async () => {
    const breakers = createEndpointBreakers({ maxEndpoints: 2 });
    for (const host of ['a', 'b', 'c'])
      await breakers.run({ method: 'GET', url: `https://${host}.example.com/` }, () => 1);
    expect(breakers.breakers().map((b) => b.key)).toEqual([
      'default https://b.example.com',
      'default https://c.example.com',
    ]);
  });

  it('rejects bad options and targets with precise errors', () => {
    expect(() => createEndpointBreakers({ maxEndpoints: 0 })).toThrow(ConfigError);
    expect(() => createEndpointBreakers({ policy: { breaker: { failureRatio: 2 } } })).toThrow(
      /failureRatio/,
    );
    const breakers = createEndpointBreakers();
    const noMethod = { url: 'https://a.example.com/' } as unknown as typeof target;
    expect(() => breakers.resolve(noMethod)).toThrow(/target\.method/);
  });
});

describe('outcomeOfError', () => {
  it('reads a status from HttpError, ky-style `response`, `status` and `statusCode`, with headers', async () => {
    const httpError = await HttpError.from(
      new Response('{}', { status: 503, headers: { 'retry-after': '2' } }),
    );
    const fromHttpError = outcomeOfError(httpError);
    expect(fromHttpError).toMatchObject({ kind: 'response', status: 503 });
    expect(fromHttpError.kind === 'response' && fromHttpError.headers.get('retry-after')).toBe('2');

    const kyStyle = { response: new Response(null, { status: 429 }) };
    expect(outcomeOfError(kyStyle)).toMatchObject({ kind: 'response', status: 429 });
    const plain = outcomeOfError(statusError(502, { 'Retry-After': '1', bad: 'a\nb' }));
    expect(plain.kind === 'response' && plain.headers.get('retry-after')).toBe('1');
    expect(outcomeOfError({ status: 404 })).toMatchObject({ kind: 'response', status: 404 });
  });

  it("reads the status an SDK keeps on its response's statusCode (got's HTTPError, an IncomingMessage)", () => {
    const got = Object.assign(new Error('Response code 503 (Service Unavailable)'), {
      name: 'HTTPError',
      response: { statusCode: 503, headers: { 'retry-after': '3' } },
    });
    const outcome = outcomeOfError(got);
    expect(outcome).toMatchObject({ kind: 'response', status: 503 });
    expect(outcome.kind === 'response' && outcome.headers.get('retry-after')).toBe('3');
  });

  it('keeps anything else as a thrown error', () => {
    const error = new TypeError('fetch failed');
    expect(outcomeOfError(error)).toEqual({ kind: 'error', error });
    expect(outcomeOfError({ status: 'bad' })).toMatchObject({ kind: 'error' });
    expect(outcomeOfError(null)).toEqual({ kind: 'error', error: null });
  });
});
