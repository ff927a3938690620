/** `inspect`: an artifact's metadata and tensor shapes. */
import type { Command } from 'commander';
import { readLabelSetFile } from '../../labelset-files.ts';
import { formatFor } from '../../../core/labelset/artifact.ts';
import type { ClassifierHead } from '../../../core/labelset/head.ts';
import { emit } from '../output.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { nearestWords, type NearestWords } from '../../coop/context-tools.ts';
import { DEFAULT_MODEL_DIR, parseIntOption } from '../common.ts';

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('Show a label set artifact\'s metadata and shapes.')
    .argument('<file>', 'label set artifact (.safetensors)')
    .option('--json', 'print the metadata as JSON and nothing else on stdout')
    .option('--nearest-words <k>', 'CoOp: for each learned context vector, the k nearest vocabulary tokens (Euclidean)', parseIntOption('--nearest-words', 1, 100))
    .option('--model <dir>', 'model whose vocabulary to search (for --nearest-words)', DEFAULT_MODEL_DIR)
    .action((file: string, opts: { json?: boolean; nearestWords?: number; model: string }) => {
      const a = readLabelSetFile(file);
      let nearest: NearestWords[] | undefined;
      if (opts.nearestWords !== undefined) nearest = nearestWords(loadCheckpoint(opts.model), a, opts.nearestWords);
      const head: ClassifierHead = a.head ?? { kind: 'cosine' };
      const headDoc = head.kind === 'cosine' ? { kind: 'cosine' }
        : head.kind === 'linear' ? { kind: 'linear', bias: !!head.bias, weight_norms: rowNorms(a.classEmbeddings, a.dim) }
          : { kind: 'tip-adapter', cache_size: head.size, values: head.values.kind, alpha: head.alpha, beta: head.beta };
      const doc = {
        format: formatFor(a), head: headDoc, labels: a.labels, model_id: a.modelId, model_sha256: a.modelSha256, logit_scale: a.logitScale,
        method: a.method, templates: a.templates ?? null, metrics: a.metrics, created_at: a.createdAt, version: a.version,
        shapes: {
          [head.kind === 'linear' ? 'weight' : 'class_embeddings']: [a.labels.length, a.dim], ...(a.ctx ? { ctx: a.ctx.shape } : {}),
          ...(head.kind === 'linear' && head.bias ? { bias: [a.labels.length] } : {}),
          ...(head.kind === 'tip-adapter' ? { cache_keys: [head.size, a.dim], ...(head.values.kind === 'dense' ? { cache_values: [head.size, a.labels.length] } : { cache_classes: [head.size] }) } : {}),
        },
        extra: a.extra,
        ...(nearest ? { nearest_words: nearest } : {}),
      };
      emit(opts, doc, () => [
        `${file}`,
        `  method        ${a.method}   (${formatFor(a)})`,
        `  head          ${head.kind === 'cosine' ? 'cosine: softmax(logit_scale x cosine with the class embeddings)'
          : head.kind === 'linear' ? `linear: softmax(logit_scale x (W f + b)), ${head.bias ? 'with' : 'no'} bias, weight norms ${summarise(rowNorms(a.classEmbeddings, a.dim))}`
            : `tip-adapter: cache of ${head.size} keys (${head.values.kind} values), alpha ${head.alpha.toFixed(4)}, beta ${head.beta.toFixed(4)}`}`,
        `  version       ${a.version}   created ${a.createdAt}`,
        `  model         ${a.modelId} (vision sha256 ${a.modelSha256.slice(0, 16)}…)`,
        `  labels (${a.labels.length})   ${a.labels.join(', ')}`,
        `  embeddings    [${a.labels.length}, ${a.dim}]${a.ctx ? `   ctx ${JSON.stringify(a.ctx.shape)}` : ''}`,
        `  logit_scale   ${a.logitScale}`,
        ...(a.templates ? [`  templates     ${a.templates.length}: ${a.templates.slice(0, 3).map((t) => JSON.stringify(t)).join(', ')}${a.templates.length > 3 ? ', …' : ''}`] : []),
        ...Object.entries(a.extra).map(([k, v]) => `  ${k.padEnd(13)} ${v}`),
        `  metrics       ${JSON.stringify(a.metrics)}`,
        ...(nearest ? ['  nearest words (Euclidean, token embedding space):', ...nearest.map((n) => `    ${n.vector.padEnd(14)} ${n.words.map((w) => `${w.token} (${w.distance.toFixed(3)})`).join(', ')}`)] : []),
      ].join('\n'));
    });
}

function rowNorms(rows: Float32Array, dim: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows.length / dim; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += rows[r * dim + i]! ** 2;
    out.push(Math.round(Math.sqrt(s) * 1e4) / 1e4);
  }
  return out;
}

function summarise(xs: number[]): string {
  return `${Math.min(...xs).toFixed(3)}..${Math.max(...xs).toFixed(3)}`;
}
