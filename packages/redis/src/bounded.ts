import { DEFAULT_MAX_ENDPOINTS } from '@breakwater/core';

/**
 * Keys of a local view the store keeps, past which the least recently used is forgotten: as many as
 * the endpoints a wrapped fetch keeps live (`maxEndpoints`' default). Several wrapped fetches on one
 * store can use more keys than that; the one evicted is then the one used longest ago.
 */
export const MAX_WATCHED = DEFAULT_MAX_ENDPOINTS;

/**
 * Sets `key` in `map` as its most recently used entry, then forgets the least recently used while the
 * map holds more than `max`, telling `evicted` of each one forgotten.
 */
export function addBounded<K, V>(
  map: Map<K, V>,
  key: K,
  value: V,
  max = MAX_WATCHED,
  evicted?: (value: V) => void,
): V {
  map.delete(key);
  map.set(key, value);
  for (const [oldest, old] of map) {
    if (map.size <= max) break;
    map.delete(oldest);
    evicted?.(old);
  }
  return value;
}

/** `key`'s entry, moved to the most recently used end of `map` (a Map iterates in insertion order). */
export function touch<K, V>(map: Map<K, V>, key: K): V | undefined {
  const value = map.get(key);
  if (value === undefined) return undefined;
  map.delete(key);
  map.set(key, value);
  return value;
}
