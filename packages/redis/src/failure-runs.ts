import { type FleetCounter, fleetRunOpens } from '@breakwater/core';
import { addBounded, touch } from './bounded.ts';

/** What the store publishes on `<prefix>runs`: the run of consecutive failures of `from` on `key`. */
interface RunMessage {
  readonly key: string;
  readonly from: string;
  readonly run: number;
}

/** One other instance's run on a key, and when it was heard (this instance's clock: an age, no instant). */
interface Heard {
  run: number;
  at: number;
}

/**
 * The fleet's runs of consecutive failures, per key: this instance's told to the others on each change
 * (a failure of its breaker, the success that ends a run), fire and forget; the others' kept as heard.
 * A healthy call changes no run, so it sends nothing.
 */
export class FailureRunBook {
  private readonly id: string;
  private readonly publish: (raw: string) => void;
  private readonly instances: (key: string) => number;
  private readonly byKey = new Map<string, Map<string, Heard>>();

  constructor(id: string, publish: (raw: string) => void, instances: (key: string) => number) {
    this.id = id;
    this.publish = publish;
    this.instances = instances;
  }

  /**
   * `counter`, the breaker's fleet counter of `key`, with the runs added (`run`, `opens`); runs heard
   * more than `maxAgeMs` ago are left out (an instance that stopped calling).
   */
  withRuns(counter: FleetCounter, key: string, maxAgeMs: number): FleetCounter {
    const heard = this.watch(key);
    return {
      add: (name) => counter.add(name),
      others: () => counter.others(),
      run: (run) => {
        // The breaker asked for this once, when built: its failures keep the key in use (and bring it
        // back if it was evicted meanwhile), so it goes on hearing the fleet's runs.
        if (touch(this.byKey, key) === undefined) addBounded(this.byKey, key, heard);
        this.publish(JSON.stringify({ key, from: this.id, run } satisfies RunMessage));
      },
      opens: (own, threshold) => {
        const since = Date.now() - maxAgeMs;
        const others: number[] = [];
        for (const { run, at } of heard.values()) if (at >= since) others.push(run);
        return fleetRunOpens(own, others, this.instances(key), threshold);
      },
    };
  }

  /** A message from the runs channel; another version's or garbage is skipped. */
  onMessage(raw: string): void {
    let message: Partial<RunMessage>;
    try {
      message = JSON.parse(raw) as Partial<RunMessage>;
    } catch {
      return;
    }
    const { key, from, run } = message ?? {};
    if (typeof key !== 'string' || typeof from !== 'string' || typeof run !== 'number') return;
    if (from === this.id) return;
    const heard = this.byKey.get(key);
    // Only the keys in use here are kept: another instance's keys are not this one's memory to spend.
    if (heard === undefined) return;
    if (run > 0) heard.set(from, { run, at: Date.now() });
    else heard.delete(from);
  }

  /**
   * Redis went down: runs heard before grow stale and are forgotten, so the local rule decides alone.
   * A run heard after it came through Redis, so it counts: a store marked down by one slow answer
   * (a loaded machine) keeps the fleet's rule, a Redis really down delivers nothing.
   */
  forget(): void {
    for (const heard of this.byKey.values()) heard.clear();
  }

  private watch(key: string): Map<string, Heard> {
    return this.byKey.get(key) ?? addBounded(this.byKey, key, new Map<string, Heard>());
  }
}
