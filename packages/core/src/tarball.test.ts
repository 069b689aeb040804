import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpm, run } from './commands.test-util.ts';
import { type PartnerCenterStub, readmeQuickStart, startPartnerCenterStub } from './quick-start.test-util.ts';

/**
 * The packages as npm users get them: `pnpm pack` of policies, core and redis, the tarballs installed
 * with plain `npm install` into an empty npm project outside the repository (cockatiel and node-redis
 * come from the registry), each package's README snippets and the README's quick start type-checked
 * there as a user's strict `nodenext` project, and the quick start run on Node 22, the lowest Node
 * that `engines` allows, against a loopback server.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PACKAGES = ['policies', 'core', 'redis'] as const;
const PARTNER_CENTER = 'https://api.partnercenter.microsoft.com';
const NODE22 = `${ROOT}node_modules/node22/bin/node`;

interface Manifest {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts') || /\.test(-util)?\.ts$/.test(entry.name)) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * `pnpm check` builds before the tests; run alone, this test builds a package whose dist is missing or
 * older than its sources, so the tarball never holds code other than the sources'.
 */
async function ensureBuilt(pkg: string): Promise<void> {
  const dir = `${ROOT}packages/${pkg}`;
  const built = `${dir}/dist/index.js`;
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource(`${dir}/src`)) return;
  await run(process.execPath, [`${ROOT}node_modules/typescript/bin/tsc`, '-p', 'tsconfig.build.json'], {
    cwd: dir,
  });
}

/**
 * The environment of a user's shell on Node 22: the workspace's own binaries (Node 24, tsc) are off
 * PATH, and so are the npm_* / pnpm_* variables pnpm passes to the suite, which would steer npm.
 */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(npm|pnpm)_/i.test(key) && key !== 'NODE_OPTIONS') env[key] = value;
  }
  const path = (process.env.PATH ?? '').split(delimiter).filter((entry) => !entry.startsWith(ROOT));
  env.PATH = [dirname(NODE22), ...path].join(delimiter);
  return { ...env, ...extra };
}

/** The TypeScript blocks of a package's own README (shown on npm), each as one module. */
function packageReadmeBlocks(pkg: string): string[] {
  const readme = readFileSync(`${ROOT}packages/${pkg}/README.md`, 'utf8');
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1] ?? '');
}

/** A user's strict project; `types: []` keeps Node's globals out, as the snippets need none. */
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    lib: ['es2024', 'dom'],
    types: [],
    strict: true,
    skipLibCheck: false,
    rootDir: '.',
    outDir: 'out',
  },
  include: ['*.ts'],
  // The Redis store's snippets need Node's types (node-redis's own declarations use Buffer and
  // node:stream): they get a project of their own, so this one still proves core and policies need none.
  exclude: ['readme-redis-*.ts'],
};

/** The Redis store's README snippets, type-checked with Node's types as its users have them. */
const TSCONFIG_REDIS = {
  extends: './tsconfig.json',
  compilerOptions: { types: ['node'] },
  include: ['readme-redis-*.ts'],
  exclude: [],
};

/**
 * A Node project's own setup (as @tsconfig/node22's): lib without "dom", Node's types. Global names
 * that only lib dom declares (`RequestInfo`, `HeadersInit`) must not appear in the published types:
 * `skipLibCheck: false` reports them, and under `skipLibCheck: true` they would silently be `any`.
 */
const TSCONFIG_NODE = {
  extends: './tsconfig.json',
  compilerOptions: { lib: ['es2024'], types: ['node'] },
  include: ['node-types.ts'],
  exclude: [],
};

/** Every entry point used as a Node user would, with lib dom's names absent. */
const NODE_TYPES = `
import { type CallTarget, redactHeaders, wrapFetch, type WrappedFetch } from '@breakwater/core';
import { breakwaterKy } from '@breakwater/core/ky';
import { fetchWithPolicy } from '@breakwater/core/cockatiel';
import { pRetryOptions } from '@breakwater/core/p-retry';
import { partnerCenter } from '@breakwater/policies';

const wrapped: WrappedFetch = wrapFetch(fetch, { policy: partnerCenter() });
export const asFetch: typeof fetch = wrapped;
globalThis.fetch = wrapFetch(globalThis.fetch);
export const calls: Promise<Response>[] = [
  wrapped('https://example.com/'),
  wrapped(new URL('https://example.com/')),
  wrapped(new Request('https://example.com/'), { headers: [['a', 'b']] }),
];
export const target: CallTarget = { method: 'POST', url: 'https://example.com/', headers: { 'Idempotency-Key': 'k' } };
export const safe: Record<string, string> = redactHeaders(new Headers({ authorization: 'Bearer x' }));
export const adapters = [breakwaterKy, fetchWithPolicy, pRetryOptions({ method: 'GET', headers: { a: 'b' } })];
// @ts-expect-error fetch takes no number as its input, nor does the wrapped fetch
export const notAUrl = wrapped(12345);
// @ts-expect-error nor headers of a number
export const notHeaders = redactHeaders(99);
`;

