/** `train`: learn a CoOp context on a few-shot image folder and bake it into a label set. */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { encodeLabelSet } from '../../../core/labelset/artifact.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { runCoopJob } from '../../coop/train-job.ts';
import type { ClassTokenPosition } from '../../coop/prompt-learner.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_SEED, parseFloatOption, parseIntOption, REPO_ROOT, writeFileAtomic } from '../common.ts';
import { emit, info, warn } from '../output.ts';
import { progressBar } from '../progress.ts';
import { resolve } from 'node:path';

interface TrainFlags {
  model: string; data: string; evalData?: string; shots: number; seed: number; nCtx: number; ctxInit?: string; csc?: boolean;
  classTokenPosition: ClassTokenPosition; epochs?: number; lr: number; batchSize: number; augViews: number; device: 'cpu' | 'cuda';
  out: string; json?: boolean; skipBadImages?: boolean; cacheDir: string; noCache?: boolean; labelNoise: number; cache: boolean;
}

export function registerTrainCommand(program: Command): void {
  program
    .command('train')
    .description('Learn a CoOp prompt context on K labelled images per class (CLIP stays frozen) and write a coop label set.')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .requiredOption('--data <dir>', 'training image folder: DIR/<label>/<images>')
    .option('--eval-data <dir>', 'image folder to measure accuracy on (CoOp and the "a photo of a {}." zero-shot baseline)')
    .requiredOption('--shots <k>', 'images per class, sampled with the seed', parseIntOption('--shots', 1))
    .option('--seed <s>', 'random seed (sampling, init, augmentation, order); the run summary says which was used', parseIntOption('--seed', 0), DEFAULT_SEED)
    .option('--n-ctx <m>', 'number of context vectors', parseIntOption('--n-ctx', 1, 70), 16)
    .option('--ctx-init <text>', 'initialise the context from these words (n_ctx becomes their token count)')
    .option('--csc', 'class-specific context (one context per class) instead of a unified one')
    .option('--class-token-position <p>', 'where the class name goes: end | middle | front', 'end')
    .option('--epochs <e>', 'epochs (default by shots: 50 for 1, 100 for 2-4, 200 for 8+)', parseIntOption('--epochs', 1))
    .option('--lr <x>', 'SGD learning rate', parseFloatOption('--lr', 0), 0.002)
    .option('--batch-size <b>', 'batch size', parseIntOption('--batch-size', 1), 32)
    .option('--aug-views <n>', 'augmented views per image besides the image itself (random resized crop 0.08-1 + flip; features cached). 0 = no augmentation, best on 32-px images (see docs/results.md)', parseIntOption('--aug-views', 0, 1000), 0)
    .option('--label-noise <f>', 'replace this fraction of training labels with a wrong class (robustness study)', parseFloatOption('--label-noise', 0, 1), 0)
    .option('--device <d>', 'cpu | cuda (needs the CUDA build of onnxruntime-node)', 'cpu')
    .option('--cache-dir <dir>', 'image feature cache', resolve(REPO_ROOT, '.cache'))
    .option('--no-cache', 'do not read or write the feature cache')
    .option('--skip-bad-images', 'skip unreadable or non-image files with a warning instead of failing')
    .requiredOption('--out <file>', 'label set to write (.safetensors)')
    .option('--json', 'print the run summary as one JSON document on stdout')
    .addHelpText('after', '\nExample:\n  npx prompt-edge train --data ../shared/datasets/cifar10-sketch-fewshot/train \\\n    --eval-data ../shared/datasets/cifar10-sketch-fewshot/test --shots 16 --out sketch.safetensors')
    .action(async (f: TrainFlags, cmd: Command) => {
      const seedNote = cmd.getOptionValueSource('seed') === 'default' ? ` (the default; --seed <s> for another)` : '';
      if (!['end', 'middle', 'front'].includes(f.classTokenPosition)) throw new InvalidArgumentError(`--class-token-position must be end, middle or front, not "${f.classTokenPosition}".`);
      if (f.device !== 'cpu' && f.device !== 'cuda') throw new InvalidArgumentError(`--device must be cpu or cuda, not "${f.device}".`);
      const ckpt = loadCheckpoint(f.model);
      const r = await runCoopJob(ckpt, {
        shots: f.shots, seed: f.seed, nCtx: f.nCtx, ctxInit: f.ctxInit, csc: !!f.csc, classTokenPosition: f.classTokenPosition,
        epochs: f.epochs, lr: f.lr, batchSize: f.batchSize, augViews: f.augViews, device: f.device, labelNoise: f.labelNoise,
        dataDir: f.data, evalDir: f.evalData, skipBadImages: !!f.skipBadImages, cacheDir: f.cache ? f.cacheDir : undefined,
      }, { warn, progress: progressBar });
      // Written only after everything succeeded: a failed run leaves no file behind.
      writeFileAtomic(f.out, encodeLabelSet(r.artifact));
      const doc = {
        method: 'coop', shots: f.shots, seed: f.seed,
        zeroshot_accuracy: r.eval?.zeroshot.accuracy ?? null, accuracy: r.eval?.coop.accuracy ?? null, eval_n: r.eval?.coop.n ?? 0,
        loss: r.lossPerEpoch, train_accuracy: r.accuracyPerEpoch, seconds: r.seconds, train_seconds: r.trainSeconds,
        epochs: r.epochs, steps: r.steps, train_n: r.trainN, n_ctx: Number(r.artifact.extra['n_ctx']), csc: !!f.csc,
        class_token_position: f.classTokenPosition, ctx_init: f.ctxInit ?? null, out: f.out, version: r.artifact.version, feature_cache: r.cache,
      };
      if (!f.json) info(`trained ${r.steps} steps in ${r.trainSeconds.toFixed(1)} s; final loss ${r.lossPerEpoch.at(-1)?.toFixed(4)}`);
      emit(f, doc, () => [
        `wrote ${f.out} (coop, version ${r.artifact.version})`,
        `seed ${f.seed}${seedNote}, ${f.shots} shots, ${r.epochs} epochs`,
        ...(r.eval ? [`accuracy on ${r.eval.coop.n} eval images: coop ${(r.eval.coop.accuracy * 100).toFixed(2)}%  vs zero-shot "a photo of a {}." ${(r.eval.zeroshot.accuracy * 100).toFixed(2)}%`] : []),
      ].join('\n'));
    });
}
