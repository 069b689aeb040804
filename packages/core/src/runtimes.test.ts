import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTimedServer } from './local-server.test-util.ts';
import { QUICK_START_FIXTURE, readmeQuickStart } from './quick-start.test-util.ts';

/**
 * breakwater under Bun and Deno, the binaries of the workspace's `bun` and `deno` devDependencies.
 * Each scenario of runtime-scenario.test-util.ts runs in its own process of the runtime, which imports
 * breakwater's TypeScript sources through the `@breakwater/source` condition (no build needed) and
 * calls a loopback server this test starts; the test asserts on the JSON the scenario prints and on
 * what the server saw.
 *
 * Nothing may leave loopback or write into the repository: Deno gets network access to 127.0.0.1
 * only, read access to the quick start's temporary folder only, the existing node_modules (it resolves
 * and installs nothing), no lockfile and a temporary DENO_DIR; Bun never auto-installs; and both see
 * an npm registry on a closed loopback port, so a stray registry lookup fails the test instead of
 * reaching out.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCENARIO = fileURLToPath(new URL('./runtime-scenario.test-util.ts', import.meta.url));

/** A scenario's process gets this long before it is killed and the test fails. */
const SCENARIO_TIMEOUT_MS = 15_000;

interface Runtime {
  readonly name: 'bun' | 'deno';
  /** The command line before the scenario file, given the folders the scenario may read. */
  args(readable: string): string[];
}

const RUNTIMES: readonly Runtime[] = [
  { name: 'bun', args: () => ['--no-install', '--conditions=@breakwater/source'] },
  {
    name: 'deno',
    args: (readable) => [
      'run',
      '--no-prompt',
      '--no-lock',
      '--node-modules-dir=manual',
      '--conditions=@breakwater/source',
      '--allow-net=127.0.0.1',
      `--allow-read=${readable}`,
    ],
  },
];

/** Everything the scenarios may write: quick start folders and Deno's cache (DENO_DIR). */
let scratch: string;
let denoDir: string;

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'breakwater-runtimes-'));
  denoDir = join(scratch, 'deno-dir');
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `binary args`, in its own process group so that a timeout also ends what a launcher started
 * (node_modules/.bin/deno is a Node script that spawns the real binary).
 */
function run(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(binary, args, { cwd: ROOT, env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`${binary} ${args.join(' ')}: no result after ${SCENARIO_TIMEOUT_MS} ms\n${stderr}`));
    }, SCENARIO_TIMEOUT_MS);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function binaryOf(runtime: Runtime): string {
  return `${ROOT}node_modules/.bin/${runtime.name}`;
}

/** The runtime's version, or an error that says how to get the runtime: never a skip. */
const versions = new Map<string, Promise<string>>();
function version(runtime: Runtime): Promise<string> {
  let found = versions.get(runtime.name);
  if (!found) {
    found = checkRuntime(runtime);
    versions.set(runtime.name, found);
  }
  return found;
}

async function checkRuntime(runtime: Runtime): Promise<string> {
  const binary = binaryOf(runtime);
  const howTo =
    `the workspace's \`${runtime.name}\` devDependency ships it: run \`npx -y pnpm@12 install\` at the ` +
    `repository root (pnpm-workspace.yaml's allowBuilds lets its postinstall link the binary)`;
  if (!existsSync(binary)) throw new Error(`breakwater runtimes test: ${binary} is missing; ${howTo}`);
  const result = await run(binary, ['--version'], process.env);
  if (result.code !== 0) {
    throw new Error(
      `breakwater runtimes test: \`${binary} --version\` exited with ${result.code}; ${howTo}\n${result.stderr}`,
    );
  }
  return result.stdout.trim().split('\n')[0] ?? '';
}

