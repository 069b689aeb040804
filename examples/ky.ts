/**
 * The ky recipe: a ky instance whose requests go through breakwater. ky's own retry is off, so a
 * failing endpoint sees breakwater's attempts, not ky's times breakwater's; ky's hooks and HTTPError
 * work as before.
 *
 * Run: node --conditions=@breakwater/source examples/ky.ts
 */
import { breakwaterKy } from '@breakwater/core/ky';
import { partnerCenter } from '@breakwater/policies';
import { HTTPError } from 'ky';
import { seededRandom, startUpstream } from './upstream.ts';

const upstream = await startUpstream([
  {
    name: 'customers',
    path: '/v1/customers',
    phases: [{ at: 0, label: 'flaky', faults: [{ p: 0.3, status: 503 }] }],
  },
  { name: 'invoices', path: '/v1/invoices', phases: [{ at: 0, label: 'outage', down: true, status: 503 }] },
]);

const api = breakwaterKy({
  policy: partnerCenter({
    retry: { backoff: { initialDelayMs: 5, maxDelayMs: 20, throttleInitialDelayMs: 20 } },
  }),
  random: seededRandom(7),
  kyOptions: {
    baseUrl: `${upstream.origin}/v1/`,
    hooks: { beforeRequest: [({ request }) => void request.headers.set('authorization', 'Bearer <token>')] },
  },
});

try {
  const customers = [];
  for (let i = 0; i < 10; i++) customers.push(await api.get('customers').json());
  console.log(`customers: ${customers.length}/10 read through ky`);

  try {
    await api.get('invoices');
  } catch (error) {
    if (!(error instanceof HTTPError)) throw error;
    const { invoices } = upstream.counts();
    console.log(`invoices: ky HTTPError ${error.response.status} after ${invoices?.requests} requests`);
  }
  for (const b of api.breakers()) console.log(`breaker ${b.key.split(' ')[0]}: ${b.state}`);
} finally {
  await upstream.close();
}
