/**
 * `npm run bench [-- --only worker,coop] [--quick] [--json] [--out FILE]`: the entry point of the
 * benchmarks (docs/performance.md). It lives beside them, not in the CLI: bench/ imports src/ to
 * measure it, and nothing under src/ imports bench/.
 */
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError as CommanderInvalidArgument } from 'commander';
import { PromptEdgeError } from '../src/core/errors.ts';
import { REPO_ROOT } from './lib/paths.ts';
import { BENCH_ROWS, ENGINE_MODELS, formatResults, runBench, type BenchRow, type EngineModel } from './run.ts';

interface BenchFlags { only?: BenchRow[]; models?: EngineModel[]; quick?: boolean; out: string; json?: boolean }

function parseRows(value: string): BenchRow[] {
  const rows = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = rows.filter((r) => !(BENCH_ROWS as readonly string[]).includes(r));
  if (unknown.length > 0) throw new CommanderInvalidArgument(`unknown bench row(s) ${unknown.join(', ')}; rows: ${BENCH_ROWS.join(', ')}.`);
  if (rows.length === 0) throw new CommanderInvalidArgument(`name at least one row: ${BENCH_ROWS.join(', ')}.`);
  return rows as BenchRow[];
}

function parseModels(value: string): EngineModel[] {
  const models = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = models.filter((m) => !(ENGINE_MODELS as readonly string[]).includes(m));
  if (unknown.length > 0 || models.length === 0) throw new CommanderInvalidArgument(`unknown model(s) ${unknown.join(', ') || '(none)'}; models: ${ENGINE_MODELS.join(', ')}.`);
  return models as EngineModel[];
}

export function buildBenchProgram(): Command {
  return new Command('npm run bench --')
    .description('Run the benchmarks (worker latency in workerd, load at concurrency 1-64, cold start with the model read from R2, Transformers.js, WASM vs native encoder, memory, scoring, CoOp step vs PyTorch, quantisation accuracy); print tables and write bench/results.json. Takes a few minutes; not part of npm test.')
    .option('--only <rows>', `comma-separated subset of: ${BENCH_ROWS.join(', ')}`, parseRows)
    .option('--models <models>', `the engine row's models, comma-separated subset of: ${ENGINE_MODELS.join(', ')} (default: all)`, parseModels)
    .option('--quick', 'fewer repetitions (smoke run; figures are noisier)')
    .option('--out <file>', 'results file', resolve(REPO_ROOT, 'bench', 'results.json'))
    .option('--json', 'print the results JSON instead of the tables')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
}

/** Runs the bench; returns the exit code (0 ok, 1 internal error, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const log = (message: string) => process.stderr.write(`${message}\n`);
  const program = buildBenchProgram();
  try {
    program.parse(argv);
  } catch (err) {
    // --help ends here with exit code 0; usage errors were already printed.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  const flags = program.opts<BenchFlags>();
  try {
    const results = await runBench({ rows: flags.only ?? [...BENCH_ROWS], engineModels: flags.models ?? [...ENGINE_MODELS], quick: flags.quick ?? false, out: flags.out, log });
    process.stdout.write(flags.json ? `${JSON.stringify(results)}\n` : `${formatResults(results)}\n`);
    log(`wrote ${flags.out}`);
    return 0;
  } catch (err) {
    if (err instanceof PromptEdgeError) {
      log(`error: ${err.message}`);
      return 2;
    }
    log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return 1;
  }
}

process.exitCode = await main(process.argv);
