import type { Policy } from '@breakwater/policies';
import { type BreakerSnapshot, EndpointPipeline, type PipelineDeps } from './pipeline.ts';

/**
 * The live endpoint pipelines, built lazily per key and bounded: past `max` keys, the least recently
 * used pipelines whose breaker is closed and idle are dropped. An open or half-open breaker is never
 * dropped (forgetting it would send traffic to an upstream known to be down), so the bound can be
 * exceeded while more than `max` endpoints are failing at once.
 */
export class PipelineRegistry {
  private readonly pipelines = new Map<string, EndpointPipeline>();
  private readonly max: number;
  private readonly deps: PipelineDeps;
  private newest: string | undefined;

  constructor(max: number, deps: PipelineDeps) {
    this.max = max;
    this.deps = deps;
  }

  get(key: string, policy: Policy): EndpointPipeline {
    let pipeline = this.pipelines.get(key);
    // Most traffic goes to the key used last: it is already the most recent, nothing to reorder.
    if (pipeline && key === this.newest) return pipeline;
    if (pipeline) {
      // Map keeps insertion order: re-inserting marks the key as most recently used.
      this.pipelines.delete(key);
    } else {
      pipeline = new EndpointPipeline(key, policy, this.deps);
    }
    this.pipelines.set(key, pipeline);
    this.newest = key;
    if (this.pipelines.size > this.max) this.evict(key);
    return pipeline;
  }

  get size(): number {
    return this.pipelines.size;
  }

  snapshots(): BreakerSnapshot[] {
    return [...this.pipelines.values()].map((p) => p.snapshot());
  }

  private evict(keep: string): void {
    for (const [key, pipeline] of this.pipelines) {
      if (this.pipelines.size <= this.max) return;
      if (key !== keep && pipeline.evictable) this.pipelines.delete(key);
    }
  }
}
