/**
 * Node's `diagnostics_channel`: every event is published on `breakwater:<type>` (`breakwater:retry`,
 * `breakwater:break`, ...), the naming undici (`undici:request:create`) and other libraries follow, for
 * APM agents that subscribe without configuring breakwater. The module is reached through
 * `process.getBuiltinModule` (no static `node:` import, so browsers and other runtimes load nothing and
 * publish nothing), and an event is handed over only when its channel has subscribers.
 */
import type { BreakwaterEvent } from '../events.ts';

/** The part of a `diagnostics_channel` Channel used here. */
interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

type EventType = BreakwaterEvent['type'];

/** The channel name of events of `type`: `breakwater:` + the event's type. */
export function channelName(type: EventType): string {
  return `breakwater:${type}`;
}

let module: DiagnosticsChannel | null | undefined;
const channels: Partial<Record<EventType, Channel>> = {};

/** The channel of `type`, or undefined where the runtime has no `diagnostics_channel`. */
function channelOf(type: EventType): Channel | undefined {
  if (module === undefined) module = loadModule() ?? null;
  if (module === null) return undefined;
  channels[type] ??= module.channel(channelName(type));
  return channels[type];
}

interface DiagnosticsChannel {
  channel(name: string): Channel;
}

function loadModule(): DiagnosticsChannel | undefined {
  const { process } = globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } };
  return process?.getBuiltinModule?.('node:diagnostics_channel') as DiagnosticsChannel | undefined;
}

/** Publishes `event` on its channel when someone subscribes to it. A subscriber's throw is Node's to report. */
export function publish(event: BreakwaterEvent): void {
  const channel = channelOf(event.type);
  if (channel?.hasSubscribers) channel.publish(event);
}

/** True when someone subscribes to `breakwater:attempt` (the attempt event is only built for a listener). */
export function attemptSubscribed(): boolean {
  return channelOf('attempt')?.hasSubscribers === true;
}
