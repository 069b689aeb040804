import type { RedisClientLike } from './options.ts';
import { CLOSE, COUNT, FREE, LEASE, READ } from './scripts.ts';

const NOSCRIPT: unique symbol = Symbol('NOSCRIPT');

const SCRIPTS = [CLOSE, LEASE, READ, COUNT, FREE];

/** The cause told when the client says it has no connection to Redis. */
const DISCONNECTED = 'disconnected';

/** At most this much of a Redis error's message goes into a `store-down` event's cause. */
const CAUSE_CHARS = 200;

/**
 * A reply error about one key or channel, not about Redis nor the store's scripts: another app's key of
 * another type under the prefix (`WRONGTYPE`), or an ACL that keeps the user off a channel (a `PUBLISH`,
 * or one inside a script). Redis answered: marking the store down for it made the store flap down and
 * up at every refresh (each up lost the fleet's counts and runs) and left every other key local.
 */
const KEY_REFUSAL = /^WRONGTYPE |^NOPERM .*channel|^ERR .*can't publish to the channel/;

/** Distinct refusals told at most, so a Redis that varies its messages cannot grow the set for ever. */
const MAX_REFUSALS_TOLD = 32;

type EmitWarning = (warning: string, options: { code: string }) => void;

/**
 * The default report of a refusal: a process warning (an app can route it by its code), else the
 * console. Read from `globalThis`: the published code leans on no Node global's types.
 */
function warnRefused(cause: string): void {
  const warning =
    `breakwater: Redis refused a command for one of the store's keys or channels (${cause}); the store ` +
    'stays up, and that part (a fleet count, or the messages of a channel) runs on local state while it does';
  const { process } = globalThis as { process?: { emitWarning?: EmitWarning } };
  if (process?.emitWarning) process.emitWarning(warning, { code: 'BREAKWATER_REDIS_REFUSED' });
  else console.warn(warning);
}

/**
 * Why a command failed, for `store-down`: the error's message (a reply error's starts
 * with its code: `NOPERM`, `READONLY`, `ERR` for a Lua error; a `WRONGTYPE` of one key is told as a
 * process warning instead, see `replyError`), with the command's
 * arguments and any URL cut out: a script's error may quote what it was sent, and a connection
 * error the client's URL, password included.
 */
function causeOf(error: unknown, args: readonly string[]): string {
  const raw = error instanceof Error ? error.message || error.constructor.name : String(error);
  let cause = raw.replace(/\w+:\/\/\S*/g, '…');
  for (const arg of args.slice(1)) if (arg.length > 2) cause = cause.split(arg).join('…');
  return cause.slice(0, CAUSE_CHARS);
}

/**
 * The store's commands to Redis, each bounded by `timeoutMs` (of this process's time: a timer that
 * fired late is given one more), and whether Redis is up: a command that times out or fails marks it
 * down, with its cause (`onStatus` is told once per outage, with the cause that began it); an answer
 * marks it up again, except that while Redis refuses the scripts (an ACL without `EVALSHA`, a Lua
 * error) only a script's answer does: a `PING` or `PUBLISH` that passes says nothing of the commands
 * the store lives on, and taking it for recovery made such a store flap down and up at every refresh.
 * While down, only the refresh's commands (`probing`) ask Redis anything, so a call waits for a dead
 * Redis at most once, for one timeout; not at all when the client says it has no connection
 * (`isReady` false): the store is then down at once, cause `disconnected`. A refusal for one key or
 * channel (`WRONGTYPE`, a channel an ACL forbids) leaves the store as it is: the command answers
 * nothing, its part runs locally, and `onRefused` is told once per cause (default: a process warning,
 * `BREAKWATER_REDIS_REFUSED`).
 */
export class RedisConnection {
  up = true;
  /** The last script got a reply error: only a script's answer marks the store up. */
  private refused = false;
  private readonly client: RedisClientLike;
  private readonly timeoutMs: number;
  private readonly onStatus: (up: boolean, cause?: string) => void;
  private readonly shas = new Map<string, string>();
  /** The scripts' load in flight, if one is. */
  private loading: Promise<void> | undefined;
  private readonly onRefused: (cause: string) => void;
  /** The refusals told: each once for the store's life, since they do not come and go as outages do. */
  private readonly refusals = new Set<string>();
  /**
   * The client said it was ready once: only then does `isReady` false mean a lost connection. A client
   * still connecting when the store was built (its `connect()` not awaited) queues the commands and
   * answers them once connected; taken as down, it told a false `store-down` at every such start and
   * kept the store local until the next refresh (review s24 R, D2).
   */
  private seenReady = false;

  constructor(
    client: RedisClientLike,
    timeoutMs: number,
    onStatus: (up: boolean, cause?: string) => void,
    onRefused: (cause: string) => void = warnRefused,
  ) {
    this.client = client;
    this.timeoutMs = timeoutMs;
    this.onStatus = onStatus;
    this.onRefused = onRefused;
  }

