/**
 * `train`: learn a head (CoOp, KgCoOp, a linear head, Tip-Adapter, or the best of the feature heads)
 * on a few-shot image folder, or from unlabelled images and class names, and bake it into a label set.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../../core/errors.ts';
import { encodeLabelSet, type LabelSetArtifact } from '../../../core/labelset/artifact.ts';
import { loadCheckpoint } from '../../checkpoint.ts';
import { runCoopJob } from '../../coop/train-job.ts';
import { DEFAULT_MODEL_DIR, DEFAULT_SEED, EXIF_OPTION_HELP, parseExifOption, parseFloatOption, parseIntOption, REPO_ROOT, writeFileAtomic } from '../common.ts';
import type { ExifMode } from '../../../core/image/exif-orientation.ts';
import { addCoopOptions, coopSettingsFrom, type CoopFlagValues } from '../coop-flags.ts';
import { emit, info, warn } from '../output.ts';
import { progressBar } from '../progress.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { autoHead } from '../../heads/auto.ts';
import { featureHead } from '../../heads/methods.ts';
import { runUnlabeledJob } from '../../heads/unlabeled-job.ts';
import { parseLabelList } from '../../labelset-builder.ts';
import { coopHead, type HeadMethod } from '../../steps/train.ts';

export const TRAIN_METHODS = ['coop', 'kgcoop', 'linear-zs', 'tip-adapter', 'tip-adapter-f', 'auto'] as const;
type TrainMethod = (typeof TRAIN_METHODS)[number];

interface TrainFlags extends CoopFlagValues {
  model: string; data?: string; evalData?: string; shots: number; seed: number; device: 'cpu' | 'cuda'; method: string;
  unlabeled?: string; labels?: string; labelsFile?: string; pseudoLabels: string;
  out: string; json?: boolean; skipBadImages?: boolean; exif: ExifMode; cacheDir: string; noCache?: boolean; labelNoise: number; cache: boolean;
}

/** `train` starts from the paper's 16 random context vectors unless --ctx-init is given. */
const CONTEXT_DEFAULT = { kind: 'random', nCtx: 16 } as const;

