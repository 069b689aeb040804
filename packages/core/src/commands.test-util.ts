import { execFile } from 'node:child_process';
import { basename } from 'node:path';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface Exited extends RunResult {
  code: number | null;
}

/** Runs a command to completion; resolves with its output whatever its exit code. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Exited> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { ...options, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (!error) return resolve({ code: 0, stdout, stderr });
      if (typeof error.code === 'number') return resolve({ code: error.code, stdout, stderr });
      reject(error);
    });
  });
}

/** Runs a command that must succeed; a failure names the command and carries its output. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<RunResult> {
  const result = await runCommand(command, args, options);
  if (result.code === 0) return result;
  const shown = [command, ...args].join(' ');
  throw new Error(
    `\`${shown}\` in ${options.cwd} exited with ${result.code}\n${result.stdout}\n${result.stderr}`,
  );
}

/**
 * pnpm as the suite was started with (`pnpm test`, `pnpm exec vitest` set npm_execpath), else the
 * README's `npx -y pnpm@12`: the command and the arguments before pnpm's own.
 */
export function pnpm(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  if (execPath && basename(execPath).startsWith('pnpm')) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []];
  }
  return ['npx', ['-y', 'pnpm@12']];
}
