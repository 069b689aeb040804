import { type GateProbe, PROBE_WAIT_MS } from '@breakwater/core';

/** What a {@link FleetProbe} asks of the store. */
export interface FleetProbeHost {
  /** The fleet's probe lease for `ms`: true when this instance probes, else the ms the holder's runs. */
  lease(ms: number): true | number | Promise<true | number>;
  /** This instance's probe was accepted: tell the others, and free the lease. */
  accepted(): void;
}

/**
 * The probe of one key's paced recovery for a fleet: one request after a 429's cool-down for all the
 * instances, not one each. The core's probe (paced-release.ts) lets the first call out after the
 * cool-down go alone; here the first look after the cool-down asks for the fleet's lease first, holding
 * the calls meanwhile. The instance that gets it probes as the core's would; the others hold until the
 * prober's answer is heard ({@link FleetProbe.fleetAnswered}) or the lease ends, at most
 * `PROBE_WAIT_MS` as for a probe of their own. A probe that meets a 429 closes the gate fleet-wide
 * again (its closure is shared), so the others need no answer then.
 */
export class FleetProbe implements GateProbe {
  private readonly fleet: FleetProbeHost;
  private readonly kick: () => void;
  private armed = false;
  private asked = false;
  /** When the cool-down ends: the lease is asked for then, not before. */
  private reopensAt = 0;
  private holdUntil = 0;
  /** This instance's own probe is out (the hold is not for another instance's, nor for the lease). */
  private out = false;
  /** Moves on every arm and fleet answer: a lease answer that comes after either is void. */
  private round = 0;

  constructor(fleet: FleetProbeHost, kick: () => void) {
    this.fleet = fleet;
    this.kick = kick;
  }

  arm(reopensAt: number): void {
    this.armed = true;
    this.reopensAt = reopensAt;
    this.asked = false;
    this.round++;
  }

  take(now: number): boolean {
    if (!this.armed) return false;
    this.armed = false;
    this.out = true;
    this.holdUntil = now + PROBE_WAIT_MS;
    return true;
  }

  /** This instance's probe sent nothing: the next call out here probes, under the lease it still holds. */
  giveBack(): void {
    if (!this.out) return;
    // Past the bound, calls flow again: no new probe (as the lone process's Probe).
    const flowing = this.holdUntil <= Date.now();
    this.out = false;
    this.holdUntil = 0;
    if (!flowing) this.armed = true;
  }

  heldUntil(now: number): number {
    if (this.armed && !this.asked && now >= this.reopensAt) this.ask(now);
    return this.holdUntil > now ? this.holdUntil : 0;
  }

  get pending(): boolean {
    return this.armed || this.holdUntil > Date.now();
  }

  answer(accepted: boolean): boolean {
    // A response to a call sent before says nothing of another instance's probe.
    if (!this.out) return false;
    this.out = false;
    this.holdUntil = 0;
    if (accepted) this.fleet.accepted();
    return true;
  }

  /** Another instance's probe was accepted: no probe is due here, and the held calls go. */
  fleetAnswered(): void {
    if (this.out || (!this.armed && this.holdUntil === 0)) return;
    this.armed = false;
    this.holdUntil = 0;
    this.round++;
    this.kick();
  }

  private ask(now: number): void {
    this.asked = true;
    this.holdUntil = now + PROBE_WAIT_MS;
    const { round } = this;
    const answer = this.fleet.lease(PROBE_WAIT_MS);
    // An answer at once (the store is down: this instance decides alone) needs no kick: the queue is
    // looking now.
    if (typeof answer !== 'object') this.leased(answer, round, now);
    else void answer.then((late) => this.leased(late, round, Date.now()) && this.kick());
  }

  /** The lease's answer: probe here (the next call out is the probe), or hold for the holder's. */
  private leased(answer: true | number, round: number, now: number): boolean {
    if (round !== this.round) return false;
    if (answer === true) this.holdUntil = 0;
    else {
      this.armed = false;
      this.holdUntil = now + Math.min(answer, PROBE_WAIT_MS);
    }
    return true;
  }
}
