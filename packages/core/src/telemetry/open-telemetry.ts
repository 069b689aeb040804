/**
 * `openTelemetry()`: breakwater's traces and metrics on the OpenTelemetry API. The entry point
 * `@breakwater/core/telemetry` is the only module that imports `@opentelemetry/api` (an optional peer):
 * `wrapFetch` itself only calls the hooks it is given, so an application that does not import this
 * module neither needs the API installed nor carries a byte of it in its bundle.
 */
import { type Check, checkOptions, describeValue, isToken, refuse, type Shape } from '@breakwater/policies';
import {
  type Attributes,
  createNoopMeter,
  type Meter,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  type Span,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import type { BreakwaterEvent } from '../events.ts';
import type { BreakerSnapshot } from '../types.ts';
import { AttributeCache, DEFAULT_KNOWN_METHODS, type EndpointAttributes } from './attributes.ts';
import type { AttemptEnd, CallEnd, RequestLike, Telemetry, TelemetryHooks } from './hooks.ts';
import { Metrics } from './metrics.ts';
import { held, Spans } from './spans.ts';

/** The instrumentation scope of breakwater's tracer and meter. */
export const INSTRUMENTATION_SCOPE = '@breakwater/core';

/** Options of {@link openTelemetry}. */
export interface OpenTelemetryOptions {
  /**
   * Where the instruments are created. Default: the global one (`metrics.getMeterProvider()`), read
   * when a wrapped fetch takes this telemetry if an SDK is registered by then, else at its first call
   * (or event), not when `openTelemetry` is called: an SDK registered after the wrapped fetch is built,
   * before its first call, is used. With no SDK registered by then the meter is the API's no-op one,
   * and breakwater records no metric.
   */
  readonly meterProvider?: MeterProvider | undefined;
  /**
   * Where the spans are created. Default: the global one (`trace.getTracerProvider()`), a proxy that
   * follows a provider registered at any time. While no SDK is registered there, breakwater makes no
   * span and adds no span event (not even to a caller's span from a provider of its own).
   */
  readonly tracerProvider?: TracerProvider | undefined;
  /**
   * The methods reported as themselves in `http.request.method` and span names, case-sensitive; any
   * other is `_OTHER` (span name `HTTP`, the method itself in the span's
   * `http.request.method_original`). Replaces the list, as the conventions'
   * `OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS` does: give `QUERY` (RFC 10008), or a WebDAV method, with
   * the ones you keep.
   *
   * @default the conventions' list: CONNECT, DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT, TRACE
   */
  readonly knownMethods?: readonly string[] | undefined;
}

/** The tracer's and meter's side, made at the first call: see {@link OpenTelemetryOptions.meterProvider}. */
interface Wiring {
  readonly spans: Spans;
  /** Undefined under the API's no-op meter: then no instrument is created and no attribute looked up. */
  readonly recorder: Metrics | undefined;
}

/**
 * Telemetry for the `telemetry` option of `wrapFetch` (and `breakwaterKy`, and
 * `createEndpointBreakers`): a CLIENT span per attempt, `http.client.request.duration`,
 * `breakwater.call.duration`, the `breakwater.events` counter and the per-endpoint gauges (see the
 * README's Telemetry section for every instrument and attribute). One value may serve several wrapped
 * fetches. Telemetry never changes a call: a failure inside it is swallowed. breakwater does not
 * inject `traceparent` (or any header): propagation is the wrapped fetch's instrumentation's.
 *
 * @throws ConfigError for an unknown option (the nearest known one suggested) or a provider without its
 *   `getTracer` / `getMeter` function, when called: a wrong provider would otherwise record nothing.
 */
export function openTelemetry(options: OpenTelemetryOptions = {}): Telemetry {
  // Checked now: a misspelt or wrong provider would otherwise record nothing, and say nothing.
  checkOptions(options, OPTIONS);
  const known = options.knownMethods ? new Set(options.knownMethods) : DEFAULT_KNOWN_METHODS;
  const attributes = new AttributeCache(known);
  // Endpoints bound before the first call, watched once the meter is known (weakly, as Metrics does).
  let bound: WeakRef<Endpoints>[] = [];
  let wiring: Wiring | undefined;
  const wired = (): Wiring => {
    if (wiring) return wiring;
    wiring = { spans: tracing(options, known), recorder: metering(options) };
    for (const ref of bound) {
      const endpoints = ref.deref();
      if (endpoints) wiring.recorder?.watch(endpoints);
    }
    bound = [];
    return wiring;
  };
  const hooks: TelemetryHooks = {
    active() {
      try {
        const { recorder, spans } = wired();
        return recorder !== undefined || spans.recording();
      } catch {
        return false;
      }
    },
    event(event: BreakwaterEvent) {
      try {
        const { recorder, spans } = wired();
        recorder?.event(event);
        spans.event(event);
      } catch {
        // An SDK's failure is its own; the call goes on.
      }
    },
    attempt(key, req, attempt, startedAt) {
      try {
        const { recorder, spans } = wired();
        const span = spans.start(req.method);
        if (!span && !recorder) return NOTHING;
        // Looked up once for the span and the histogram, and only when one of them records.
        const endpoint = attributes.of(key, req);
        if (span) spans.describe(span, endpoint.request, req.method, req.target ?? req.url, attempt);
        return attemptEnd(span, recorder && endpoint, spans, recorder, startedAt ?? performance.now());
      } catch {
        return NOTHING;
      }
    },
    gateWait(_key, pass) {
      // Only a recording caller span can show a hold; the hold is timed from now, in the caller's
      // context still: the gate's synchronous part took no wait.
      try {
        const parent = wired().spans.parent();
        return parent ? heldAt(pass, parent) : pass;
      } catch {
        return pass;
      }
    },
    callEnded(key, req, startedAt, end, error) {
      try {
        const { recorder } = wired();
        if (recorder) recordCall(recorder, attributes.of(key, req), startedAt, req, end, error);
      } catch {
        // An SDK's failure is its own; the call goes on.
      }
    },
  };
  return {
    bind(endpoints) {
      // A meter already known is connected now, so the gauges exist from the first call even where no
      // call hook runs (`createEndpointBreakers` calls only `event`); the global one, still the API's
      // no-op, waits for the first call, where an SDK registered meanwhile is used.
      if (!wiring && meterKnown(options)) wired();
      if (wiring) wiring.recorder?.watch(endpoints);
      else bound.push(new WeakRef(endpoints));
      return hooks;
    },
  };
}

/** A provider has its factory method: anything else would throw at the first call, inside telemetry's catch. */
const provider =
  (kind: string, method: string): Check =>
  (value, path) => {
    if (typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
      refuse(path, `must be a ${kind} (an object with a ${method} function), got ${describeValue(value)}`);
    }
  };

const methodNames: Check = (value, path) => {
  if (!Array.isArray(value)) refuse(path, `must be an array of method names, got ${describeValue(value)}`);
  value.forEach((method: unknown, i) => {
    if (typeof method !== 'string' || !isToken(method)) {
      refuse(`${path}[${i}]`, `must be a method name (an HTTP token), got ${describeValue(method)}`);
    }
  });
};

const OPTIONS: Shape = {
  meterProvider: provider('MeterProvider', 'getMeter'),
  tracerProvider: provider('TracerProvider', 'getTracer'),
  knownMethods: methodNames,
};

/** A wrapped fetch's live endpoints, as `bind` receives them. */
type Endpoints = () => readonly BreakerSnapshot[];

/**
 * The spans' side, on the tracer provider read now (the global one unless given). A provider that
 * throws is the application's to fix: its side records nothing, the other side still does.
 */
function tracing(options: OpenTelemetryOptions, known: ReadonlySet<string>): Spans {
  try {
    const { tracerProvider } = options;
    if (tracerProvider === undefined) return new Spans(globalTracer(), known);
    const tracer = tracerProvider.getTracer(INSTRUMENTATION_SCOPE);
    return new Spans(() => tracer, known);
  } catch {
    // No span, no span event.
    return new Spans(() => undefined);
  }
}

/** The metrics' side, on the meter provider read now (see {@link tracing}); undefined records nothing. */
function metering(options: OpenTelemetryOptions): Metrics | undefined {
  try {
    const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter(INSTRUMENTATION_SCOPE);
    return isNoop(meter) ? undefined : new Metrics(meter);
  } catch {
    return undefined;
  }
}

/** Whether the meter is there to connect: given, or an SDK registered globally (which stays registered). */
function meterKnown(options: OpenTelemetryOptions): boolean {
  if (options.meterProvider !== undefined) return true;
  try {
    return !isNoop(metrics.getMeterProvider().getMeter(INSTRUMENTATION_SCOPE));
  } catch {
    return true; // `metering` meets the same failure and keeps the calls going without metrics.
  }
}

/** How often (in asks) the global tracer provider is read again while none is found: see `globalTracer`. */
const REREAD = 64;

/** The no-op provider the API's global proxy hands out while no SDK is registered. */
const NO_SDK = new ProxyTracerProvider().getDelegate();

/**
 * The global tracer while an SDK is behind it, else undefined. The global provider is the API's
 * proxy, which takes an SDK registered at any time: asked per attempt, since a no-op span still costs
 * its making and the API's lookups of the active context (about 5 % of a call with nothing
 * registered, measured). While this copy's proxy has none, the global is read again every
 * {@link REREAD}th ask: an SDK registered through another install of the API (a version skew) is set
 * there, never as this proxy's delegate, and so is one registered after `trace.disable()` (a new
 * proxy). Not at every ask: the global is a symbol-keyed property of `globalThis`, about 50 ns a read,
 * 1 % of a call that records nothing.
 */
function globalTracer(): () => Tracer | undefined {
  let provider = trace.getTracerProvider();
  let tracer = provider.getTracer(INSTRUMENTATION_SCOPE);
  let asked = 0;
  return () => {
    if (!(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_SDK) return tracer;
    if (++asked % REREAD !== 0) return undefined;
    const current = trace.getTracerProvider();
    if (current === provider) return undefined;
    provider = current;
    tracer = current.getTracer(INSTRUMENTATION_SCOPE);
    return tracer;
  };
}

const NOTHING = (): void => {};

/** The end of an attempt (started at `started`, `performance.now()`): its span ended and its duration recorded, whichever of them is on. */
function attemptEnd(
  span: Span | undefined,
  endpoint: EndpointAttributes | undefined,
  spans: Spans,
  recorder: Metrics | undefined,
  started: number,
): (end: AttemptEnd) => void {
  return (end) => {
    try {
      const status = end.response?.status;
      const { errorKind } = end.verdict;
      if (span) spans.end(span, status, errorKind);
      if (recorder && endpoint) {
        recorder.attempt(endpoint.attempt(status, errorKind), (performance.now() - started) / 1000);
      }
    } catch {
      // An SDK's failure is its own; the call goes on.
    }
  };
}

/** Settles as `pass` does and adds the hold, if the gate held the call, to the caller's span `parent`. */
async function heldAt<T extends { readonly held: boolean }>(pass: Promise<T>, parent: Span): Promise<T> {
  const arrived = performance.now();
  const passed = await pass;
  // The gate says whether it held the call: a pass that merely took a while (a busy event loop) is no hold.
  if (passed.held) {
    try {
      held(parent, performance.now() - arrived);
    } catch {
      // An SDK's failure is its own; the call goes on.
    }
  }
  return passed;
}

/**
 * Records a call that ended on `end` (its attempts and last outcome) or rejected with `error`, in
 * `breakwater.call.duration`. A rejection whose error does not say its attempts is answered by
 * `request`'s count of the attempts started.
 */
function recordCall(
  recorder: Metrics,
  endpoint: EndpointAttributes,
  startedAt: number,
  request: RequestLike,
  end: CallEnd | undefined,
  error: unknown,
): void {
  let attributes: Attributes;
  if (end) {
    const status = end.result.response?.status;
    attributes = endpoint.call(
      end.attempts,
      status,
      status === undefined ? nameOf(end.result.error) : undefined,
    );
  } else {
    // Anything may be thrown (an abort reason of null, say): reading it must not replace it.
    const attempts = (error as { attempts?: unknown } | null | undefined)?.attempts;
    const sent = typeof attempts === 'number' ? attempts : (request.attempts ?? 0);
    attributes = endpoint.call(sent, undefined, nameOf(error));
  }
  recorder.call(attributes, (performance.now() - startedAt) / 1000);
}

/** `error.type` of a call that ended on an error: its class's name (`BrokenCircuitError`, `TypeError`). */
function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : '_OTHER';
}

/** The API's no-op meter (no SDK registered): recording on it would only cost the attribute objects. */
function isNoop(meter: Meter): boolean {
  return meter.constructor === createNoopMeter().constructor;
}
