/**
 * Where a run writes: a run leaves a clone's `git status` as it was (bench/out/ is git-ignored), and
 * only `--publish` writes the committed report in bench/results/.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BENCH_DIR, parseCommandLine } from './cli.ts';

const results = join(BENCH_DIR, 'results');
const out = join(BENCH_DIR, 'out');
const git = (...args: string[]): string => execFileSync('git', args, { cwd: BENCH_DIR, encoding: 'utf8' });

/** Every file under `dir` with a hash of its content. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return files;
}

describe('the output folder', () => {
  it('a full run writes bench/out/, a filtered or scaled one bench/out/partial/', () => {
    expect(parseCommandLine([])?.outDir).toBe(out);
    expect(parseCommandLine(['--no-overhead'])?.outDir).toBe(out);
    for (const args of [
      ['--scenario', 'flap'],
      ['--client', 'ky'],
      ['--scale', '0.5'],
    ]) {
      expect(parseCommandLine(args)?.outDir).toBe(join(out, 'partial'));
    }
  });

  it('only --publish writes bench/results/, and only for a full run with the overhead', () => {
    expect(parseCommandLine(['--', '--publish'])?.outDir).toBe(results);
    for (const args of [['--scenario', 'flap'], ['--client', 'ky'], ['--scale', '0.5'], ['--no-overhead']]) {
      expect(() => parseCommandLine([...args, '--publish'])).toThrow(/--publish .* takes a full run/);
    }
  });

  it('keeps --scenario, --client, --scale and --no-overhead', () => {
    const plan = parseCommandLine([
      '--scenario',
      'flap,outage',
      '--client',
      'ky',
      '--client',
      'breakwater',
      '--scale',
      '0.3',
      '--no-overhead',
    ]);
    expect(plan?.scenarios.map((s) => s.name)).toEqual(['flap', 'outage']);
    expect(plan?.clients.map((c) => c.name)).toEqual(['ky', 'breakwater']);
    expect(plan?.scale).toBe(0.3);
    expect(plan?.withOverhead).toBe(false);
    expect(parseCommandLine(['--scenario', 'flap', '--overhead'])?.withOverhead).toBe(true);
    expect(() => parseCommandLine(['--scenario', 'nope'])).toThrow(/unknown scenario "nope"/);
  });

  it('--overhead-only runs the overhead section alone into bench/out/partial/, and refuses scenarios', () => {
    const plan = parseCommandLine(['--overhead-only']);
    expect(plan?.scenarios).toEqual([]);
    expect(plan?.withOverhead).toBe(true);
    expect(plan?.outDir).toBe(join(out, 'partial'));
    expect(
      parseCommandLine(['--overhead-only', '--client', 'fetch,breakwater'])?.clients.map((c) => c.name),
    ).toEqual(['fetch', 'breakwater']);
    for (const args of [['--scenario', 'flap'], ['--no-overhead'], ['--publish'], ['--scale', '0.5']]) {
      expect(() => parseCommandLine(['--overhead-only', ...args])).toThrow(
        /--overhead-only runs no scenario/,
      );
    }
  });

  it('bench/out/ is git-ignored', () => {
    expect(
      git('check-ignore', join(out, 'report.md'), join(out, 'partial', 'flap.svg'))
        .trim()
        .split('\n'),
    ).toHaveLength(2);
  });

  it('a run leaves git status and bench/results/ as they were, writes bench/out/partial/, exits 0 with the summary', () => {
    const statusBefore = git('status', '--porcelain', '--untracked-files=all');
    const resultsBefore = snapshot(results);
    const began = Date.now();
    const run = spawnSync(
      process.execPath,
      [
        '--conditions=@breakwater/source',
        'src/main.ts',
        '--scenario',
        'client-errors',
        '--client',
        'breakwater',
        '--scale',
        '0.2',
        '--no-overhead',
      ],
      { cwd: BENCH_DIR, encoding: 'utf8', timeout: 60_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(git('status', '--porcelain', '--untracked-files=all')).toBe(statusBefore);
    expect(snapshot(results)).toEqual(resultsBefore);
    for (const file of ['report.md', 'latest.json', 'client-errors.svg']) {
      expect(statSync(join(out, 'partial', file)).mtimeMs).toBeGreaterThanOrEqual(began - 1_000);
    }
    const lines = run.stdout.trimEnd().split('\n');
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(lines.at(-1)).toMatch(/^targets: \d+ met, \d+ missed/);
    expect(run.stderr.split('\n')[0]).toBe('bench: loading the clients…');
  }, 60_000);

  it('refuses a bad argument with what was wrong and the usage, no stack, exit code 2', () => {
    const run = spawnSync(
      process.execPath,
      ['--conditions=@breakwater/source', 'src/main.ts', '--scenario', 'nope'],
      { cwd: BENCH_DIR, encoding: 'utf8', timeout: 30_000 },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('bench: unknown scenario "nope"; known: outage,');
    expect(run.stderr).toContain('usage: pnpm bench');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  }, 30_000);
});
