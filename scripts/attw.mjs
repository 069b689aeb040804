// attw on the package in the current directory, as npm users get it (its `pnpm pack` tarball), with
// the ESM-only profile. attw's table would list every entry point under the CommonJS and node10
// resolutions as "(ignored)" rows even when all is well; the profile already decides the verdict
// (attw's exit code), so a pass prints one line, and a failure prints attw's full report.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pnpmCommand } from './pnpm.mjs';

const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'breakwater-attw-'));
const tarball = join(dir, 'package.tgz');
const attw = (...flags) =>
  spawnSync('attw', [tarball, '--profile', 'esm-only', ...flags], { stdio: 'inherit' });

let status;
try {
  const [command, prefix] = pnpmCommand();
  const pack = spawnSync(command, [...prefix, 'pack', '--out', tarball], { encoding: 'utf8' });
  if (pack.status !== 0) {
    process.stderr.write(`${pack.stdout ?? ''}${pack.stderr ?? ''}`);
    console.error(`attw: pnpm pack of ${manifest.name} failed`);
    status = 1;
  } else if (attw('--quiet').status === 0) {
    const entries = Object.keys(manifest.exports ?? { '.': null }).join(', ');
    console.log(
      `attw: ${manifest.name} (${entries}): types resolve under node16 (ESM) and bundler; ` +
        'CommonJS and node10 not checked (ESM only)',
    );
    status = 0;
  } else {
    status = attw().status || 1;
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status);
