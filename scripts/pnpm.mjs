import { basename } from 'node:path';

/**
 * The pnpm that started this script (pnpm sets npm_execpath for its scripts), else the README's
 * `npx -y pnpm@12`. Returns the command and the arguments that come before pnpm's own.
 * @returns {[string, string[]]}
 */
export function pnpmCommand() {
  const execPath = process.env.npm_execpath;
  if (execPath && basename(execPath).startsWith('pnpm')) {
    return /\.[cm]?js$/.test(execPath) ? [process.execPath, [execPath]] : [execPath, []];
  }
  return ['npx', ['-y', 'pnpm@12']];
}
