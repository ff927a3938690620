/** `labelset zeroshot|ensemble`: bake hand-written-prompt label sets into an artifact file. */
import type { Command } from 'commander';
import { encodeLabelSet } from '../../../core/labelset/artifact.ts';
import { CLIP_SINGLE_TEMPLATE, DEFAULT_ENSEMBLE_TEMPLATES, fillTemplate } from '../../../core/templates.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { buildPromptLabelSet, parseLabelList } from '../../labelset-builder.ts';
import { TextTower } from '../../text-tower.ts';
import { addLabels } from '../../coop/context-tools.ts';
import { readLabelSetFile, readTemplatesFile } from '../../labelset-files.ts';
import { DEFAULT_MODEL_DIR, writeFileAtomic } from '../common.ts';
import { emit } from '../output.ts';

interface BuildOpts { model: string; labels: string; out: string; json?: boolean; f16?: boolean }

async function build(opts: BuildOpts, templates: string[], method: 'zeroshot' | 'ensemble'): Promise<void> {
  const labels = parseLabelList(opts.labels);
  const ckpt = loadCheckpoint(opts.model);
  const tower = await TextTower.create(ckpt);
  try {
    const artifact = await buildPromptLabelSet(ckpt, tower, labels, templates, method);
    const bytes = encodeLabelSet(artifact, { embeddingDtype: opts.f16 ? 'F16' : 'F32' });
    writeFileAtomic(opts.out, bytes);
    emit(opts, { out: opts.out, method, labels, templates, version: artifact.version, model_id: artifact.modelId, model_sha256: artifact.modelSha256, bytes: bytes.byteLength },
      () => `wrote ${opts.out}: ${method} label set, ${labels.length} labels, ${templates.length} template(s), version ${artifact.version}`);
  } finally {
    await tower.dispose();
  }
}

export function registerLabelsetCommands(program: Command): Command {
  const labelset = program.command('labelset').description('Build label sets (baked class embeddings) for the worker.');
  labelset
    .command('zeroshot')
    .description('CLIP zero-shot label set: one prompt template per class.')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--labels <a,b,c>', 'comma-separated class names')
    .option('--template <text>', 'prompt template with {} for the class name', CLIP_SINGLE_TEMPLATE)
    .requiredOption('--out <file>', 'artifact to write (.safetensors)')
    .option('--f16', 'store class embeddings as float16 (half the size)')
    .option('--json', 'print a JSON summary and nothing else on stdout')
    .action(async (opts: BuildOpts & { template: string }) => {
      fillTemplate(opts.template, 'x');
      await build(opts, [opts.template], 'zeroshot');
    });
  labelset
    .command('ensemble')
    .description('CLIP prompt-ensemble label set: per class, the renormalised mean embedding of several templates.')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--labels <a,b,c>', 'comma-separated class names')
    .option('--templates <file>', 'templates file (JSON array or one per line); default: the built-in set')
    .requiredOption('--out <file>', 'artifact to write (.safetensors)')
    .option('--f16', 'store class embeddings as float16 (half the size)')
    .option('--json', 'print a JSON summary and nothing else on stdout')
    .action(async (opts: BuildOpts & { templates?: string }) => {
      await build(opts, opts.templates ? readTemplatesFile(opts.templates) : [...DEFAULT_ENSEMBLE_TEMPLATES], 'ensemble');
    });
  labelset
    .command('add-labels')
    .description('Add classes to a CoOp label set with its learned unified context, without retraining (refused for class-specific contexts).')
    .option('--model <dir>', 'the Hugging Face CLIP folder the label set was trained on', DEFAULT_MODEL_DIR)
    .requiredOption('--from <file>', 'CoOp label set (.safetensors)')
    .requiredOption('--labels <x,y>', 'comma-separated new class names')
    .requiredOption('--out <file>', 'label set to write (.safetensors)')
    .option('--json', 'print a JSON summary and nothing else on stdout')
    .action(async (opts: { model: string; from: string; labels: string; out: string; json?: boolean }) => {
      const labels = parseLabelList(opts.labels);
      const ckpt = loadCheckpoint(opts.model);
      const artifact = readLabelSetFile(opts.from, ckpt);
      const tower = await TextTower.create(ckpt);
      try {
        const next = await addLabels(ckpt, tower, artifact, labels);
        writeFileAtomic(opts.out, encodeLabelSet(next));
        emit(opts, { out: opts.out, labels: next.labels, added: labels, version: next.version }, () => `wrote ${opts.out}: ${next.labels.length} labels (added ${labels.join(', ')}), version ${next.version}`);
      } finally {
        await tower.dispose();
      }
    });
  return labelset;
}
