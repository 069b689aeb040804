import type { Verdict } from '@breakwater/policies';
import type { BreakwaterEvent, GiveUpReason, RejectEvent, TimeoutEvent } from './events.ts';

/** What an event tells of an outcome: its verdict, and its status when it was a response. */
export interface Told {
  readonly verdict: Verdict;
  readonly response?: { readonly status: number } | undefined;
}

/** The call an event is about, as events tell it: its resume count, for a resume's call. */
export interface EventCall {
  readonly resume?: number | undefined;
}

/** `event`, marked with the resume count of a resume's `call`; as it is for any other call. */
export function ofCall<E extends BreakwaterEvent>(event: E, call: EventCall | undefined): E {
  return call?.resume === undefined ? event : { ...event, resume: call.resume };
}

type Type = BreakwaterEvent['type'];
/** What an event of `type` says beside its type, key and time. */
type Fields<T extends Type> = Omit<Extract<BreakwaterEvent, { type: T }>, 'type' | 'key' | 'at'>;

/**
 * Builds the events of one endpoint key: each carries the key and the time it happened, so the code
 * that reports says only what happened (`report.retry(...)`). Delivery is the emitter's (a listener that
 * throws never breaks the call). Breaker events (break, half-open, reset, circuit-open rejects) are the
 * breaker's own.
 */
export class Reporter {
  readonly key: string;
  /** False when nobody listens: events that cost work to build (the attempt's redacted URL) are skipped. */
  readonly listening: boolean;
  /** Emits an event built whole by its caller (the attempt event, built on every call). */
  readonly emit: (event: BreakwaterEvent) => void;

  constructor(key: string, emit: (event: BreakwaterEvent) => void, listening: boolean) {
    this.key = key;
    this.emit = emit;
    this.listening = listening;
  }

  /**
   * Emits an event of `type`, stamped with the key, the time now (unless `at` is given) and, for a
   * resume's `call`, its resume count.
   */
  send<T extends Type>(type: T, fields: Fields<T>, at = Date.now(), call?: EventCall): void {
    this.emit(ofCall({ type, key: this.key, at, ...fields } as Extract<BreakwaterEvent, { type: T }>, call));
  }

  /** Another attempt, number `attempt`, follows `result` after `delayMs`. */
  retry(
    result: Told,
    attempt: number,
    delayMs: number,
    delaySource: 'server' | 'backoff',
    call?: EventCall,
  ): void {
    const fields = { attempt, delayMs, delaySource, reason: result.verdict.reason, ...statusOf(result) };
    this.send('retry', fields, undefined, call);
  }

  /** `result` is handed back after `attempts` attempts though a retry (or a server delay) called for more. */
  giveUp(result: Told, attempts: number, reason: GiveUpReason, detail?: string, call?: EventCall): void {
    const { errorKind, delayMs } = result.verdict;
    this.send(
      'give-up',
      {
        attempts,
        reason,
        ...statusOf(result),
        ...(errorKind ? { errorKind } : {}),
        ...(delayMs !== undefined ? { delayMs } : {}),
        ...(detail ? { detail } : {}),
      },
      undefined,
      call,
    );
  }

  reject(cause: RejectEvent['cause'], retryAfterMs?: number, call?: EventCall): void {
    this.send('reject', { cause, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }, undefined, call);
  }

  timeout(scope: TimeoutEvent['scope'], timeoutMs: number, attempt: number, call?: EventCall): void {
    this.send('timeout', { scope, timeoutMs, attempt }, undefined, call);
  }
}

/** The status of a result's Response, as events carry it. */
function statusOf(result: Told): { status?: number } {
  return result.response ? { status: result.response.status } : {};
}