  /**
   * An error a script answered for one of its keys or channels (COUNT's per key, CLOSE's `PUBLISH`),
   * `args` what the script was sent: a refusal for that key or channel is told once; anything else
   * (`OOM`, `READONLY` after a failover) is Redis's own trouble and marks the store down, as when a
   * command fails. One rule for both ways a refusal arrives, so that no outage passes for a key's.
   */
  replyError(error: string, args: readonly string[]): void {
    const cause = causeOf(error, ['', ...args]);
    if (KEY_REFUSAL.test(cause)) this.keyRefused(cause);
    else this.status(false, cause);
  }

  /**
   * A command outside the store's bounded ones failed (a `SUBSCRIBE`: the subscriber's own connection,
   * not raced against `timeoutMs`), `args` what it named. Redis's refusal of the channel (an ACL's
   * `NOPERM`) is told once per cause as a key's is; anything else (a lost connection, `LOADING`, `BUSY`)
   * is not: it is asked again at the next refresh, and the store's own commands tell an outage (review
   * s24 R: every reply error was told as a refused channel). `up` is left alone either way.
   */
  partRefused(error: unknown, args: readonly string[]): void {
    const cause = causeOf(error, ['', ...args]);
    if (KEY_REFUSAL.test(cause)) this.keyRefused(cause);
  }

  /** Redis refused one key or channel (`cause` cut of keys and URLs): told once per cause. */
  private keyRefused(cause: string): void {
    if (this.refusals.has(cause) || this.refusals.size >= MAX_REFUSALS_TOLD) return;
    this.refusals.add(cause);
    this.onRefused(cause);
  }

  /**
   * Loads the scripts Redis has no SHA of here yet (`SCRIPT LOAD`), one load at a time, so that they
   * run by SHA: at start, and again when Redis answers after an outage (a store started while Redis
   * was down ran every script by `EVAL`, its text and all, for its life). Quiet: a script not loaded
   * runs by `EVAL`, and whether Redis is up is for the store's own commands to say (an ACL may refuse
   * `SCRIPT` and allow the scripts; a load that marked the store down made it flap).
   */
  loadScripts(): Promise<void> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  private async load(): Promise<void> {
    for (const script of SCRIPTS) {
      if (this.shas.has(script)) continue;
      const sha = await this.send<string>(['SCRIPT', 'LOAD', script], true, true);
      if (typeof sha !== 'string') return;
      this.shas.set(script, sha);
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
  private async send<T>(
    args: string[],
    probing: boolean,
    quiet = false,
  ): Promise<T | typeof NOSCRIPT | undefined> {
    if (!this.up && !probing) return undefined;
    // A client with no connection (Redis died, it is reconnecting) would queue the command until its
    // timeout: a call asking for a lease waited that long, and more when its timer ran late (below).
    const ready = this.client.isReady;
    if (ready === true) this.seenReady = true;
    else if (ready === false && this.seenReady) {
      if (!quiet) this.status(false, DISCONNECTED);
      return undefined;
    }
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
          // Timers run before the loop reads its sockets: a reply that arrived while this process was
          // busy (a GC pause, a long parse, 1 to 1.5 timeouts: too little to be given the timeout
          // again) is read in this turn, and must win. Given up only once the loop has read them.
          timer = setTimeout(() => {
            abort.abort(new Error('breakwater: Redis did not answer in time'));
            reject(abort.signal.reason);
          }, 0);
          (timer as { unref?: () => void }).unref?.();
        }, this.timeoutMs);
        (timer as { unref?: () => void }).unref?.();
      };
      arm(false);
    });
    const script = args[0] === 'EVALSHA' || args[0] === 'EVAL';
    try {
      const reply = await Promise.race([
        this.client.sendCommand<T>(args, { abortSignal: abort.signal }),
        late,
      ]);
      if (script) this.refused = false;
      if (!this.refused && !quiet) this.status(true);
      return reply;
    } catch (error) {
      // Aborted: node-redis may reject the command (dropped from its queue) before the timer does.
      const cause = abort.signal.aborted ? 'timeout' : causeOf(error, args);
      if (cause.startsWith('NOSCRIPT')) return NOSCRIPT;
      if (quiet) return undefined;
      if (KEY_REFUSAL.test(cause)) {
        this.keyRefused(cause);
        return undefined;
      }
      if (script && cause !== 'timeout') this.refused = true;
      this.status(false, cause);
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  private status(up: boolean, cause = ''): void {
    // Once per outage, with its first cause: a kill told the socket's reset, then each later cause
    // (reconnecting, timeouts), as as many outages.
    if (up === this.up) return;
    this.up = up;
    if (up) void this.loadScripts();
    this.onStatus(up, up ? undefined : cause);
  }
}
