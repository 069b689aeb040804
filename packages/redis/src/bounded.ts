import { DEFAULT_MAX_ENDPOINTS } from '@breakwater/core';

/**
 * Keys of a local view the store keeps, past which the oldest is forgotten: as many as the endpoints
 * a wrapped fetch keeps live (`maxEndpoints`' default), so the store forgets no key still in use there.
 */
export const MAX_WATCHED = DEFAULT_MAX_ENDPOINTS;

/** Sets `key` in `map`, then forgets the oldest entry while the map holds more than `max`. */
export function addBounded<K, V>(map: Map<K, V>, key: K, value: V, max = MAX_WATCHED): V {
  map.set(key, value);
  for (const oldest of map.keys()) {
    if (map.size <= max) break;
    map.delete(oldest);
  }
  return value;
}
