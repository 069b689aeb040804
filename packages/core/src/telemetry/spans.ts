/**
 * One CLIENT span per physical attempt (HTTP semantic conventions), a child of the caller's active
 * context; and the call's resilience events (waits, rejections, give-ups, breaker changes) as span
 * events on that same parent, since they happen between attempts, outside any attempt's span.
 * Attributes are built only for a span that records: with no SDK the cost is one no-op span.
 */
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  type SpanOptions,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { BreakwaterEvent } from '../events.ts';
import { redactUrl } from '../redact.ts';
import { DEFAULT_KNOWN_METHODS, errorTypeOf, spanNameOf } from './attributes.ts';

/** Shared by every attempt's span: a no-op tracer drops the options object it is given. */
const CLIENT: SpanOptions = { kind: SpanKind.CLIENT };
const ERROR = { code: SpanStatusCode.ERROR };

export class Spans {
  /** The tracer while an SDK is behind it, else undefined: no span is made at all then. */
  private readonly tracer: () => Tracer | undefined;
  /** The methods a span is named by; any other names it `HTTP`. */
  private readonly known: ReadonlySet<string>;

  constructor(tracer: () => Tracer | undefined, known = DEFAULT_KNOWN_METHODS) {
    this.tracer = tracer;
    this.known = known;
  }

  /** Whether an SDK is behind the tracer now: spans may record. */
  recording(): boolean {
    return this.tracer() !== undefined;
  }

  /**
   * Starts an attempt's span. Undefined when the span does not record (no SDK, or sampled out): there
   * is nothing to describe or end then, and no attribute is looked up.
   */
  start(method: string): Span | undefined {
    const tracer = this.tracer();
    if (!tracer) return undefined;
    const span = tracer.startSpan(spanNameOf(method, this.known), CLIENT, context.active());
    return span.isRecording() ? span : undefined;
  }

  /**
   * Gives attempt number `attempt`'s span its request attributes (`request`: the endpoint's, whose
   * method is semconv's; `method`: the request's own).
   */
  describe(span: Span, request: Attributes, method: string, url: URL | string, attempt: number): void {
    span.setAttributes(request);
    if (request['http.request.method'] !== method) span.setAttribute('http.request.method_original', method);
    // Redacted on every attempt, not kept per URL: each call brings a new URL object, and a WeakMap
    // entry per call cost more (insertion, and ephemerons for the GC) than redactUrl's fast path; a
    // cache keyed by the href would hold query tokens and userinfo where a heap dump shows them.
    span.setAttribute('url.full', redactUrl(url));
    if (attempt > 1) span.setAttribute('http.request.resend_count', attempt - 1);
  }

  /** Ends an attempt's span with its outcome. */
  end(span: Span, status: number | undefined, errorType: string | undefined): void {
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    const type = errorTypeOf(status, errorType);
    if (type !== undefined) {
      span.setAttribute('error.type', type);
      span.setStatus(ERROR);
    }
    span.end();
  }

  /**
   * The caller's active span when it records and an SDK is behind this tracer: with none (the global
   * provider before an SDK registers), breakwater adds no span event either, and skips the API's
   * context lookups on every call.
   */
  parent(): Span | undefined {
    return this.recording() ? recordingParent() : undefined;
  }

  /** Adds `event` to the caller's active span, when there is one that records. */
  event(event: BreakwaterEvent): void {
    const parent = this.parent();
    if (!parent) return;
    const named = spanEventOf(event);
    if (named) parent.addEvent(named[0], named[1], event.at);
  }
}

/** The caller's active span when it records (the context is read once): only then do span events go anywhere. */
function recordingParent(): Span | undefined {
  const parent = trace.getActiveSpan();
  return parent?.isRecording() ? parent : undefined;
}

/** The call waited `waitedMs` at the throttle gate: a wait event on `parent`. */
export function held(parent: Span, waitedMs: number): void {
  parent.addEvent('breakwater.wait', {
    'breakwater.wait.source': 'gate',
    'breakwater.wait.delay_ms': waitedMs,
  });
}

/** The span event of a breakwater event, or undefined for those spans already show (attempt, gate-open). */
function spanEventOf(event: BreakwaterEvent): [string, Attributes] | undefined {
  switch (event.type) {
    case 'retry':
      return [
        'breakwater.wait',
        {
          'breakwater.wait.source': event.delaySource,
          'breakwater.wait.delay_ms': event.delayMs,
          'breakwater.attempt': event.attempt,
          'breakwater.event.reason': event.reason,
        },
      ];
    case 'give-up':
      return [
        'breakwater.give_up',
        { 'breakwater.event.reason': event.reason, 'breakwater.attempts': event.attempts },
      ];
    case 'reject':
      return [
        'breakwater.reject',
        {
          'breakwater.event.reason': event.cause,
          ...(event.retryAfterMs === undefined ? {} : { 'breakwater.retry_after_ms': event.retryAfterMs }),
        },
      ];
    case 'timeout':
      return [
        'breakwater.timeout',
        { 'breakwater.event.reason': event.scope, 'breakwater.timeout_ms': event.timeoutMs },
      ];
    case 'throttled':
      return [
        'breakwater.throttled',
        { 'breakwater.wait.delay_ms': event.delayMs, 'http.response.status_code': event.status },
      ];
    case 'break':
      return ['breakwater.break', { 'breakwater.next_probe_at': event.nextProbeAt }];
    case 'half-open':
      return ['breakwater.half_open', {}];
    case 'reset':
      return ['breakwater.reset', {}];
    default:
      return undefined;
  }
}
