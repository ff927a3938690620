/** `eval`: accuracy, per-class accuracy and confusion matrix of a label set on an image folder. */
import type { Command } from 'commander';
import { loadCheckpoint } from '../../checkpoint.ts';
import { readLabelSetFile } from '../../labelset-files.ts';
import { embedAndEvaluateFolder } from '../../steps/embed.ts';
import { DEFAULT_MODEL_DIR, EXIF_OPTION_HELP, parseExifOption } from '../common.ts';
import type { ExifMode } from '../../../core/image/exif-orientation.ts';
import { emit, warn } from '../output.ts';
import { progressBar } from '../progress.ts';

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('Evaluate a label set on an image folder (DIR/<label>/*.jpg|png).')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--labelset <file>', 'label set artifact (.safetensors)')
    .requiredOption('--data <dir>', 'image folder: one sub-folder per label')
    .option('--skip-bad-images', 'skip unreadable files with a warning instead of failing')
    .option('--exif <mode>', EXIF_OPTION_HELP, parseExifOption, 'apply')
    .option('--predictions', 'include per-file predictions in the JSON output')
    .option('--json', 'print {"accuracy", "n", "per_class", "confusion"} and nothing else on stdout')
    .action(async (opts: { model: string; labelset: string; data: string; json?: boolean; skipBadImages?: boolean; predictions?: boolean; exif: ExifMode }) => {
      const ckpt = loadCheckpoint(opts.model);
      const artifact = readLabelSetFile(opts.labelset, ckpt);
      const r = await embedAndEvaluateFolder(ckpt, artifact, opts.data, { skipBadImages: opts.skipBadImages ?? false, exif: opts.exif }, { warn, progress: progressBar });
      const doc: Record<string, unknown> = { accuracy: r.accuracy, n: r.n, per_class: r.per_class, confusion: r.confusion, labels: r.labels };
      if (opts.predictions) doc['predictions'] = r.files.map((f, i) => ({ file: f, label: r.labels[r.predictions[i]!] }));
      emit(opts, doc, () => [
        `accuracy ${(r.accuracy * 100).toFixed(2)}% on ${r.n} images`,
        ...Object.entries(r.per_class).map(([l, v]) => `  ${l.padEnd(16)} ${(v.accuracy * 100).toFixed(1).padStart(5)}%  (n=${v.n})`),
      ].join('\n'));
    });
}
