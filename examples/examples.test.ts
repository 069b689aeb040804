import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

/** Runs an example exactly as its header says, with the Node running the tests. */
async function example(name: string): Promise<string> {
  const file = fileURLToPath(new URL(`./${name}`, import.meta.url));
  const { stdout } = await run(process.execPath, ['--conditions=@breakwater/source', file], {
    timeout: 20_000,
  });
  return stdout;
}

describe('examples run and print what they promise', () => {
  it('partner-center.ts: flaky reads succeed, a 404 is parsed, a failing POST opens its breaker', async () => {
    const out = await example('partner-center.ts');
    expect(out).toMatch(/^customers: 20\/20 calls succeeded, in \d+ requests/m);
    expect(out).toContain('missing customer: HTTP 404, code 3000, 1 attempt');
    expect(out).toContain('order 3: HTTP 500 (not retried)');
    expect(out).toContain('order 4: refused, breaker open');
    expect(out).toContain('breaker orders: open');
    expect(out).toContain('breaker customers: closed');
  });

  it('ky.ts: reads through ky, ky throws HTTPError after breakwater’s 4 attempts (not multiplied)', async () => {
    const out = await example('ky.ts');
    expect(out).toContain('customers: 10/10 read through ky');
    expect(out).toContain('invoices: ky HTTPError 503 after 4 requests');
  });

  it('p-retry.ts: reads retried, an unkeyed create sent once, the breaker refuses once open', async () => {
    const out = await example('p-retry.ts');
    expect(out).toMatch(/^getCustomer: 5\/5 succeeded in \d+ requests/m);
    expect(out).toContain('createOrder: 503, sent 1 time');
    expect(out).toContain('createOrder with a key, through the breaker: SdkError 503');
    expect(out).toContain('createOrder with a key, through the breaker: BrokenCircuitError');
    expect(out).toContain('breaker orders: open');
  });

  it('telemetry.ts: the Prometheus scrape shows the attempt histogram, the resilience events and the breaker states', async () => {
    const out = await example('telemetry.ts');
    expect(out).toContain('customers: 10/10 succeeded');
    expect(out).toContain('orders: BrokenCircuitError');
    expect(out).toContain('spans: 17 attempts, 4 of them resends');
    const server = 'server_address="127.0.0.1",server_port="<port>"';
    expect(out).toContain(
      `http_client_request_duration_count{http_request_method="GET",${server},breakwater_endpoint="customers",http_response_status_code="503",error_type="503"} 4`,
    );
    expect(out).toContain(
      'breakwater_events_total{breakwater_event_name="retry",breakwater_endpoint="customers",breakwater_event_reason="transient-status"} 4',
    );
    expect(out).toContain(
      'breakwater_events_total{breakwater_event_name="break",breakwater_endpoint="orders"} 1',
    );
    expect(out).toContain(
      'breakwater_breaker_state{breakwater_endpoint="orders",breakwater_endpoint_key="orders http://127.0.0.1:<port>"} 2',
    );
  });
});
