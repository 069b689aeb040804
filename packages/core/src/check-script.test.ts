import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pnpm, runCommand } from './commands.test-util.ts';

/**
 * `pnpm check` and `pnpm attw` end with a line of their own: the check names what passed or the step
 * that failed, attw says in one line that the types resolve and shows its full report only when
 * something is wrong. Each script runs here on small packages in a temp directory.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHECK = `${ROOT}scripts/check.mjs`;
const ATTW = `${ROOT}scripts/attw.mjs`;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'breakwater-check-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A package in the temp directory with the given files (paths relative to it). */
function writePackage(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** The environment pnpm gives a script: pnpm itself as npm_execpath, the workspace's tools on PATH. */
function scriptEnv(): NodeJS.ProcessEnv {
  const [command, prefix] = pnpm();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${ROOT}node_modules/.bin${delimiter}${process.env.PATH}`,
  };
  if (command === process.execPath) env.npm_execpath = prefix[0];
  else if (prefix.length === 0) env.npm_execpath = command;
  else delete env.npm_execpath;
  return env;
}

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

describe('pnpm check', () => {
  const scripts = {
    first: 'echo first ran',
    second: 'echo second ran',
    broken: 'echo "a tool hint: run with --fix"; exit 3',
  };
  let project: string;
  beforeAll(() => {
    project = writePackage('steps', { 'package.json': JSON.stringify({ name: 'steps', scripts }) });
  });

  it('ends with a verdict of its own once every step has passed', async () => {
    const result = await runCommand(process.execPath, [CHECK, 'first', 'second'], {
      cwd: project,
      env: scriptEnv(),
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('second ran');
    expect(lastLine(result.stdout)).toBe('check: first, second all passed');
  }, 30_000);

  it('stops at the first failing step and ends by naming it, not with the tool’s last line', async () => {
    const result = await runCommand(process.execPath, [CHECK, 'first', 'broken', 'second'], {
      cwd: project,
      env: scriptEnv(),
    });
    expect(result.code).toBe(3);
    expect(result.stdout).not.toContain('second ran');
    expect(lastLine(result.stdout)).toBe('check: broken failed (exit code 3); passed before it: first');
  }, 30_000);

  it("the workspace's check runs every step through the runner, lint to test", () => {
    const manifest = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
      scripts: Record<string, string>;
    };
    const [runner, ...steps] = (manifest.scripts.check ?? '').replace(/^node /, '').split(' ');
    expect(runner).toBe('scripts/check.mjs');
    expect(steps).toEqual(expect.arrayContaining(['lint', 'typecheck', 'build', 'publint', 'attw', 'docs']));
    expect(steps.at(-1)).toBe('test');
    for (const step of steps) expect(manifest.scripts[step], step).toBeDefined();
  });
});

describe('pnpm attw', () => {
  const esm = (typesFile: string, js: string) => ({
    'package.json': JSON.stringify({
      name: 'attw-sample',
      version: '1.0.0',
      ...(js.startsWith('export') ? { type: 'module' } : {}),
      exports: { '.': { types: `./dist/${typesFile}`, default: './dist/index.js' } },
    }),
    'dist/index.js': js,
    'dist/index.d.ts': 'export declare const answer: number;\n',
  });

  it('prints one line, without the "(ignored)" rows, when the types resolve', async () => {
    const root = writePackage('attw-good', esm('index.d.ts', 'export const answer = 42;\n'));
    const result = await runCommand(process.execPath, [ATTW], { cwd: root, env: scriptEnv() });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('ignored');
    expect(result.stdout.trim()).toBe(
      'attw: attw-sample (.): types resolve under node16 (ESM) and bundler; CommonJS and node10 not checked (ESM only)',
    );
  }, 30_000);

  it('fails with attw’s full report when they do not', async () => {
    // CommonJS JavaScript behind ESM declarations: attw's "named exports" problem under node16.
    const root = writePackage('attw-bad', esm('index.d.ts', 'module.exports = { answer: 42 };\n'));
    const result = await runCommand(process.execPath, [ATTW], { cwd: root, env: scriptEnv() });
    expect(result.code).not.toBe(0);
    expect(result.stdout).toContain('node16 (from ESM)');
    expect(result.stdout).not.toContain('types resolve');
  }, 30_000);
});