export function registerTrainCommand(program: Command): void {
  const cmd = program
    .command('train')
    .description('Learn a head on K labelled images per class (CLIP stays frozen) and write a label set: CoOp or KgCoOp prompts, a zero-shot-anchored linear head, Tip-Adapter(-F), or auto (the best by cross-validation on the training images). With --unlabeled: from unlabelled images and class names.')
    .option('--method <m>', 'coop | kgcoop | linear-zs | tip-adapter | tip-adapter-f | auto (see "Methods" below)', 'coop')
    .option('--model <dir>', 'Hugging Face CLIP folder', DEFAULT_MODEL_DIR)
    .option('--data <dir>', 'training image folder: DIR/<label>/<images> (or --unlabeled)')
    .option('--unlabeled <dir>', 'train from unlabelled images (every image file below DIR) and the class names of --labels / --labels-file; the kept images per class are --shots')
    .option('--labels <a,b,c>', 'with --unlabeled: the class names')
    .option('--labels-file <file>', 'with --unlabeled: the class names, one per line')
    .option('--pseudo-labels <kind>', 'with --unlabeled: soft (PET: mean of the prompt templates\' softmax) or hard (their argmax, UPL)', 'soft')
    .option('--eval-data <dir>', 'image folder to measure accuracy on (the head and the "a photo of a {}." zero-shot baseline)')
    .requiredOption('--shots <k>', 'images per class, sampled with the seed (with --unlabeled: most confident images kept per class)', parseIntOption('--shots', 1))
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
    .addHelpText('after', TRAIN_HELP)
    .action(async (f: TrainFlags, command: Command) => {
      const seedNote = command.getOptionValueSource('seed') === 'default' ? ` (the default; --seed <s> for another)` : '';
      if (!(TRAIN_METHODS as readonly string[]).includes(f.method)) throw new InvalidArgumentError(`--method must be one of ${TRAIN_METHODS.join(', ')}, not "${f.method}".`);
      const methodId = f.method as TrainMethod;
      if (f.device !== 'cpu' && f.device !== 'cuda') throw new InvalidArgumentError(`--device must be cpu or cuda, not "${f.device}".`);
      if (f.unlabeled !== undefined) return trainUnlabeled(f, methodId, seedNote);
      if (f.data === undefined) throw new InvalidArgumentError('--data DIR (labelled images, DIR/<label>/<images>) or --unlabeled DIR with --labels is required.');
      if (f.labels !== undefined || f.labelsFile !== undefined) throw new InvalidArgumentError('--labels and --labels-file go with --unlabeled; with --data the labels are the class folder names.');
      // KgCoOp starts, as in its paper, from "a photo of a" unless a context is asked for.
      const contextDefault = methodId === 'kgcoop' && command.getOptionValueSource('nCtx') === 'default' && f.ctxInit === undefined ? ({ kind: 'words', ctxInit: 'a photo of a' } as const) : CONTEXT_DEFAULT;
      const coop = coopSettingsFrom(methodId === 'kgcoop' && contextDefault.kind === 'words' ? { ...f, nCtx: undefined } as CoopFlagValues : f, contextDefault);
      const ckpt = loadCheckpoint(f.model);
      const method: HeadMethod | undefined = methodId === 'coop' ? undefined
        : methodId === 'kgcoop' ? coopHead({ ...coop, knowledgeGuided: true, labelNoise: f.labelNoise })
          : methodId === 'auto' ? autoHead() : featureHead(methodId);
      const r = await runCoopJob(ckpt, {
        ...coop, shots: f.shots, seed: f.seed, device: f.device, labelNoise: f.labelNoise, method,
        dataDir: f.data, evalDir: f.evalData, skipBadImages: !!f.skipBadImages, exif: f.exif, cacheDir: f.cache ? f.cacheDir : undefined,
      }, { warn, progress: progressBar });
      // Written only after everything succeeded: a failed run leaves no file behind.
      writeFileAtomic(f.out, encodeLabelSet(r.artifact));
      const a = r.artifact;
      const isPrompt = a.method === 'coop' || a.method === 'kgcoop';
      const doc = {
        method: a.method, shots: f.shots, seed: f.seed,
        zeroshot_accuracy: r.eval?.zeroshot.accuracy ?? null, accuracy: r.eval?.coop.accuracy ?? null, eval_n: r.eval?.coop.n ?? 0,
        loss: r.lossPerEpoch, train_accuracy: r.accuracyPerEpoch, seconds: r.seconds, train_seconds: r.trainSeconds,
        epochs: r.epochs, steps: r.steps, train_n: r.trainN,
        ...(isPrompt ? { n_ctx: Number(a.extra['n_ctx']), csc: !!f.csc, class_token_position: coop.classTokenPosition, ctx_init: a.extra['ctx_init'] || null } : { head: headSummary(a) }),
        ...(r.selection ? { candidates: r.selection.candidates, folds: r.selection.folds } : {}),
        out: f.out, version: a.version, feature_cache: r.cache,
      };
      if (!f.json) info(`trained ${a.method}${r.selection ? ' (auto)' : ''} in ${r.trainSeconds.toFixed(1)} s${r.lossPerEpoch.length ? `; final loss ${r.lossPerEpoch.at(-1)?.toFixed(4)}` : ''}`);
      emit(f, doc, () => [
        `wrote ${f.out} (${a.method}, version ${a.version})`,
        `seed ${f.seed}${seedNote}, ${f.shots} shots${r.epochs ? `, ${r.epochs} epochs` : ''}`,
        ...(r.selection ? [`auto: ${r.selection.folds}-fold cross-validation on the training images:`, ...r.selection.candidates.map((c) => `  ${c.method.padEnd(14)} ${(c.validation_accuracy * 100).toFixed(1).padStart(5)}%  log-likelihood ${c.validation_log_likelihood.toFixed(3)}${c.method === r.selection!.winner ? '  <- chosen' : ''}`)] : []),
        ...(r.eval ? [`accuracy on ${r.eval.coop.n} eval images: ${a.method} ${(r.eval.coop.accuracy * 100).toFixed(2)}%  vs zero-shot "a photo of a {}." ${(r.eval.zeroshot.accuracy * 100).toFixed(2)}%`] : []),
      ].join('\n'));
    });
}

function headSummary(a: LabelSetArtifact): Record<string, unknown> {
  const h = a.head;
  if (!h || h.kind === 'cosine') return { kind: 'cosine' };
  if (h.kind === 'linear') return { kind: 'linear', bias: !!h.bias };
  return { kind: 'tip-adapter', cache_size: h.size, alpha: h.alpha, beta: h.beta, search: a.extra['search'] ?? null };
}

function readLabelsFlag(f: TrainFlags): string[] {
  if (f.labels !== undefined && f.labelsFile !== undefined) throw new InvalidArgumentError('give the class names once: --labels or --labels-file, not both.');
  if (f.labelsFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(f.labelsFile, 'utf8');
    } catch (cause) {
      throw new InvalidArgumentError(`cannot read --labels-file ${f.labelsFile}: ${(cause as Error).message}`, { cause });
    }
    return parseLabelList(text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).join(','));
  }
  if (f.labels === undefined) throw new InvalidArgumentError('--unlabeled needs the class names: --labels a,b,c or --labels-file FILE.');
  return parseLabelList(f.labels);
}

