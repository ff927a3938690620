/** `bench` (npm run bench): the performance comparisons of docs/performance.md; code in bench/. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { REPO_ROOT } from '../common.ts';
import { info } from '../output.ts';

interface BenchCliOpts { only?: string; quick?: boolean; out: string; json?: boolean }

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('Run the benchmarks (worker latency in workerd, load at concurrency 1-64, cold start with the model read from R2, Transformers.js, WASM vs native encoder, memory, scoring, CoOp step vs PyTorch, quantisation accuracy); print tables and write bench/results.json. Takes a few minutes; not part of npm test.')
    .option('--only <rows>', 'comma-separated subset of: worker, load, r2, transformers, encoder, memory, scoring, coop, accuracy')
    .option('--quick', 'fewer repetitions (smoke run; figures are noisier)')
    .option('--out <file>', 'results file', resolve(REPO_ROOT, 'bench', 'results.json'))
    .option('--json', 'print the results JSON instead of the tables')
    .action(async (opts: BenchCliOpts) => {
      // Loaded on demand: the bench pulls in much that other commands never need.
      const { BENCH_ROWS, formatResults, runBench } = await import('../../../../bench/run.ts');
      const rows = opts.only === undefined ? [...BENCH_ROWS] : opts.only.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = rows.filter((r) => !(BENCH_ROWS as readonly string[]).includes(r));
      if (unknown.length > 0) throw new InvalidArgumentError(`unknown bench row(s) ${unknown.join(', ')}; rows: ${BENCH_ROWS.join(', ')}.`);
      const results = await runBench({ rows: rows as (typeof BENCH_ROWS)[number][], quick: opts.quick ?? false, out: opts.out, log: info });
      process.stdout.write(opts.json ? `${JSON.stringify(results)}\n` : `${formatResults(results)}\n`);
      info(`wrote ${opts.out}`);
    });
}
