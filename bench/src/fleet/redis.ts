/**
 * A redis-server of the bench's own on 127.0.0.1 (a free port, a temp dir, no persistence), for the
 * fleet part and the overhead section's Redis lane. A machine without redis-server gets a reason, not a
 * crash: the parts that need it report "not run".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Why the fleet part and the Redis lane did not run on a machine without redis-server. */
export const REDIS_MISSING = 'redis-server not found';

export interface BenchRedis {
  readonly url: string;
  /** SIGKILL, as a crash or a partition looks to the clients. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Kills it and removes its temp dir. */
  stop(): Promise<void>;
}

/** redis-server has no `--port 0`: the OS picks a free port for a socket first. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('bench: no free port');
  return address.port;
}

/** Resolves once the server says it is ready; rejects with REDIS_MISSING when there is no binary. */
function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const child = spawn('redis-server', [...args, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) resolve(child);
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      reject(new Error(error.code === 'ENOENT' ? REDIS_MISSING : `redis-server: ${error.message}`)),
    );
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output.slice(-500)}`)));
  });
}

/** Starts a redis-server; rejects with an Error whose message is REDIS_MISSING when there is none. */
export async function startRedis(): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-bench-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  try {
    child = await launch(port, dir);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    kill,
    async restart() {
      child = await launch(port, dir);
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A redis-server, or why there is none (REDIS_MISSING, or the start's error). */
export async function tryStartRedis(): Promise<BenchRedis | { readonly unavailable: string }> {
  try {
    return await startRedis();
  } catch (error) {
    return { unavailable: error instanceof Error ? error.message : String(error) };
  }
}
