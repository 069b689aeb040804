/**
 * `openTelemetry()`: breakwater's traces and metrics on the OpenTelemetry API. The entry point
 * `@breakwater/core/telemetry` is the only module that imports `@opentelemetry/api` (an optional peer):
 * `wrapFetch` itself only calls the hooks it is given, so an application that does not import this
 * module neither needs the API installed nor carries a byte of it in its bundle.
 */
import {
  type Attributes,
  createNoopMeter,
  type Meter,
  type MeterProvider,
  metrics,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { BreakwaterEvent } from '../events.ts';
import { outcomeAttributes, requestAttributes } from './attributes.ts';
import type { AttemptEnd, CallEnd, RequestLike, Telemetry, TelemetryHooks } from './hooks.ts';
import { Metrics } from './metrics.ts';
import { Spans } from './spans.ts';

/** The instrumentation scope of breakwater's tracer and meter. */
export const INSTRUMENTATION_SCOPE = '@breakwater/core';

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /**
   * Where the instruments are created. Default: the global one (`metrics.getMeterProvider()`), read when
   * `openTelemetry` is called: register the SDK's MeterProvider first. With no SDK registered the meter
   * is the API's no-op one, and breakwater then records nothing at all.
   */
  readonly meterProvider?: MeterProvider;
  /**
   * Where the spans are created. Default: the global one (`trace.getTracerProvider()`), a proxy that
   * follows a provider registered later. With no SDK registered every span is a no-op.
   */
  readonly tracerProvider?: TracerProvider;
}

/**
 * Telemetry for the `telemetry` option of `wrapFetch` (and `breakwaterKy`): a CLIENT span per attempt,
 * `http.client.request.duration`, `breakwater.call.duration`, the `breakwater.events` counter and the
 * per-endpoint gauges (see the README's Telemetry section for every instrument and attribute). One
 * value may serve several wrapped fetches. Telemetry never changes a call: a failure inside it is
 * swallowed.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): Telemetry {
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer(INSTRUMENTATION_SCOPE);
  const recorder = isNoop(meter) ? undefined : new Metrics(meter);
  const spans = new Spans(tracer);
  const request = requestAttributesCache();
  const hooks: TelemetryHooks = {
    event: guard((event: BreakwaterEvent) => {
      recorder?.event(event);
      spans.event(event);
    }),
    attempt(key, req, attempt) {
      try {
        const endSpan = spans.attempt(key, req, attempt);
        if (!endSpan && !recorder) return NOTHING;
        const started = performance.now();
        return guard((end: AttemptEnd) => {
          const outcome = outcomeAttributes(end.response?.status, end.verdict.errorKind);
          endSpan?.(outcome);
          recorder?.attempt({ ...request(key, req), ...outcome }, (performance.now() - started) / 1000);
        });
      } catch {
        return NOTHING;
      }
    },
    // Only a recording caller span can show the hold: otherwise the gate's promise is handed back as is.
    gate: (_key, pass) => (spans.parentRecording() ? heldAt(pass, spans) : pass()),
    call: (key, req, run) => (recorder ? measuredCall(key, req, run, recorder, request) : run()),
  };
  return {
    bind(endpoints) {
      recorder?.watch(endpoints);
      return hooks;
    },
  };
}

const NOTHING = (): void => {};

/** Runs `pass` and adds the hold, if the gate held the call, to the caller's span. */
async function heldAt<T extends { readonly held: boolean }>(
  pass: () => Promise<T>,
  spans: Spans,
): Promise<T> {
  const arrived = performance.now();
  const passed = await pass();
  // The gate says whether it held the call: a pass that merely took a while (a busy event loop) is no hold.
  if (passed.held) guard(() => spans.held(performance.now() - arrived))();
  return passed;
}

/** Runs `run` and records its duration, attempts and outcome in `breakwater.call.duration`. */
async function measuredCall<T extends CallEnd>(
  key: string,
  req: RequestLike,
  run: () => Promise<T>,
  recorder: Metrics,
  request: (key: string, req: RequestLike) => Attributes,
): Promise<T> {
  const started = performance.now();
  const tell = guard((attempts: number, status: number | undefined, errorType: string | undefined) =>
    recorder.call(
      { ...request(key, req), ...outcomeAttributes(status, errorType), 'breakwater.attempts': attempts },
      (performance.now() - started) / 1000,
    ),
  );
  try {
    const end = await run();
    const { response, error } = end.result;
    tell(end.attempts, response?.status, response ? undefined : nameOf(error));
    return end;
  } catch (error) {
    // Anything may be thrown (an abort reason of null, say): reading it must not replace it.
    const attempts = (error as { attempts?: unknown } | null | undefined)?.attempts;
    tell(typeof attempts === 'number' ? attempts : 0, undefined, nameOf(error));
    throw error;
  }
}

/** Most endpoint keys whose attributes are kept (the default `maxEndpoints`); past it the cache starts over. */
const MAX_CACHED_KEYS = 1000;

/**
 * `requestAttributes`, built once per endpoint key and method: the key holds the origin, so server
 * address and port follow from it, and the histograms record on every attempt.
 */
function requestAttributesCache(): (key: string, req: RequestLike) => Attributes {
  // Keyed by key, then method: no string is built per lookup.
  const cache = new Map<string, Map<string, Attributes>>();
  return (key, req) => {
    let byMethod = cache.get(key);
    if (!byMethod) {
      if (cache.size >= MAX_CACHED_KEYS) cache.clear();
      byMethod = new Map();
      cache.set(key, byMethod);
    }
    let attributes = byMethod.get(req.method);
    if (!attributes) {
      attributes = requestAttributes(key, req);
      byMethod.set(req.method, attributes);
    }
    return attributes;
  };
}

/** `error.type` of a call that ended on an error: its class's name (`BrokenCircuitError`, `TypeError`). */
function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : '_OTHER';
}

/** The API's no-op meter (no SDK registered): recording on it would only cost the attribute objects. */
function isNoop(meter: Meter): boolean {
  return meter.constructor === createNoopMeter().constructor;
}

/** `fn`, made unable to throw: telemetry must never change the outcome of a call. */
function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args);
    } catch {
      // An SDK's failure is its own; the call goes on.
    }
  };
}
