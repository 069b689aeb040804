import type { EndpointResolver } from '@breakwater/policies';
import type { BreakwaterEvent } from './events.ts';
import type { EndpointRegistry, LiveEndpoint } from './registry.ts';

/**
 * Holding an endpoint's breaker open by hand and closing it again, as cockatiel's `isolate()`,
 * Polly's `CircuitBreakerManualControl` or opossum's `open()`/`close()` do: for a planned maintenance
 * or a known incident. Addressed by endpoint key (what `breakers()` shows), so that an operator's tool
 * can act on what it reads there.
 */
export interface ManualControl {
  /**
   * Holds the breaker of endpoint `key` open by hand: every call to it is refused at once with
   * `BrokenCircuitError` (`state: 'isolated'`, `retryAfterMs: Infinity`), no attempt sent and no retry,
   * with no probe, until {@link ManualControl.reset}; `breakers()` shows it `isolated`, and the key is
   * never dropped by `maxEndpoints`. A key no call has used yet is isolated all the same, from its
   * first call on. Works with the breaker switched off too. Emits `isolate`; isolating an isolated
   * key does nothing (holds are not counted: one reset ends it).
   *
   * @param key an endpoint key as `breakers()` and events show it: `${rule name} ${origin}`, plus
   *   the partition for a rule with `keyHeader`.
   * @throws TypeError when `key` is not such a key (no rule of that name, no origin, a path after it, a
   *   partition the rule does not write: a misspelt header, one on a rule without keyHeader), naming the
   *   rules and the keys in use.
   */
  isolate(key: string): void;
  /**
   * Closes the breaker of endpoint `key` by hand, whether isolated or opened by failures, and clears
   * its counts: calls go through again. Emits `reset` with `byHand: true` when the breaker was not
   * closed; for a closed one, only its counts are cleared (no event).
   *
   * @throws TypeError when `key` is not an endpoint key, as {@link ManualControl.isolate}.
   */
  reset(key: string): void;
}

/** The manual control of a registry's endpoints, for keys of the resolver's rules. */
export function manualControl<T extends LiveEndpoint>(
  registry: EndpointRegistry<T>,
  resolver: EndpointResolver,
  emit: (event: BreakwaterEvent) => void,
): ManualControl {
  const check = (what: string, key: unknown): string => {
    const problem = keyProblem(key, resolver);
    if (problem === undefined) return key as string;
    const keys = registry.keys();
    throw new TypeError(
      `breakwater: ${what}(key): ${problem}; keys are '<rule> <origin>', and '<header>=<value>' after them for a rule with keyHeader (rules: ${ruleNames(resolver).join(', ')}; keys in use: ${keys.join(', ') || 'none'})`,
    );
  };
  return {
    isolate(key) {
      if (registry.isolate(check('isolate', key))) emit({ type: 'isolate', key, at: Date.now() });
    },
    reset(key) {
      if (registry.reset(check('reset', key))) emit({ type: 'reset', key, at: Date.now(), byHand: true });
    },
  };
}

function ruleNames(resolver: EndpointResolver): string[] {
  return [...resolver.rules.map((rule) => rule.name), 'default'];
}

/** Why `key` cannot be an endpoint key of `resolver`'s rules; undefined when it can. */
function keyProblem(key: unknown, resolver: EndpointResolver): string | undefined {
  if (typeof key !== 'string') return `not a string but ${typeof key}`;
  const [name = '', origin = '', partition, ...more] = key.split(' ');
  // The input is not echoed: a URL passed by mistake may carry a token in its query.
  if (!ruleNames(resolver).includes(name)) return 'no rule of that name';
  const url = URL.canParse(origin) ? new URL(origin) : undefined;
  // Only the origin, which holds no path, query or userinfo, is shown of what was given.
  if (url?.origin !== origin) return url ? originProblem(origin, url.origin) : 'no origin after the rule';
  return partitionProblem(resolver.rules.find((rule) => rule.name === name)?.keyHeader, partition, more);
}

/**
 * Why `given` is not the `origin` it parses to: more than an origin (a path, a query, userinfo: not
 * echoed), or the origin written otherwise than keys write it (`https://A.example`, `:443`, a Unicode
 * host), which was refused as "more than the origin" (audit s24).
 */
function originProblem(given: string, origin: string): string {
  const bare = !/[/?#@]/.test(given.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, ''));
  return bare
    ? `an origin written otherwise than keys write it: write '${origin}'`
    : `more than the origin ${origin}`;
}

/**
 * Why the part after the origin is not the partition of a rule partitioned by `header` (or none, for a
 * rule without one). Such a key matched no call: `breakers()` showed it isolated while its calls went
 * through (audit s24: a misspelt header, a partition on a rule without one, a trailing space). The
 * partition's value is not echoed: it may be a tenant's id or a credential's hash.
 */
function partitionProblem(
  header: string | undefined,
  partition: string | undefined,
  more: string[],
): string | undefined {
  if (header === undefined) {
    return partition === undefined
      ? undefined
      : 'more than the rule and the origin (the rule has no keyHeader)';
  }
  if (partition === undefined) return `no partition after the origin (the rule partitions by '${header}=')`;
  if (!partition.startsWith(`${header}=`) || more.length > 0) {
    return `a partition other than the rule's '${header}=' and its value`;
  }
  return undefined;
}
