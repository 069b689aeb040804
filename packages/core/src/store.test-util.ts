import type { BreakwaterStore, StoreClosure, StoreListener } from './store.ts';

/**
 * Several "instances" of one process sharing state the way a fleet shares it through a store, held in
 * memory: for the core's tests of the store hooks, under fake timers. The Redis store is tested
 * against a real redis-server in packages/redis.
 */
export function fleetStore(): { instance(): BreakwaterStore; setUp(up: boolean): void } {
  const closures = new Map<string, { until: number; strict: boolean }[]>();
  const leases = new Map<string, number>();
  const members: { listeners: StoreListener[] }[] = [];
  let up = true;
  return {
    setUp(value) {
      up = value;
      for (const { listeners } of members) for (const l of listeners) l.status(value);
    },
    instance() {
      const self = { listeners: [] as StoreListener[] };
      members.push(self);
      return {
        shared: true,
        get up() {
          return up;
        },
        closeUntil(key, ms, strict) {
          closures.set(key, [...(closures.get(key) ?? []), { until: Date.now() + ms, strict }]);
          for (const member of members) {
            if (member !== self) for (const l of member.listeners) l.closed(key, ms, strict);
          }
        },
        closures(key): StoreClosure[] {
          const now = Date.now();
          return (closures.get(key) ?? [])
            .filter((c) => c.until > now)
            .map((c) => ({ ms: c.until - now, strict: c.strict }));
        },
        tryLease(key, ms) {
          const now = Date.now();
          const held = (leases.get(key) ?? 0) - now;
          if (held > 0) return held;
          leases.set(key, now + ms);
          return true;
        },
        probeClosed(key) {
          for (const member of members) {
            if (member !== self) for (const l of member.listeners) l.probeClosed(key);
          }
        },
        attach(listener) {
          self.listeners.push(listener);
        },
      };
    },
  };
}