/** Preloaded before the quick start: its Partner Center calls go to the test's loopback server instead. */
const LOOPBACK = `
const realFetch = globalThis.fetch;
const origin = process.env.BREAKWATER_LOOPBACK;
console.error('runtime', process.version);
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (url.origin !== ${JSON.stringify(PARTNER_CENTER)}) throw new Error('unexpected origin ' + url.origin);
  return realFetch(origin + url.pathname + url.search, init);
};
`;

describe('the packed tarballs', () => {
  let project: string;
  const tarballs = new Map<string, string>();

  beforeAll(async () => {
    if (!existsSync(NODE22)) {
      throw new Error(`${NODE22} is missing: run \`npx -y pnpm@12 install\` (devDependency node22)`);
    }
    project = mkdtempSync(join(tmpdir(), 'breakwater-tarball-'));
    const [command, prefix] = pnpm();
    for (const pkg of PACKAGES) {
      await ensureBuilt(pkg);
      const out = join(project, `${pkg}.tgz`);
      await run(command, [...prefix, 'pack', '--out', out], { cwd: `${ROOT}packages/${pkg}` });
      tarballs.set(pkg, out);
    }
    // A user's project depends on all three (the quick start imports core and policies, the Redis
    // store's README node-redis too); the overrides make the packages' own `@breakwater/*` ranges
    // resolve to the tarballs, not to whatever the registry holds.
    const manifest = {
      name: 'breakwater-tarball-user',
      private: true,
      type: 'module',
      dependencies: {
        '@breakwater/core': 'file:core.tgz',
        '@breakwater/policies': 'file:policies.tgz',
        '@breakwater/redis': 'file:redis.tgz',
        redis: '^5.0.0',
        '@types/node': '^22.0.0',
        // The optional peers of the /ky and /p-retry entry points, for the project without lib dom.
        ky: '^2.0.0',
        'p-retry': '^9.0.0',
      },
      overrides: { '@breakwater/policies': '$@breakwater/policies', '@breakwater/core': '$@breakwater/core' },
    };
    writeFileSync(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await run('npm', ['install'], { cwd: project, env: userEnv() });
  }, 120_000);

  afterAll(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it.each(PACKAGES)('%s: the tarball carries README.md, LICENSE, the build and no tests', async (pkg) => {
    const { stdout } = await run('tar', ['tzf', tarballs.get(pkg) ?? ''], { cwd: project });
    const files = stdout.split('\n').filter(Boolean);
    expect(files).toEqual(
      expect.arrayContaining([
        'package/README.md',
        'package/LICENSE',
        'package/package.json',
        'package/dist/index.js',
        'package/dist/index.d.ts',
      ]),
    );
    expect(files.filter((file) => /\.test(-util)?\./.test(file))).toEqual([]);
    const license = readFileSync(join(project, 'node_modules/@breakwater', pkg, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) 2026 the breakwater authors\n/);
  });

  it('installs with plain npm install: policies and core from their tarballs once, no workspace: range left', () => {
    const core = readJson<Manifest>(join(project, 'node_modules/@breakwater/core/package.json'));
    const policies = readJson<Manifest>(join(project, 'node_modules/@breakwater/policies/package.json'));
    expect(core.dependencies?.['@breakwater/policies']).toBe(`^${policies.version}`);
    expect(JSON.stringify(core)).not.toContain('workspace:');
    expect(existsSync(join(project, 'node_modules/@breakwater/core/node_modules'))).toBe(false);
    const lock = readJson<{ packages: Record<string, { version?: string; resolved?: string }> }>(
      join(project, 'package-lock.json'),
    );
    expect(lock.packages['node_modules/@breakwater/policies']?.resolved).toBe('file:policies.tgz');
    expect(lock.packages['node_modules/@breakwater/core']?.resolved).toBe('file:core.tgz');
    const redis = readJson<Manifest>(join(project, 'node_modules/@breakwater/redis/package.json'));
    expect(redis.dependencies?.['@breakwater/core']).toBe(`^${core.version}`);
    expect(JSON.stringify(redis)).not.toContain('workspace:');
    expect(existsSync(join(project, 'node_modules/@breakwater/redis/node_modules'))).toBe(false);
    expect(lock.packages['node_modules/cockatiel']?.version).toMatch(/^4\./);
    expect(lock.packages['node_modules/cockatiel']?.resolved ?? 'registry').not.toMatch(/^file:/);
  });

  describe("README's quick start in the installed project", () => {
    let server: PartnerCenterStub;

    beforeAll(async () => {
      writeFileSync(join(project, 'quickstart.ts'), readmeQuickStart());
      for (const pkg of PACKAGES) {
        const blocks = packageReadmeBlocks(pkg);
        if (blocks.length === 0) throw new Error(`packages/${pkg}/README.md has no ts block`);
        for (const [i, block] of blocks.entries())
          writeFileSync(join(project, `readme-${pkg}-${i}.ts`), block);
      }
      writeFileSync(join(project, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
      writeFileSync(join(project, 'tsconfig.redis.json'), JSON.stringify(TSCONFIG_REDIS, null, 2));
      writeFileSync(join(project, 'node-types.ts'), NODE_TYPES);
      writeFileSync(join(project, 'tsconfig.node.json'), JSON.stringify(TSCONFIG_NODE, null, 2));
      writeFileSync(join(project, 'loopback.mjs'), LOOPBACK);
      server = await startPartnerCenterStub();
    });

    afterAll(() => server.close());

    /** Each type-check: TypeScript 5.9 takes ~10 s here on its own, more beside the rest of the suite. */
    const typeCheck = (typescript: string, configs: readonly string[]) => async (): Promise<void> => {
      const tsc = `${ROOT}node_modules/${typescript}/bin/tsc`;
      for (const config of configs) {
        await run(NODE22, [tsc, '-p', config, '--noEmit'], { cwd: project, env: userEnv() });
      }
    };

    describe.each([
      ['TypeScript 5.9', 'typescript5'],
      ['TypeScript 7', 'typescript'],
    ])('with %s', (_name, typescript) => {
      it(
        "type-checks (strict, nodenext), the packages' own README snippets too",
        typeCheck(typescript, ['tsconfig.json', 'tsconfig.redis.json']),
        60_000,
      );

      it(
        "type-checks a Node project without lib dom: the wrapped fetch is Node's fetch, no `any`",
        typeCheck(typescript, ['tsconfig.node.json']),
        60_000,
      );
    });

    it('runs on Node 22: the rule applies, HttpError is caught, breakers() reads', async () => {
      const tsc = `${ROOT}node_modules/typescript/bin/tsc`;
      await run(NODE22, [tsc, '-p', 'tsconfig.json'], { cwd: project, env: userEnv() });
      const { stdout, stderr } = await run(NODE22, ['--import', './loopback.mjs', 'out/quickstart.js'], {
        cwd: project,
        env: userEnv({ BREAKWATER_LOOPBACK: server.origin }),
      });

      expect(stderr).toMatch(/^runtime v22\./);
      expect(server.seen).toEqual([
        { path: '/v1/customers/42', authorization: 'Bearer <token>', requestId: expect.any(String) },
      ]);
      expect(server.seen[0]?.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(stderr).toContain(
        'failed 404 3000 Partner Organization with partner_id 9999999 could not be found ' +
          '7f3b1a52-2c1d-4c55-9a39-0b6c1f0f8e21 1',
      );
      expect(stdout).toBe(`breaker customers ${PARTNER_CENTER} closed 0 null\n`);
    }, 30_000);
  });
});

describe('the stated Node range', () => {
  const floor = (range: string | undefined): number => Number(/^>=(\d+)$/.exec(range ?? '')?.[1]);

  it("each package's engines is >=22, the Node the packed quick start runs on", () => {
    const node22 = readJson<Manifest>(`${ROOT}node_modules/node22/package.json`);
    for (const pkg of PACKAGES) {
      const manifest = readJson<Manifest>(`${ROOT}packages/${pkg}/package.json`);
      expect(floor(manifest.engines?.node), manifest.name).toBe(Number(node22.version.split('.')[0]));
    }
  });

  it("README's Install section states the same range", () => {
    const readme = readFileSync(`${ROOT}README.md`, 'utf8');
    const install = /\n## Install\n([\s\S]*?)\n## /.exec(readme)?.[1] ?? '';
    const core = readJson<Manifest>(`${ROOT}packages/core/package.json`);
    expect(install).toContain(`Node.js ${floor(core.engines?.node)} or later`);
    expect(readme).not.toMatch(/any (Node|version) from 20/);
  });

  it("pnpm checks engines against the workspace's own Node, not the one that started npx", () => {
    const workspace = readFileSync(`${ROOT}pnpm-workspace.yaml`, 'utf8');
    const nodeVersion = /^nodeVersion: (\d+)\.(\d+)\.(\d+)$/m.exec(workspace);
    const installed = readJson<Manifest>(`${ROOT}node_modules/node/package.json`).version.split('.');
    expect(nodeVersion?.slice(1).map(Number)).toEqual(installed.map(Number));
  });
});
