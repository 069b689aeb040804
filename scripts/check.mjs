// The check's runner: runs each step named on the command line (`pnpm run <step>`) in order, stops at
// the first failure, and ends with one line of its own, so the last thing printed is the verdict and
// not a tool's hint. Usage (root package.json): node scripts/check.mjs lint typecheck build ... test
import { spawnSync } from 'node:child_process';
import { pnpmCommand } from './pnpm.mjs';

const steps = process.argv.slice(2);
if (steps.length === 0) {
  console.error('check: no steps given (usage: node scripts/check.mjs <script> ...)');
  process.exit(2);
}

const [command, prefix] = pnpmCommand();
const passed = [];
for (const step of steps) {
  const result = spawnSync(command, [...prefix, 'run', step], { stdio: 'inherit' });
  if (result.status !== 0) {
    const how = result.error
      ? `could not start (${result.error.message})`
      : result.signal
        ? `was stopped by ${result.signal}`
        : `failed (exit code ${result.status})`;
    const before = passed.length > 0 ? `; passed before it: ${passed.join(', ')}` : '';
    console.log(`\ncheck: ${step} ${how}${before}`);
    process.exit(result.status || 1);
  }
  passed.push(step);
}
console.log(`\ncheck: ${steps.join(', ')} all passed`);