/** Runs one scenario under `runtime`; returns what it printed, parsed. `extra`: a file or an origin. */
async function scenario(
  runtime: Runtime,
  name: string,
  origin: string,
  extra?: string,
): Promise<Record<string, unknown>> {
  await version(runtime);
  const env = {
    ...process.env,
    DENO_DIR: denoDir,
    DENO_NO_UPDATE_CHECK: '1',
    NO_COLOR: '1',
    // A registry nobody listens on: any attempt to resolve or download a package fails here.
    NPM_CONFIG_REGISTRY: 'http://127.0.0.1:9/',
    BUN_RUNTIME_TRANSPILER_CACHE_PATH: '0',
  };
  const args = [...runtime.args(scratch), SCENARIO, name, origin, ...(extra ? [extra] : [])];
  const result = await run(binaryOf(runtime), args, env);
  const line = result.stdout.trim().split('\n').at(-1) ?? '';
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(
      `${runtime.name} printed no report (exit ${result.code}):\n${result.stdout}\n${result.stderr}`,
    );
  }
  expect(report.thrown, `${runtime.name}: the scenario threw`).toBeUndefined();
  expect(result.code, result.stderr).toBe(0);
  expect(report.runtime).toBe(runtime.name);
  return report;
}

/**
 * README.md's quick start, written into a folder of its own outside the repository (Deno strips no
 * types under node_modules), where `@breakwater/core` and `@breakwater/policies` resolve to the
 * workspace packages as they would in a user's project.
 */
function writeQuickStart(): string {
  const project = mkdtempSync(join(scratch, 'quick-start-'));
  mkdirSync(join(project, 'node_modules', '@breakwater'), { recursive: true });
  for (const name of ['core', 'policies']) {
    symlinkSync(`${ROOT}packages/${name}`, join(project, 'node_modules', '@breakwater', name), 'dir');
  }
  const file = join(project, 'quickstart.ts');
  writeFileSync(file, readmeQuickStart());
  return file;
}

