import { addBounded, MAX_WATCHED } from './bounded.ts';
import type { RedisConnection } from './connection.ts';
import { FREE, LEASE } from './scripts.ts';

/**
 * The fleet's probe leases: the breaker's half-open probe (named by its key) and the gate's paced
 * recovery probe (`gate:<key>`), each `SET NX PX` in a script (`LEASE`) that answers the holder's
 * remaining `PTTL` when refused, so the refused instance does not ask again until it ends.
 */
export class ProbeLeases {
  private readonly connection: RedisConnection;
  private readonly prefix: string;
  private readonly id: string;
  /**
   * Local epoch ms until which another instance holds a lease: no need to ask again. An entry goes
   * when its lease ends (at the next ask), and the map keeps the most recent per key in use (two:
   * the breaker's and the gate's), so names asked for once do not pile up.
   */
  private readonly leasedElsewhere = new Map<string, number>();

  constructor(connection: RedisConnection, prefix: string, id: string) {
    this.connection = connection;
    this.prefix = prefix;
    this.id = id;
  }

  /**
   * True when this instance may probe (at once while Redis is down), else the holder's ms left.
   * `maxMs`, a breaker's longest wait: the lease follows the fleet's backoff (see `LEASE`).
   */
  tryLease(name: string, ms: number, maxMs?: number): true | number | Promise<true | number> {
    if (!this.connection.up) return true;
    const held = (this.leasedElsewhere.get(name) ?? 0) - Date.now();
    if (held > 0) return held;
    this.leasedElsewhere.delete(name);
    return this.lease(name, ms, maxMs);
  }

  /** The holder's probe ended (told by the fleet or seen here): the next one asks Redis again. */
  forget(name: string): void {
    this.leasedElsewhere.delete(name);
  }

  /**
   * Frees this instance's lease in Redis, so that the next probe need not wait for its expiry; a
   * lease that expired and was taken by another instance meanwhile stays that instance's.
   */
  free(name: string): void {
    this.forget(name);
    void this.connection.script(FREE, [this.key(name)], [this.id]);
  }

  /**
   * A probe of this instance closed the breaker of `name`: its lease is freed (the next opening need
   * not wait for it) and the fleet's backoff starts afresh.
   */
  closed(name: string): void {
    this.forget(name);
    void this.connection.script(FREE, [this.key(name), this.lastKey(name)], [this.id]);
  }

  private async lease(name: string, ms: number, maxMs?: number): Promise<true | number> {
    const keys = [this.key(name)];
    const args = [this.id, String(Math.ceil(ms))];
    if (maxMs !== undefined) {
      keys.push(this.lastKey(name));
      args.push(String(Math.ceil(Math.max(ms, maxMs))));
    }
    const reply = await this.connection.script<number>(LEASE, keys, args);
    // No answer in time: the local breaker (or gate) decides alone.
    if (reply === undefined || reply < 0) return true;
    addBounded(this.leasedElsewhere, name, Date.now() + reply, 2 * MAX_WATCHED);
    return reply;
  }

  private key(name: string): string {
    return `${this.prefix}probe:${name}`;
  }

  /**
   * The fleet's last breaker lease of `name`, in ms (the backoff's step). In the leases' key family (an
   * ACL that lists the families allows it already); ` last` is no lease's name: an endpoint key's third
   * part, when it has one, is `header=value`.
   */
  private lastKey(name: string): string {
    return `${this.prefix}probe:${name} last`;
  }
}
