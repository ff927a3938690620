/** `eval`: accuracy, per-class accuracy and confusion matrix of a label set on an image folder. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ArtifactError } from '../../../core/errors.ts';
import { decodeLabelSet, type LabelSetArtifact } from '../../../core/labelset/artifact.ts';
import { loadCheckpoint, type ClipCheckpoint } from '../../checkpoint.ts';
import { loadImages, scanImageFolder } from '../../data/image-folder.ts';
import { evaluateEmbeddings, mapDatasetLabels, type EvalResult } from '../../evaluate.ts';
import { ImageTower } from '../../image-tower.ts';
import { DEFAULT_MODEL_DIR } from '../common.ts';
import { emit, warn } from '../output.ts';
import { progressBar } from '../progress.ts';

export function readLabelSetFile(path: string, ckpt?: ClipCheckpoint): LabelSetArtifact {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (cause) {
    throw new ArtifactError(`cannot read label set ${path}: ${(cause as Error).message}`, { cause });
  }
  return decodeLabelSet(bytes, { source: path, ...(ckpt ? { dim: ckpt.config.projection_dim, modelSha256: ckpt.visionSha256 } : {}) });
}

export async function evaluateFolder(ckpt: ClipCheckpoint, artifact: LabelSetArtifact, dataDir: string, opts: { skipBadImages?: boolean; progress?: boolean } = {}): Promise<EvalResult & { files: string[] }> {
  const folder = scanImageFolder(dataDir, { minClasses: 1 });
  const toArtifact = mapDatasetLabels(folder.labels, artifact.labels, folder.root);
  const bar = opts.progress === false ? undefined : progressBar('decode', folder.items.length);
  const loaded = await loadImages(folder.items, { skipBadImages: opts.skipBadImages ?? false, onWarning: warn, onProgress: (d) => bar?.update(d) });
  bar?.stop();
  const tower = await ImageTower.create(ckpt);
  try {
    const ebar = opts.progress === false ? undefined : progressBar('embed', loaded.length);
    const embeddings: Float32Array[] = [];
    for (let i = 0; i < loaded.length; i += 64) {
      embeddings.push(...(await tower.embedImages(loaded.slice(i, i + 64).map((l) => l.image))));
      ebar?.update(Math.min(i + 64, loaded.length));
    }
    ebar?.stop();
    const truth = loaded.map((l) => toArtifact[l.item.labelIndex]!);
    return { ...evaluateEmbeddings(embeddings, truth, artifact), files: loaded.map((l) => l.item.path) };
  } finally {
    await tower.dispose();
  }
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a label set on an image folder (DIR/<label>/*.jpg|png).')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--labelset <file>', 'label set artifact (.safetensors)')
    .requiredOption('--data <dir>', 'image folder: one sub-folder per label')
    .option('--skip-bad-images', 'skip unreadable files with a warning instead of failing')
    .option('--predictions', 'include per-file predictions in the JSON output')
    .option('--json', 'print {"accuracy", "n", "per_class", "confusion"} and nothing else on stdout')
    .action(async (opts: { model: string; labelset: string; data: string; json?: boolean; skipBadImages?: boolean; predictions?: boolean }) => {
      const ckpt = loadCheckpoint(opts.model);
      const artifact = readLabelSetFile(opts.labelset, ckpt);
      const r = await evaluateFolder(ckpt, artifact, opts.data, { skipBadImages: opts.skipBadImages ?? false });
      const doc: Record<string, unknown> = { accuracy: r.accuracy, n: r.n, per_class: r.per_class, confusion: r.confusion, labels: r.labels };
      if (opts.predictions) doc['predictions'] = r.files.map((f, i) => ({ file: f, label: r.labels[r.predictions[i]!] }));
      emit(opts, doc, () => [
        `accuracy ${(r.accuracy * 100).toFixed(2)}% on ${r.n} images`,
        ...Object.entries(r.per_class).map(([l, v]) => `  ${l.padEnd(16)} ${(v.accuracy * 100).toFixed(1).padStart(5)}%  (n=${v.n})`),
      ].join('\n'));
    });
}
