/**
 * One CLIENT span per physical attempt (HTTP semantic conventions), a child of the caller's active
 * context; and the call's resilience events (waits, rejections, give-ups, breaker changes) as span
 * events on that same parent, since they happen between attempts, outside any attempt's span.
 * Attributes are built only for a span that records: with no SDK the cost is one no-op span.
 */
import { type Attributes, context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { BreakwaterEvent } from '../events.ts';
import { redactUrl } from '../redact.ts';
import { methodAttributes, ruleOf, serverAttributes } from './attributes.ts';
import type { RequestLike } from './hooks.ts';

export class Spans {
  private readonly tracer: Tracer;

  constructor(tracer: Tracer) {
    this.tracer = tracer;
  }

  /** Starts attempt number `attempt`'s span; the function returned ends it with the attempt's outcome. */
  /** Undefined when the span does not record (no SDK, or sampled out): there is nothing to end then. */
  attempt(
    key: string,
    { method, url }: RequestLike,
    attempt: number,
  ): ((outcome: Attributes) => void) | undefined {
    const methodAttrs = methodAttributes(method);
    // Semconv names an HTTP client span by its method, or `HTTP` when the method is not a known one.
    const name = methodAttrs['http.request.method'] === '_OTHER' ? 'HTTP' : method;
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT }, context.active());
    if (!span.isRecording()) return undefined;
    span.setAttributes({
      ...methodAttrs,
      ...serverAttributes(url),
      // userinfo and fragment dropped, every query value replaced
      'url.full': redactUrl(url),
      'breakwater.endpoint': ruleOf(key),
      ...(attempt > 1 ? { 'http.request.resend_count': attempt - 1 } : {}),
    });
    return (outcome) => {
      span.setAttributes(outcome);
      if (outcome['error.type'] !== undefined) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
  }

  /** True when the caller's active span records: only then do span events go anywhere. */
  parentRecording(): boolean {
    return trace.getActiveSpan()?.isRecording() === true;
  }

  /** Adds `event` to the caller's active span, when there is one that records. */
  event(event: BreakwaterEvent): void {
    if (!this.parentRecording()) return;
    const named = spanEventOf(event);
    if (named) addToActive(named[0], named[1], event.at);
  }

  /** The call waited `waitedMs` at the throttle gate. */
  held(waitedMs: number): void {
    addToActive('breakwater.wait', {
      'breakwater.wait.source': 'gate',
      'breakwater.wait.delay_ms': waitedMs,
    });
  }
}

function addToActive(name: string, attributes: Attributes, at?: number): void {
  const parent = trace.getActiveSpan();
  if (parent?.isRecording()) parent.addEvent(name, attributes, at);
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
