/**
 * Cores for the sustained loopback runs (sustained.ts): the client's process on one, the loopback
 * server's on another, where Linux's `taskset` can put them. Unpinned, the two processes and the
 * client's GC helper threads share both cores as the scheduler likes, and a process's throughput varied
 * by about ±10 % from the next one's (raw fetch against itself 0.89-1.13x per pair, session 27); pinned,
 * 0.95-1.07x over 12 pairs, so a client's own work (its GC threads included, on its core) is what
 * differs between two runs.
 */
import { spawnSync } from 'node:child_process';

/** The core the client runs on and the core the server runs on. */
export interface Cores {
  readonly client: number;
  readonly server: number;
}

/**
 * The first and last cores this process may run on, when they are two and `taskset` is there (Linux);
 * undefined elsewhere: the runs are then not pinned.
 */
export function sustainedCores(): Cores | undefined {
  if (process.platform !== 'linux') return undefined;
  const answer = spawnSync('taskset', ['-cp', String(process.pid)], { encoding: 'utf8' });
  if (answer.status !== 0) return undefined;
  const cores = coreList(answer.stdout.slice(answer.stdout.lastIndexOf(':') + 1));
  const [client, server] = [cores[0], cores.at(-1)];
  return client === undefined || server === undefined || client === server ? undefined : { client, server };
}

/** The cores of a Linux CPU list (`0-3,8,10-11`), in order; none for anything else. */
export function coreList(text: string): number[] {
  const cores: number[] = [];
  for (const part of text.trim().split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) return [];
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    for (let core = from; core <= to; core++) cores.push(core);
  }
  return cores;
}

/** The command and arguments that run node with `args`, on `core` when one is given. */
export function onCore(args: readonly string[], core: number | undefined): [string, string[]] {
  return core === undefined
    ? [process.execPath, [...args]]
    : ['taskset', ['-c', String(core), process.execPath, ...args]];
}
