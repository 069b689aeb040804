import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

/**
 * The browser bundle of `wrapFetch` with the defaults, measured by the check's own script
 * (scripts/bundle-size.mjs) on the sources, so that a size regression fails the tests too.
 */

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function runSizeScript(): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['scripts/bundle-size.mjs', '--source'],
      { cwd: ROOT },
    );
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code: number; stdout: string; stderr: string };
    return { code, output: stdout + stderr };
  }
}

it('bundles wrapFetch with the defaults from core, policies and cockatiel only, within the size budget', async () => {
  const { code, output } = await runSizeScript();
  expect(output).toMatch(/bundle-size: ok, \d+ <= \d+ bytes gzip/);
  expect(code).toBe(0);
  const parts = [...output.matchAll(/^ {2}(\S+) +[\d.]+ KB minified .*\(share\)$/gm)].map((m) => m[1]);
  expect(parts.sort()).toEqual(['cockatiel', 'core', 'policies']);
}, 30_000);