async function trainUnlabeled(f: TrainFlags, methodId: TrainMethod, seedNote: string): Promise<void> {
  if (f.data !== undefined) throw new InvalidArgumentError('--unlabeled and --data exclude each other: --unlabeled trains from images without labels.');
  if (methodId === 'coop' || methodId === 'kgcoop') throw new InvalidArgumentError(`--unlabeled trains a feature head: --method linear-zs, tip-adapter, tip-adapter-f or auto (not ${methodId}).`);
  if (f.pseudoLabels !== 'soft' && f.pseudoLabels !== 'hard') throw new InvalidArgumentError(`--pseudo-labels must be soft or hard, not "${f.pseudoLabels}".`);
  const labels = readLabelsFlag(f);
  const ckpt = loadCheckpoint(f.model);
  const r = await runUnlabeledJob(ckpt, {
    unlabeledDir: f.unlabeled!, labels, method: methodId, perClass: f.shots, pseudoLabels: f.pseudoLabels, seed: f.seed,
    evalDir: f.evalData, device: f.device, skipBadImages: !!f.skipBadImages, exif: f.exif, cacheDir: f.cache ? f.cacheDir : undefined,
  }, { warn, progress: progressBar });
  writeFileAtomic(f.out, encodeLabelSet(r.artifact));
  const a = r.artifact;
  const gain = r.eval ? r.eval.head.accuracy - r.eval.zeroshot.accuracy : null;
  const doc = {
    method: a.method, unlabeled: true, pseudo_labels: f.pseudoLabels, shots: f.shots, seed: f.seed, unlabeled_n: r.unlabeledN, kept_per_class: r.keptPerClass,
    zeroshot_accuracy: r.eval?.zeroshot.accuracy ?? null, accuracy: r.eval?.head.accuracy ?? null, gain_vs_zeroshot: gain, eval_n: r.eval?.head.n ?? 0,
    seconds: r.seconds, train_seconds: r.trainSeconds, train_n: r.keptPerClass.reduce((x, y) => x + y, 0), head: headSummary(a),
    ...(r.selection ? { candidates: r.selection.candidates, folds: r.selection.folds } : {}),
    out: f.out, version: a.version,
  };
  emit(f, doc, () => [
    `wrote ${f.out} (${a.method} from ${r.unlabeledN} unlabelled images, ${f.pseudoLabels} pseudo-labels, kept per class: ${r.keptPerClass.join(' ')}; version ${a.version})`,
    `seed ${f.seed}${seedNote}`,
    ...(r.eval ? [`accuracy on ${r.eval.head.n} eval images: ${a.method} ${(r.eval.head.accuracy * 100).toFixed(2)}%  vs zero-shot ${(r.eval.zeroshot.accuracy * 100).toFixed(2)}% (${gain! >= 0 ? '+' : ''}${(gain! * 100).toFixed(2)} points)`] : ['no --eval-data: gain against zero-shot not measured']),
  ].join('\n'));
}

const TRAIN_HELP = `
Methods (all keep CLIP frozen; all but coop/kgcoop train in seconds on cached image features):
  coop           CoOp: learns the prompt context through the text tower (minutes).
  kgcoop         CoOp + KgCoOp's knowledge-guided term (lambda 8) pulling the learned class
                 embeddings towards "a photo of a {}."; context starts from "a photo of a".
  linear-zs      linear head initialised from the zero-shot classifier, held near it by CLAP's
                 class-adaptive constraint as a fixed prior worth 2 images per class: the
                 more shots, the weaker the pull (no validation set needed).
  tip-adapter    training-free cache of the shots; alpha/beta by leave-one-out search on them.
  tip-adapter-f  Tip-Adapter with the cache keys fine-tuned.
  auto           cross-validates zeroshot, ensemble, linear-zs, tip-adapter and tip-adapter-f on
                 the training images (never --eval-data) and trains the best by validation
                 log-likelihood (the prompts must beat the best head by 2 standard errors);
                 the summary lists every candidate's validation accuracy and log-likelihood.

Examples:
  npx prompt-edge train --method auto --data ../shared/datasets/cifar10-sketch-fewshot/train \\
    --eval-data ../shared/datasets/cifar10-sketch-fewshot/test --shots 16 --out sketch.safetensors
  npx prompt-edge train --method linear-zs --unlabeled ./photos --labels cat,dog,ship --shots 16 --out pets.safetensors`;
