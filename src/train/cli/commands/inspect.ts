/** `inspect`: an artifact's metadata and tensor shapes. */
import type { Command } from 'commander';
import { readLabelSetFile } from '../../labelset-files.ts';
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
      const doc = {
        format: 'prompt-edge/labelset@1', labels: a.labels, model_id: a.modelId, model_sha256: a.modelSha256, logit_scale: a.logitScale,
        method: a.method, templates: a.templates ?? null, metrics: a.metrics, created_at: a.createdAt, version: a.version,
        shapes: { class_embeddings: [a.labels.length, a.dim], ...(a.ctx ? { ctx: a.ctx.shape } : {}) }, extra: a.extra,
        ...(nearest ? { nearest_words: nearest } : {}),
      };
      emit(opts, doc, () => [
        `${file}`,
        `  method        ${a.method}`,
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