for (const runtime of RUNTIMES) {
  describe(`under ${runtime.name}`, { timeout: 30_000 }, () => {
    it("README's quick start runs: the rule applies, HttpError is caught, breakers() read", async () => {
      const server = await startTimedServer({
        '/v1/customers/42': (_req, res) => {
          res
            .writeHead(QUICK_START_FIXTURE.status, QUICK_START_FIXTURE.headers)
            .end(JSON.stringify(QUICK_START_FIXTURE.body));
        },
      });
      try {
        const report = await scenario(runtime, 'quick-start', server.origin, writeQuickStart());
        expect(report.logged).toEqual([
          [
            'error',
            'failed',
            404,
            '3000',
            'Partner Organization with partner_id 9999999 could not be found',
            '7f3b1a52-2c1d-4c55-9a39-0b6c1f0f8e21',
            1,
          ],
          ['log', 'breaker', 'customers https://api.partnercenter.microsoft.com', 'closed', 0, null],
        ]);
        expect(server.requests).toHaveLength(1);
        const [request] = server.requests;
        expect(request?.url).toBe('/v1/customers/42');
        expect(request?.headers.authorization).toBe('Bearer <token>');
        // The preset's MS-RequestId, generated with the runtime's crypto, for Partner Center's host.
        expect(request?.headers['ms-requestid']).toMatch(/^[0-9a-f-]{36}$/);
        if (runtime.name === 'deno') {
          expect(existsSync(`${ROOT}deno.lock`), 'deno wrote a lockfile into the repository').toBe(false);
          expect(existsSync(`${ROOT}node_modules/.deno`), 'deno installed into node_modules').toBe(false);
          expect(existsSync(join(denoDir, 'gen')), 'deno kept its cache elsewhere than DENO_DIR').toBe(true);
        }
      } finally {
        await server.close();
      }
    });

    it("retries a 503 with Retry-After: 1 after the server's second", async () => {
      let calls = 0;
      const server = await startTimedServer({
        '/flaky': (_req, res) => {
          calls += 1;
          if (calls === 1) res.writeHead(503, { 'retry-after': '1' }).end('busy');
          else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        },
      });
      try {
        const report = await scenario(runtime, 'retry-after', server.origin);
        expect(report.status).toBe(200);
        expect(report.body).toEqual({ ok: true });
        expect(report.retries).toEqual([
          expect.objectContaining({
            type: 'retry',
            attempt: 2,
            status: 503,
            delaySource: 'server',
            delayMs: 1000,
          }),
        ]);
        const [first, second] = server.hits.get('/flaky') ?? [];
        if (first === undefined || second === undefined) throw new Error('the server saw no retry');
        // At least the server's second; well under what a second wait or the backoff cap would add.
        expect(second - first).toBeGreaterThanOrEqual(990);
        expect(second - first).toBeLessThan(1500);
      } finally {
        await server.close();
      }
    });

    it('opens the breaker after five 500s; the next call fails fast with BrokenCircuitError', async () => {
      const server = await startTimedServer({
        '/down': (_req, res) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end('down');
        },
      });
      try {
        const report = await scenario(runtime, 'breaker', server.origin);
        const key = `default ${server.origin}`;
        expect(report.statuses).toEqual([500, 500, 500, 500, 500]);
        expect(report.refusal).toEqual({
          name: 'BrokenCircuitError',
          isBrokenCircuitError: true,
          endpoint: key,
          state: 'open',
          retryAfterMs: expect.any(Number),
          message: expect.stringContaining('is open'),
          ms: expect.any(Number),
        });
        const refusal = report.refusal as { retryAfterMs: number; ms: number };
        expect(refusal.retryAfterMs).toBeGreaterThan(4000);
        expect(refusal.retryAfterMs).toBeLessThanOrEqual(5000);
        expect(refusal.ms).toBeLessThan(100);
        expect(report.breakers).toEqual([{ key, state: 'open', failures: 5, consecutiveFailures: 5 }]);
        expect(report.events).toEqual([
          'attempt',
          'attempt',
          'attempt',
          'attempt',
          'attempt',
          'break',
          'reject',
        ]);
        expect(server.hits.get('/down')).toHaveLength(5);
      } finally {
        await server.close();
      }
    });

    it('retries a GET whose connection is reset, or closed, before any response', async () => {
      const server = await startTimedServer();
      for (const path of ['/reset', '/closed']) {
        let calls = 0;
        server.route(path, (req, res) => {
          calls += 1;
          // Each request on a connection of its own: a runtime retries on its own a request whose reused
          // keep-alive connection was closed, and that retry is not breakwater's.
          if (calls > 1) res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' }).end('ok');
          else if (path === '/reset') req.socket.resetAndDestroy();
          else req.socket.end();
        });
      }
      try {
        const report = await scenario(runtime, 'network-errors', server.origin);
        expect(report.outcomes).toEqual([
          ['/reset', 200, 'ok'],
          ['/closed', 200, 'ok'],
        ]);
        expect(report.retries).toEqual([
          [2, 'network-error'],
          [2, 'network-error'],
        ]);
      } finally {
        await server.close();
      }
    });

    it(`keeps the runtime's fetch.preconnect on the wrapped fetch (Bun's opens a connection; Deno has none)`, async () => {
      const target = await countingServer();
      const probe = await startTimedServer({
        '/connections': (_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' }).end(String(target.connections()));
        },
      });
      try {
        const report = await scenario(runtime, 'preconnect', probe.origin, target.origin);
        if (runtime.name === 'bun') expect(report).toMatchObject({ preconnect: 'function', connections: 1 });
        else expect(report.preconnect).toBe('undefined');
        expect(target.requests()).toBe(0);
      } finally {
        await Promise.all([probe.close(), target.close()]);
      }
    });
  });
}

/** A loopback server that counts the connections made to it and the requests sent over them. */
async function countingServer(): Promise<{
  origin: string;
  connections(): number;
  requests(): number;
  close(): Promise<void>;
}> {
  let connections = 0;
  let requests = 0;
  const server = createServer((_req, res) => {
    requests += 1;
    res.end();
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    connections: () => connections,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
