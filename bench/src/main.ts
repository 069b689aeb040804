/**
 * `pnpm bench [--scenario name[,name]] [--client name[,name]] [--scale n] [--no-overhead]`
 *
 * With no filter it runs every scenario with every client, then the overhead benchmark, and writes
 * bench/results/ (latest.json, report.md, one SVG per scenario). A filtered or scaled run writes to
 * bench/results/partial/ instead, so it never overwrites the committed full run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClientSpec } from './client.ts';
import { CLIENTS, cockatielBare } from './clients.ts';
import { type OverheadResult, runOverhead } from './overhead.ts';
import { formatProgress, ProgressLine } from './progress.ts';
import { markdownReport, type ReportMeta, terminalReport } from './report.ts';
import { runScenario, type ScenarioResult } from './run-scenario.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';
import { renderScenarioSvg } from './svg.ts';
import { checkTargets, type TargetCheck } from './targets.ts';

function pickByName<T extends { readonly name: string }>(
  all: readonly T[],
  wanted: string[] | undefined,
  what: string,
): T[] {
  if (!wanted || wanted.length === 0) return [...all];
  const names = wanted.flatMap((w) => w.split(',')).filter((w) => w !== '');
  return names.map((name) => {
    const found = all.find((x) => x.name === name);
    if (!found) throw new Error(`unknown ${what} "${name}"; known: ${all.map((x) => x.name).join(', ')}`);
    return found;
  });
}

/** What the command line asks for; null when it asks for the usage line. */
interface Plan {
  readonly scenarios: readonly Scenario[];
  readonly clients: readonly ClientSpec[];
  readonly scale: number;
  readonly withOverhead: boolean;
  readonly outDir: string;
}

function parseCommandLine(args: readonly string[]): Plan | null {
  const { values } = parseArgs({
    args: args.filter((a) => a !== '--'),
    options: {
      scenario: { type: 'string', multiple: true },
      client: { type: 'string', multiple: true },
      scale: { type: 'string' },
      overhead: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowNegative: true,
  });
  if (values.help) return null;
  const scenarios = pickByName(SCENARIOS, values.scenario, 'scenario');
  const clients = pickByName(CLIENTS, values.client, 'client');
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`--scale must be in (0, 1], got ${values.scale}`);
  const full = values.scenario === undefined && values.client === undefined && scale === 1;
  const here = dirname(fileURLToPath(import.meta.url));
  return {
    scenarios,
    clients,
    scale,
    withOverhead: values.overhead ?? full,
    outDir: join(here, '..', 'results', full ? '' : 'partial'),
  };
}

async function runScenarios(plan: Plan, progress: ProgressLine): Promise<ScenarioResult[]> {
  const { scenarios, clients, scale } = plan;
  const results: ScenarioResult[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    const wallStart = performance.now();
    const result = await runScenario(scenario, clients, {
      scale,
      onProgress: (p) => progress.update(formatProgress(p, i + 1, scenarios.length)),
    });
    results.push(result);
    progress.log(
      `[${i + 1}/${scenarios.length}] ${scenario.name} done (${(result.durationMs / 1000).toFixed(1)} s scripted, ${((performance.now() - wallStart) / 1000).toFixed(1)} s with drain)`,
    );
  }
  return results;
}

/** The overhead of the chosen clients, raw fetch first (added when not chosen) and cockatiel bare last. */
async function runOverheadOf(
  clients: readonly ClientSpec[],
  progress: ProgressLine,
): Promise<OverheadResult> {
  progress.update('overhead: in-memory fetch, then loopback HTTP…');
  const overheadClients = [
    ...clients.filter((c) => c.name === 'fetch'),
    ...clients.filter((c) => c.name !== 'fetch'),
  ];
  if (overheadClients[0]?.name !== 'fetch') overheadClients.unshift(CLIENTS[0] as ClientSpec);
  const overhead = await runOverhead([...overheadClients, cockatielBare]);
  progress.log('overhead done');
  return overhead;
}

async function writeResults(
  outDir: string,
  results: readonly ScenarioResult[],
  overhead: OverheadResult | null,
  targets: readonly TargetCheck[],
  meta: ReportMeta,
): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await writeFile(
    join(outDir, 'latest.json'),
    `${JSON.stringify({ meta, targets, scenarios: results, overhead }, null, 1)}\n`,
  );
  await writeFile(join(outDir, 'report.md'), markdownReport(results, overhead, targets, meta));
  for (const result of results)
    await writeFile(join(outDir, `${result.name}.svg`), renderScenarioSvg(result));
}

async function main(): Promise<void> {
  const plan = parseCommandLine(process.argv.slice(2));
  if (!plan) {
    process.stdout.write(
      `usage: pnpm bench [--scenario ${SCENARIOS.map((s) => s.name).join('|')}] [--client ${CLIENTS.map((c) => c.name).join('|')}] [--scale 0.2] [--no-overhead]\n`,
    );
    return;
  }
  const began = performance.now();
  const progress = new ProgressLine();
  const results = await runScenarios(plan, progress);
  const overhead = plan.withOverhead ? await runOverheadOf(plan.clients, progress) : null;
  const totalMs = performance.now() - began;
  const targets = checkTargets(results, overhead);
  progress.clear();
  process.stdout.write(`${terminalReport(results, overhead, targets)}\n`);
  const meta: ReportMeta = {
    date: new Date().toISOString(),
    node: process.versions.node,
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown CPU'}`,
    totalMs,
    clients: plan.clients.map((c) => ({ name: c.name, description: c.description })),
  };
  await writeResults(plan.outDir, results, overhead, targets, meta);
  process.stdout.write(`\nwrote ${plan.outDir} in ${(totalMs / 1000).toFixed(1)} s\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
