import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { wrapFetch } from '@breakwater/core';
import { expect, it } from 'vitest';
import { redisStore } from './redis-store.ts';
import { useRedis } from './use-redis.test-util.ts';

// An app may make a wrapped fetch per tenant or per job and drop it, all sharing one store. The store
// kept every wrapped fetch's listener, and with it its endpoints, pipelines and the fetch it wraps,
// for the store's life (and told each of them every closure of the fleet).

setFlagsFromString('--expose_gc');
const gc = runInNewContext('gc') as () => void;
const redis = useRedis();

/** Makes a wrapped fetch on `store`, calls it once and drops it; the fetch it wrapped is watched. */
async function useAndDrop(store: ReturnType<typeof redisStore>, n: number): Promise<WeakRef<object>> {
  const inner = async (): Promise<Response> => new Response('ok');
  const fetch = wrapFetch(inner, { store });
  await (await fetch(`https://tenant${n}.example.com/`)).text();
  return new WeakRef(inner);
}

it('does not keep the wrapped fetches the app dropped', async () => {
  const store = redisStore({ client: redis.client, prefix: 'dropped:' });
  try {
    const watched: WeakRef<object>[] = [];
    for (let n = 0; n < 20; n++) watched.push(await useAndDrop(store, n));
    // A WeakRef keeps its target until the end of the job that made or read it: collect after it.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      gc();
    }
    expect(watched.filter((ref) => ref.deref() !== undefined)).toHaveLength(0);
  } finally {
    await store.close();
  }
});

it('forgets the listeners of dropped wrapped fetches on a quiet store, not only when it has news', async () => {
  const store = redisStore({ client: redis.client, prefix: 'quiet:' });
  // No message, closure or status change comes: nothing walks the listeners to tell them one.
  const attachDropped = (n: number): void => {
    for (let i = 0; i < n; i++) store.attach({ closed: () => {}, probeClosed: () => {}, status: () => {} });
  };
  try {
    for (let batch = 0; batch < 50; batch++) {
      attachDropped(100);
      await new Promise((resolve) => setTimeout(resolve, 0));
      gc();
    }
    const held = (store as unknown as { listeners: Set<WeakRef<object>> }).listeners;
    // 5000 attached and collected: one dead ref each was kept before.
    expect(held.size).toBeLessThan(500);
  } finally {
    store.close();
  }
  // 50 full collections, a heap walk each: the default 5 s is their time on an idle machine, not on a
  // loaded one (3 runs in 3 timed out at 5.1 s with two cores busy). Nothing here is timed.
}, 60_000);
