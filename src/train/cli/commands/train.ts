/** `train`: learn a CoOp context on a few-shot image folder and bake it into a label set. */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { encodeLabelSet } from '../../../core/labelset/artifact.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { runCoopJob } from '../../coop/train-job.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_SEED, EXIF_OPTION_HELP, parseExifOption, parseFloatOption, parseIntOption, REPO_ROOT, writeFileAtomic } from '../common.ts';
import type { ExifMode } from '../../../core/image/exif-orientation.ts';
import { addCoopOptions, coopSettingsFrom, type CoopFlagValues } from '../coop-flags.ts';
import { emit, info, warn } from '../output.ts';
import { progressBar } from '../progress.ts';
import { resolve } from 'node:path';

interface TrainFlags extends CoopFlagValues {
  model: string; data: string; evalData?: string; shots: number; seed: number; device: 'cpu' | 'cuda';
  out: string; json?: boolean; skipBadImages?: boolean; exif: ExifMode; cacheDir: string; noCache?: boolean; labelNoise: number; cache: boolean;
}

/** `train` starts from the paper's 16 random context vectors unless --ctx-init is given. */
const CONTEXT_DEFAULT = { kind: 'random', nCtx: 16 } as const;

export function registerTrainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description('Learn a CoOp prompt context on K labelled images per class (CLIP stays frozen) and write a coop label set.')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--data <dir>', 'training image folder: DIR/<label>/<images>')
    .option('--eval-data <dir>', 'image folder to measure accuracy on (CoOp and the "a photo of a {}." zero-shot baseline)')
    .requiredOption('--shots <k>', 'images per class, sampled with the seed', parseIntOption('--shots', 1))
    .option('--seed <s>', 'random seed (sampling, init, augmentation, order); the run summary says which was used', parseIntOption('--seed', 0), DEFAULT_SEED);
  addCoopOptions(cmd, CONTEXT_DEFAULT)
    .option('--label-noise <f>', 'replace this fraction of training labels with a wrong class (robustness study)', parseFloatOption('--label-noise', 0, 1), 0)
    .option('--device <d>', 'cpu | cuda (needs the CUDA build of onnxruntime-node)', 'cpu')
    .option('--cache-dir <dir>', 'image feature cache', resolve(REPO_ROOT, '.cache'))
    .option('--no-cache', 'do not read or write the feature cache')
    .option('--skip-bad-images', 'skip unreadable or non-image files with a warning instead of failing')
    .option('--exif <mode>', EXIF_OPTION_HELP, parseExifOption, 'apply')
    .requiredOption('--out <file>', 'label set to write (.safetensors)')
    .option('--json', 'print the run summary as one JSON document on stdout')
    .addHelpText('after', '\nExample:\n  npx prompt-edge train --data ../shared/datasets/cifar10-sketch-fewshot/train \\\n    --eval-data ../shared/datasets/cifar10-sketch-fewshot/test --shots 16 --out sketch.safetensors')
    .action(async (f: TrainFlags, command: Command) => {
      const seedNote = command.getOptionValueSource('seed') === 'default' ? ` (the default; --seed <s> for another)` : '';
      const coop = coopSettingsFrom(f, CONTEXT_DEFAULT);
      if (f.device !== 'cpu' && f.device !== 'cuda') throw new InvalidArgumentError(`--device must be cpu or cuda, not "${f.device}".`);
      const ckpt = loadCheckpoint(f.model);
      const r = await runCoopJob(ckpt, {
        ...coop, shots: f.shots, seed: f.seed, device: f.device, labelNoise: f.labelNoise,
        dataDir: f.data, evalDir: f.evalData, skipBadImages: !!f.skipBadImages, exif: f.exif, cacheDir: f.cache ? f.cacheDir : undefined,
      }, { warn, progress: progressBar });
      // Written only after everything succeeded: a failed run leaves no file behind.
      writeFileAtomic(f.out, encodeLabelSet(r.artifact));
      const doc = {
        method: 'coop', shots: f.shots, seed: f.seed,
        zeroshot_accuracy: r.eval?.zeroshot.accuracy ?? null, accuracy: r.eval?.coop.accuracy ?? null, eval_n: r.eval?.coop.n ?? 0,
        loss: r.lossPerEpoch, train_accuracy: r.accuracyPerEpoch, seconds: r.seconds, train_seconds: r.trainSeconds,
        epochs: r.epochs, steps: r.steps, train_n: r.trainN, n_ctx: Number(r.artifact.extra['n_ctx']), csc: !!f.csc,
        class_token_position: coop.classTokenPosition, ctx_init: f.ctxInit ?? null, out: f.out, version: r.artifact.version, feature_cache: r.cache,
      };
      if (!f.json) info(`trained ${r.steps} steps in ${r.trainSeconds.toFixed(1)} s; final loss ${r.lossPerEpoch.at(-1)?.toFixed(4)}`);
      emit(f, doc, () => [
        `wrote ${f.out} (coop, version ${r.artifact.version})`,
        `seed ${f.seed}${seedNote}, ${f.shots} shots, ${r.epochs} epochs`,
        ...(r.eval ? [`accuracy on ${r.eval.coop.n} eval images: coop ${(r.eval.coop.accuracy * 100).toFixed(2)}%  vs zero-shot "a photo of a {}." ${(r.eval.zeroshot.accuracy * 100).toFixed(2)}%`] : []),
      ].join('\n'));
    });
}
