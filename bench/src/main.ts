/**
 * `pnpm bench [--scenario name[,name]] [--client name[,name]] [--scale n] [--no-overhead] [--publish]`
 *
 * With no filter it runs every scenario with every client, then the overhead benchmark, and writes
 * bench/out/ (latest.json, report.md, one SVG per scenario); a filtered or scaled run writes
 * bench/out/partial/. Both are git-ignored: a run leaves the clone unchanged. `--publish` (a full run
 * only) writes bench/results/ instead, the committed report the READMEs link. See cli.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Plan } from './cli.ts';
import type { ClientSpec } from './client.ts';
import type { FleetResult } from './fleet/run-fleet.ts';
import type { OverheadResult } from './overhead.ts';
import { ProgressReporter, planned } from './progress.ts';
import type { ReportMeta } from './report.ts';
import type { ScenarioResult } from './run-scenario.ts';
import type { Scenario } from './scenarios.ts';
import type { TargetCheck } from './targets.ts';

// Loading the clients and the core from source takes a second or two: the first line comes before it,
// and the modules that need them are imported after it.
process.stderr.write('bench: loading the clients…\n');
const { parseCommandLine, USAGE } = await import('./cli.ts');
const { CLIENTS, cockatielBare } = await import('./clients.ts');
const { consoleSummary } = await import('./console.ts');
const { runOverhead } = await import('./overhead.ts');
const { runFleet } = await import('./fleet/run-fleet.ts');
const { tryStartRedis } = await import('./fleet/redis.ts');
const { markdownReport } = await import('./report.ts');
const { runScenario } = await import('./run-scenario.ts');
const { runOverlapped } = await import('./overlap.ts');
const { renderScenarioSvg } = await import('./svg.ts');
const { checkTargets } = await import('./targets.ts');

/**
 * Each scenario starts as soon as the previous one's scripted load is over: the late calls of the one
 * before (p-retry's 1 + 2 + 4 s of backoff, calls queued behind a limiter) settle meanwhile, on their own
 * servers, instead of holding the run for up to 8 s per scenario.
 */
async function runScenarios(plan: Plan, progress: ProgressReporter): Promise<ScenarioResult[]> {
  const { scenarios, clients, scale } = plan;
  let current = -1;
  return runOverlapped(scenarios.length, async (i, ready) => {
    const scenario = scenarios[i] as Scenario;
    const wallStart = performance.now();
    current = i;
    progress.scenario(i);
    const result = await runScenario(scenario, clients, {
      scale,
      // Only the scenario that has the stage reports; one that is draining is silent.
      onProgress: (p) => {
        if (current === i) progress.update(p);
      },
      onLoadEnd: ready,
    });
    progress.log(
      `[${i + 1}/${scenarios.length}] ${scenario.name} done (${(result.durationMs / 1000).toFixed(1)} s scripted, ${((performance.now() - wallStart) / 1000).toFixed(1)} s with drain)`,
    );
    return result;
  });
}

/** The overhead of the chosen clients, raw fetch first (added when not chosen) and cockatiel bare last. */
async function runOverheadOf(
  clients: readonly ClientSpec[],
  progress: ProgressReporter,
): Promise<OverheadResult> {
  progress.overhead();
  const overheadClients = [
    ...clients.filter((c) => c.name === 'fetch'),
    ...clients.filter((c) => c.name !== 'fetch'),
  ];
  if (overheadClients[0]?.name !== 'fetch') overheadClients.unshift(CLIENTS[0] as ClientSpec);
  // The Redis store lane (issue 14) needs a redis-server of its own for the section's batches.
  const redis = await tryStartRedis();
  try {
    const overhead = await runOverhead([...overheadClients, cockatielBare], {
      redis: 'unavailable' in redis ? redis : { url: redis.url },
    });
    progress.log('overhead done');
    return overhead;
  } finally {
    if (!('unavailable' in redis)) await redis.stop();
  }
}

async function writeResults(
  outDir: string,
  results: readonly ScenarioResult[],
  overhead: OverheadResult | null,
  targets: readonly TargetCheck[],
  meta: ReportMeta,
  fleet: FleetResult | undefined,
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'latest.json'),
    `${JSON.stringify({ meta, targets, scenarios: results, overhead, ...(fleet ? { fleet } : {}) }, null, 1)}\n`,
  );
  await writeFile(join(outDir, 'report.md'), markdownReport(results, overhead, targets, meta, fleet));
  for (const result of results)
    await writeFile(join(outDir, `${result.name}.svg`), renderScenarioSvg(result));
}

async function main(): Promise<void> {
  let plan: Plan | null;
  try {
    plan = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    // Bad arguments: what was wrong and the usage, not a stack.
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (!plan) {
    process.stdout.write(USAGE);
    return;
  }
  const began = performance.now();
  const progress = new ProgressReporter({
    scenarios: plan.scenarios.map((s) => planned(s, plan.scale)),
    overhead: plan.withOverhead,
  });
  progress.start();
  const results = await runScenarios(plan, progress);
  const fleet = plan.withFleet
    ? await runFleet({ scale: plan.scale, onLog: (line) => progress.log(line) })
    : undefined;
  const overhead = plan.withOverhead ? await runOverheadOf(plan.clients, progress) : null;
  const totalMs = performance.now() - began;
  const targets = checkTargets(results, overhead, fleet);
  progress.stop();
  const meta: ReportMeta = {
    date: new Date().toISOString(),
    node: process.versions.node,
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
    totalMs,
    clients: plan.clients.map((c) => ({ name: c.name, description: c.description })),
  };
  await writeResults(plan.outDir, results, overhead, targets, meta, fleet);
  progress.log(`wrote ${relative(process.cwd(), plan.outDir)} in ${(totalMs / 1000).toFixed(1)} s`);
  const report = relative(process.cwd(), join(plan.outDir, 'report.md'));
  process.stdout.write(`${consoleSummary(results, targets, report, fleet).join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
