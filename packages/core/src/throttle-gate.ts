import type { Policy, Verdict } from '@breakwater/policies';
import { ClosingRule } from './closing-rule.ts';
import { ThrottledError } from './errors.ts';
import type { Reporter } from './reporter.ts';
import { sleep } from './sleep.ts';

/**
 * What a call learnt at the gate, shown again just before its request goes out: another caller's
 * response may have closed the gate between the call passing it and the send.
 */
export interface GatePass {
  /** True when the gate still lets this call's request out now. */
  letsThrough(): boolean;
}

/**
 * The throttle gate of one endpoint key. No JavaScript client shares what one caller was told with the
 * others: ky and undici honour Retry-After per call, cockatiel and p-retry not at all, so concurrent
 * callers keep sending into a cool-down. Here a server delay closes the gate for every call to the key,
 * and the calls that waited are released each at a random moment within `releaseSpreadMs` after the
 * gate opens, so the upstream does not meet them all in the same millisecond the cool-down ends.
 * Spreading (rather than releasing one call per fixed interval) never caps the endpoint's throughput
 * below what the callers offer, so a queue cannot build up behind the gate.
 *
 * The gate owns its state and its events (`throttled`, `gate-open`); which response closes it, for how
 * long and how strictly is its {@link ClosingRule}'s.
 */
export class ThrottleGate {
  private readonly policy: Pick<Policy, 'throttle' | 'retry'>;
  private readonly random: () => number;
  private readonly report: Reporter;
  private readonly rule: ClosingRule;
  private closedUntil = 0;
  /** The part of the closure that a 429 set: it holds every call, however long it has waited. */
  private strictUntil = 0;
  private announcedOpen = true;
  /** Calls waiting at the gate now. */
  waiting = 0;

  constructor(policy: Pick<Policy, 'throttle' | 'retry'>, random: () => number, report: Reporter) {
    this.policy = policy;
    this.random = random;
    this.report = report;
    this.rule = new ClosingRule(policy, random);
  }

  /** Epoch ms until which the gate is closed, or null when it is open. */
  get closedUntilMs(): number | null {
    return this.closedUntil > Date.now() ? this.closedUntil : null;
  }

  /**
   * Learns from a response (its status and the verdict classify gave it) after attempt `attempt`, and
   * closes the gate as the key's {@link ClosingRule} says. The `throttled` event reports what the server
   * asked for as sent, and why.
   */
  observe(
    response: { readonly status: number; readonly headers: Headers },
    verdict: Verdict,
    attempt: number,
  ): void {
    const closure = this.rule.decide(response, verdict, attempt);
    if (closure === undefined || !this.close(closure.closedForMs, closure.strict)) return;
    const { delayMs, closedForMs, source } = closure;
    const at = Date.now();
    this.report.send('throttled', { delayMs, until: at + closedForMs, status: response.status, source }, at);
  }

  /**
   * Closes the gate for `delayMs` from now (a later closure wins; an earlier one changes nothing).
   *
   * `strict` (a 429: the client is over its rate) holds every call until it ends. A non-strict closure
   * (a 503's Retry-After: the server says it is unavailable) holds each call at most once: a call
   * already released from the gate goes on even if another 503 closed it again meanwhile. A server
   * that puts Retry-After on a few percent of its 503s would otherwise keep the gate shut and starve
   * every caller (measured in the bench's `flap` scenario).
   * @returns true when this call moved the gate's reopening later.
   */
  close(delayMs: number, strict: boolean): boolean {
    const until = Date.now() + delayMs;
    if (strict) this.strictUntil = Math.max(this.strictUntil, until);
    if (until <= this.closedUntil) return false;
    this.closedUntil = until;
    this.announcedOpen = false;
    return true;
  }

  /**
   * Waits until the gate lets this call through. Rejects at once with ThrottledError, sending nothing,
   * when the call's release falls after its deadline; rejects with the signal's reason on abort.
   */
  async pass(signal: AbortSignal, deadlineAt: number): Promise<GatePass> {
    let now = Date.now();
    let waited = false;
    // A call released while another response closed the gate again waits for the new closure,
    // unless it has waited once already and the new closure is not a 429's.
    for (let until = this.until(waited); until > now; until = this.until(waited)) {
      const wakeAt = until + Math.floor(this.random() * this.policy.throttle.releaseSpreadMs);
      if (wakeAt > deadlineAt) {
        throw new ThrottledError({ endpoint: this.report.key, retryAfterMs: this.closedUntil - now });
      }
      await this.wait(wakeAt - now, signal);
      waited = true;
      now = Date.now();
    }
    if (!this.announcedOpen) {
      this.announcedOpen = true;
      this.report.send('gate-open', {});
    }
    return { letsThrough: () => this.until(waited) <= Date.now() };
  }

  /** When the gate opens for a call that has (or has not) waited once already; 0 when it is off. */
  private until(waited: boolean): number {
    if (!this.policy.throttle.enabled) return 0;
    return waited ? this.strictUntil : this.closedUntil;
  }

  private async wait(ms: number, signal: AbortSignal): Promise<void> {
    this.waiting++;
    try {
      await sleep(ms, signal);
    } finally {
      this.waiting--;
    }
  }
}
