import type { RedisClientLike } from './options.ts';
import { CLOSE, COUNT, FREE, LEASE, READ } from './scripts.ts';

const NOSCRIPT: unique symbol = Symbol('NOSCRIPT');

/**
 * The store's commands to Redis, each bounded by `timeoutMs` (of this process's time: a timer that
 * fired late is given one more), and whether Redis is up: a command that times out or fails marks it down, the next answer marks it up again (`onStatus` is told of both).
 * While down, only the refresh's commands (`probing`) ask Redis anything, so a call waits for a dead
 * Redis at most once, for one timeout.
 */
export class RedisConnection {
  up = true;
  private readonly client: RedisClientLike;
  private readonly timeoutMs: number;
  private readonly onStatus: (up: boolean) => void;
  private readonly shas = new Map<string, string>();

  constructor(client: RedisClientLike, timeoutMs: number, onStatus: (up: boolean) => void) {
    this.client = client;
    this.timeoutMs = timeoutMs;
    this.onStatus = onStatus;
  }

  /** Loads the scripts once (`SCRIPT LOAD`), so that they run by SHA. */
  async loadScripts(): Promise<void> {
    for (const script of [CLOSE, LEASE, READ, COUNT, FREE]) {
      const sha = await this.command<string>(['SCRIPT', 'LOAD', script], true);
      if (sha !== undefined) this.shas.set(script, sha);
    }
  }

  /** Runs a script by its SHA (loaded once); a Redis that lost its script cache gets it sent again. */
  async script<T>(script: string, keys: string[], args: string[], probing = false): Promise<T | undefined> {
    const sha = this.shas.get(script);
    const count = String(keys.length);
    if (sha !== undefined) {
      const sent = await this.send<T>(['EVALSHA', sha, count, ...keys, ...args], probing);
      if (sent !== NOSCRIPT) return sent;
      this.shas.delete(script);
      void this.loadScripts();
    }
    const sent = await this.send<T>(['EVAL', script, count, ...keys, ...args], probing);
    return sent === NOSCRIPT ? undefined : sent;
  }

  /** One command: its reply, or undefined when Redis did not answer in time (or is down). */
  async command<T>(args: string[], probing = false): Promise<T | undefined> {
    const sent = await this.send<T>(args, probing);
    return sent === NOSCRIPT ? undefined : sent;
  }

  /**
   * One command, bounded by `timeoutMs`: undefined when Redis does not answer in time or fails (the
   * store is then down), NOSCRIPT when Redis lacks a script.
   */
  private async send<T>(args: string[], probing: boolean): Promise<T | typeof NOSCRIPT | undefined> {
    if (!this.up && !probing) return undefined;
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      const arm = (again: boolean): void => {
        const due = Date.now() + this.timeoutMs;
        timer = setTimeout(() => {
          // A process busy past the timeout (a start-up, a CPU burst: the bench fleet's runs saw 2 to
          // 5 `store-down` each as their instances started) ran its timer late, maybe before it even
          // sent the command (node-redis writes in the next turn): Redis gets the timeout again from
          // now, of this process's time. Redis is down only if it did not answer then.
          if (!again && Date.now() - due > this.timeoutMs / 2) return arm(true);
          abort.abort(new Error('breakwater: Redis did not answer in time'));
          reject(abort.signal.reason);
        }, this.timeoutMs);
        (timer as { unref?: () => void }).unref?.();
      };
      arm(false);
    });
    try {
      const reply = await Promise.race([
        this.client.sendCommand<T>(args, { abortSignal: abort.signal }),
        late,
      ]);
      this.status(true);
      return reply;
    } catch (error) {
      const noscript = String((error as Error | undefined)?.message).startsWith('NOSCRIPT');
      this.status(noscript);
      return noscript ? NOSCRIPT : undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private status(up: boolean): void {
    if (this.up === up) return;
    this.up = up;
    this.onStatus(up);
  }
}
