import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import type { BreakwaterEvent } from './events.ts';
import { channelName } from './telemetry.ts';

/**
 * Every event type, hence every channel published on. A Record of the union: the typecheck refuses
 * this object as soon as a type is added to `BreakwaterEvent` (or removed) and not here.
 */
const EVENT_TYPES: Record<BreakwaterEvent['type'], true> = {
  attempt: true,
  retry: true,
  'give-up': true,
  break: true,
  'half-open': true,
  reset: true,
  isolate: true,
  reject: true,
  timeout: true,
  throttled: true,
  'gate-open': true,
  'rate-change': true,
  resume: true,
  hedge: true,
  'store-down': true,
  'store-up': true,
};

it("the README's diagnostics_channel paragraph lists every channel an event is published on, and no other", () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('**`diagnostics_channel`.**');
  expect(start).toBeGreaterThan(-1);
  const paragraph = readme.slice(start, readme.indexOf('\n\n', start));
  const listed = [...paragraph.matchAll(/`(breakwater:[a-z-]+)`/g)].map((m) => m[1]);
  const published = Object.keys(EVENT_TYPES).map((type) => channelName(type as BreakwaterEvent['type']));
  expect([...new Set(listed)].sort()).toEqual(published.sort());
});
