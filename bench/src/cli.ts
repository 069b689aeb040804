/**
 * The bench's command line: what to run and where the run is written. Kept apart from main.ts (which
 * runs on import) so the output-path rule is tested without running a bench.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ClientSpec } from './client.ts';
import { CLIENTS } from './clients.ts';
import { SCENARIOS, type Scenario } from './scenarios.ts';

/** bench/, the package folder every output path is under. */
export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Where a run writes. `out/` is git-ignored: a run leaves a clone's `git status` clean. Only
 * `--publish` writes `results/`, the committed report the READMEs link.
 */
export function outputDir(run: { readonly full: boolean; readonly publish: boolean }): string {
  if (run.publish) return join(BENCH_DIR, 'results');
  return join(BENCH_DIR, 'out', run.full ? '' : 'partial');
}

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

/** What the command line asks for. */
export interface Plan {
  readonly scenarios: readonly Scenario[];
  readonly clients: readonly ClientSpec[];
  readonly scale: number;
  readonly withOverhead: boolean;
  /** Run the fleet part (issue 14): on a full run, with `--fleet`, or when `--scenario` names `fleet`. */
  readonly withFleet: boolean;
  readonly outDir: string;
}

/** The `--scenario` name of the fleet part, which is not a scenario of the table but runs with them. */
export const FLEET = 'fleet';

export const USAGE =
  `usage: pnpm bench [--scenario ${[...SCENARIOS.map((s) => s.name), FLEET].join('|')}]\n` +
  `                  [--client ${CLIENTS.map((c) => c.name).join('|')}]\n` +
  '                  [--scale 0.2] [--no-overhead] [--no-fleet] [--overhead-only] [--publish]\n' +
  'A run writes bench/out/ (a filtered or scaled one bench/out/partial/), both git-ignored.\n' +
  '--overhead-only: the overhead section alone (bench/out/partial/).\n' +
  '--publish: a full run that writes bench/results/, the committed report.\n';

/** Parses the arguments after `pnpm bench`; null when they ask for the usage text. */
export function parseCommandLine(args: readonly string[]): Plan | null {
  const { values } = parseArgs({
    args: args.filter((a) => a !== '--'),
    options: {
      scenario: { type: 'string', multiple: true },
      client: { type: 'string', multiple: true },
      scale: { type: 'string' },
      overhead: { type: 'boolean' },
      fleet: { type: 'boolean' },
      'overhead-only': { type: 'boolean' },
      publish: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowNegative: true,
  });
  if (values.help) return null;
  if (values['overhead-only']) return overheadOnly(values);
  const named = values.scenario?.flatMap((w) => w.split(',')).filter((w) => w !== '');
  const fleetNamed = named?.includes(FLEET) === true;
  const others = named?.filter((n) => n !== FLEET);
  // `--scenario fleet` alone runs the fleet part and no scenario of the table.
  const scenarios = fleetNamed && others?.length === 0 ? [] : pickByName(SCENARIOS, others, 'scenario');
  const clients = pickByName(CLIENTS, values.client, 'client');
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0 && scale <= 1)) throw new RangeError(`--scale must be in (0, 1], got ${values.scale}`);
  const full = values.scenario === undefined && values.client === undefined && scale === 1;
  const withOverhead = values.overhead ?? full;
  const withFleet = values.fleet ?? (full || fleetNamed);
  const publish = values.publish === true;
  // The committed report is read as the whole bench: a part of it must not replace it.
  if (publish && !(full && withOverhead && withFleet)) {
    throw new Error(
      '--publish writes the committed report: it takes a full run (no --scenario, --client, --scale, --no-overhead or --no-fleet)',
    );
  }
  return { scenarios, clients, scale, withOverhead, withFleet, outDir: outputDir({ full, publish }) };
}

/**
 * `--overhead-only`: the overhead section and no scenario, written to bench/out/partial/ (to check that
 * two runs in a row agree within their intervals without the scenarios' two minutes).
 */
function overheadOnly(values: {
  readonly scenario?: string[];
  readonly client?: string[];
  readonly scale?: string;
  readonly overhead?: boolean;
  readonly fleet?: boolean;
  readonly publish?: boolean;
}): Plan {
  if (
    values.scenario ||
    values.scale !== undefined ||
    values.overhead === false ||
    values.fleet ||
    values.publish
  ) {
    throw new Error(
      '--overhead-only runs no scenario: it takes no --scenario, --scale, --no-overhead, --fleet or --publish',
    );
  }
  return {
    scenarios: [],
    clients: pickByName(CLIENTS, values.client, 'client'),
    scale: 1,
    withOverhead: true,
    withFleet: false,
    outDir: outputDir({ full: false, publish: false }),
  };
}
