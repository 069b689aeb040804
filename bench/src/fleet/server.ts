/**
 * The one upstream a fleet run's instances share: a loopback HTTP server that follows a short script
 * (an outage of 500s, a token bucket with Retry-After, or 429 pulses on a second route) and records
 * every request with the instance that sent it, so the figures are counted where the load lands.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ATTEMPT_HEADER } from '../fault-server.ts';
import { errorPayload, type Payload, successPayload, throttledPayload } from '../payloads.ts';
import { RetryAfterLedger, TokenBucket } from '../throttle.ts';

/** Request header naming the instance (0-based) that sent the request. */
export const INSTANCE_HEADER = 'x-bench-instance';
/** The route the load runs on. */
export const MAIN_PATH = '/v1/customers';
/** The route of the Redis run's 429 pulses, apart from the load whose latency is measured. */
export const PULSE_PATH = '/v1/pulse';

/** What the upstream does; times in ms from the run's start. */
export interface FleetScript {
  /** The main route answers 500 to every request in [from, to). */
  readonly down?: { readonly from: number; readonly to: number };
  /** The main route is limited by one token bucket for the whole fleet, starting full. */
  readonly bucket?: { readonly perSecond: number; readonly burst: number };
  /**
   * From `firstAt`, every `everyMs`, the first pulse request gets a 429 with `Retry-After: retryAfterS`
   * (the others 200): a closure one instance learns, which the others respect only if it is shared.
   */
  readonly pulses?: { readonly firstAt: number; readonly everyMs: number; readonly retryAfterS: number };
}

/** One request as the server saw it. */
export interface FleetArrival {
  /** ms from the run's start. */
  readonly t: number;
  readonly instance: number;
  readonly route: 'main' | 'pulse';
  readonly status: number;
  /** It arrived during the script's outage. */
  readonly down: boolean;
  /** Attempt number within its logical call (1: first); 0 when the client did not say. */
  readonly attempt: number;
  /** It arrived inside a Retry-After window the bucket had announced (in-flight included). */
  readonly early: boolean;
}

/** A 429 pulse: given at `at` to `instance`, its window running until `until` (ms from the start). */
export interface Pulse {
  readonly at: number;
  readonly until: number;
  readonly instance: number;
}

export class FleetServer {
  readonly #server: Server;
  readonly #script: FleetScript;
  readonly #now: () => number;
  readonly #bucket: TokenBucket | undefined;
  readonly #ledger = new RetryAfterLedger();
  #startAt = 0;
  #nextPulse: number;
  readonly arrivals: FleetArrival[] = [];
  readonly pulses: Pulse[] = [];
  origin = '';

  private constructor(script: FleetScript, now: () => number) {
    this.#script = script;
    this.#now = now;
    this.#bucket = script.bucket ? new TokenBucket(script.bucket.perSecond, script.bucket.burst) : undefined;
    this.#nextPulse = script.pulses?.firstAt ?? Number.POSITIVE_INFINITY;
    this.#server = createServer({ keepAlive: true }, (req, res) => {
      const t = this.#now() - this.#startAt;
      const path = (req.url ?? '/').split('?')[0];
      const instance = Number(req.headers[INSTANCE_HEADER] ?? -1);
      const attemptValue = Number(req.headers[ATTEMPT_HEADER]);
      const attempt = Number.isInteger(attemptValue) && attemptValue > 0 ? attemptValue : 0;
      const answer =
        path === PULSE_PATH ? this.#pulse(t, instance) : path === MAIN_PATH ? this.#main(t) : undefined;
      if (!answer) {
        send(res, 404, errorPayload(404));
        return;
      }
      const route = path === PULSE_PATH ? 'pulse' : 'main';
      this.arrivals.push({ t, instance, route, status: answer.status, attempt, ...answer.seen });
      if (answer.retryAfterS !== undefined) res.setHeader('retry-after', String(answer.retryAfterS));
      send(res, answer.status, answer.payload);
    });
  }

  /** A server on 127.0.0.1, an ephemeral port; `now` is the clock every process of the run shares. */
  static async start(script: FleetScript, now: () => number): Promise<FleetServer> {
    const server = new FleetServer(script, now);
    await new Promise<void>((resolve) => server.#server.listen(0, '127.0.0.1', resolve));
    server.origin = `http://127.0.0.1:${(server.#server.address() as AddressInfo).port}`;
    return server;
  }

  /** The run's start (a `now()` value): the script is timed from it. */
  begin(at: number): void {
    this.#startAt = at;
  }

  /** Retry-After windows the bucket announced while none was running. */
  get coolDowns(): number {
    return this.#ledger.coolDowns;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  #main(t: number): Answer {
    const now = this.#now();
    const early = this.#ledger.check(now, undefined).early;
    const down = this.#script.down;
    const isDown = down !== undefined && t >= down.from && t < down.to;
    const seen = { down: isDown, early };
    if (isDown) return { status: 500, payload: errorPayload(500), seen };
    const admission = this.#bucket?.admit(now);
    if (admission?.throttled) {
      this.#ledger.give(now, admission.retryAfterS);
      const payload = throttledPayload(admission.retryAfterS);
      return { status: 429, payload, retryAfterS: admission.retryAfterS, seen };
    }
    return { status: 200, payload: successPayload('customers'), seen };
  }

  #pulse(t: number, instance: number): Answer {
    const seen = { down: false, early: false };
    const pulses = this.#script.pulses;
    if (!pulses || t < this.#nextPulse) return { status: 200, payload: successPayload('pulse'), seen };
    while (this.#nextPulse <= t) this.#nextPulse += pulses.everyMs;
    this.pulses.push({ at: t, until: t + pulses.retryAfterS * 1000, instance });
    return {
      status: 429,
      payload: throttledPayload(pulses.retryAfterS),
      retryAfterS: pulses.retryAfterS,
      seen,
    };
  }
}

interface Answer {
  readonly status: number;
  readonly payload: Payload;
  readonly retryAfterS?: number;
  readonly seen: { readonly down: boolean; readonly early: boolean };
}

function send(res: import('node:http').ServerResponse, status: number, payload: Payload): void {
  if (res.destroyed) return;
  res.statusCode = status;
  res.setHeader('content-type', payload.contentType);
  for (const [name, value] of Object.entries(payload.headers ?? {})) res.setHeader(name, value);
  res.end(payload.body);
}
