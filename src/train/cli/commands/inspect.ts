/** `inspect`: an artifact's metadata and tensor shapes. */
import type { Command } from 'commander';
import { readLabelSetFile } from './eval.ts';
import { emit } from '../output.ts';

export function registerInspectCommand(program: Command): void {
  program
    .command('inspect')
    .description('Show a label set artifact\'s metadata and shapes.')
    .argument('<file>', 'label set artifact (.safetensors)')
    .option('--json', 'print the metadata as JSON and nothing else on stdout')
    .action((file: string, opts: { json?: boolean }) => {
      const a = readLabelSetFile(file);
      const doc = {
        format: 'prompt-edge/labelset@1', labels: a.labels, model_id: a.modelId, model_sha256: a.modelSha256, logit_scale: a.logitScale,
        method: a.method, templates: a.templates ?? null, metrics: a.metrics, created_at: a.createdAt, version: a.version,
        shapes: { class_embeddings: [a.labels.length, a.dim], ...(a.ctx ? { ctx: a.ctx.shape } : {}) }, extra: a.extra,
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
      ].join('\n'));
    });
}
