import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';

/** A real redis-server (Debian's, as .ci/run installs it) on 127.0.0.1, in a temp dir, for one test file. */
export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Kills the server at once (SIGKILL), as a crash or a partition would look to the clients. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Stops it and removes its temp dir. */
  stop(): Promise<void>;
}

/** A free loopback port: redis-server has no `--port 0`, so the OS picks one for a socket first. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export async function startRedis(): Promise<RedisServer> {
  const dir = mkdtempSync(join(tmpdir(), 'breakwater-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const args = [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ];
    const started = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    let output = '';
    started.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (output.includes('Ready to accept connections')) {
          clearInterval(check);
          resolve();
        }
      }, 10);
      started.once('error', (error) => {
        clearInterval(check);
        reject(
          new Error(
            "breakwater redis test: redis-server did not start. Install Debian's redis-server " +
              `(\`apt-get update && apt-get install -y redis-server\`, as .ci/run does): ${error.message}`,
          ),
        );
      });
      started.once('exit', (code) => {
        clearInterval(check);
        reject(new Error(`redis-server exited (${code}): ${output}`));
      });
    });
  };
  const kill = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A connected node-redis client of `server`, whose errors (a killed server) do not end the test. */
export async function connectClient(server: RedisServer): Promise<ReturnType<typeof createClient>> {
  const client = createClient({ url: server.url, socket: { reconnectStrategy: () => 100 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}
