/** `bench` (npm run bench): the performance comparisons of docs/performance.md; code in bench/. */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { BENCH_ROWS, RESULTS_JSON, formatResults, runBench, type BenchRow } from '../../../../bench/run.ts';
import { info } from '../output.ts';

function parseRows(raw: string): BenchRow[] {
  const rows = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const r of rows) if (!(BENCH_ROWS as readonly string[]).includes(r)) throw new InvalidArgumentError(`unknown bench row "${r}"; rows: ${BENCH_ROWS.join(', ')}.`);
  return rows as BenchRow[];
}

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('Run the benchmarks (worker latency in workerd, Transformers.js, WASM vs native encoder, memory, scoring, CoOp step vs PyTorch, quantisation accuracy); print tables and write bench/results.json. Takes a few minutes; not part of npm test.')
    .option('--only <rows>', `comma-separated subset of: ${BENCH_ROWS.join(', ')}`, parseRows)
    .option('--quick', 'fewer repetitions (smoke run; figures are noisier)')
    .option('--out <file>', 'results file', RESULTS_JSON)
    .option('--json', 'print the results JSON instead of the tables')
    .action(async (opts: { only?: BenchRow[]; quick?: boolean; out: string; json?: boolean }) => {
      const results = await runBench({ rows: opts.only ?? [...BENCH_ROWS], quick: opts.quick ?? false, out: opts.out, log: info });
      process.stdout.write(opts.json ? `${JSON.stringify(results)}\n` : `${formatResults(results)}\n`);
      info(`wrote ${opts.out}`);
    });
}
