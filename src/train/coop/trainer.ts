/**
 * The CoOp training loop (Zhou et al. 2021) with the paper's defaults: SGD lr 0.002, momentum 0.9,
 * weight decay 5e-4, batch 32, one warm-up epoch at lr 1e-5, cosine schedule, epochs by shots.
 * Deterministic for a given seed: sampling, init, augmentation and batch order all come from
 * seeded streams, and floating-point work is done in a fixed order.
 */
import { DataError } from '../../core/errors.ts';
import type { ClipTokenizer } from '../../core/tokenizer/clip-tokenizer.ts';
import type { ImageItem } from '../data/image-folder.ts';
import { rngFor, shuffled } from '../random.ts';
import { CustomClip, type DifferentiableTextEncoder, type KnowledgeAnchor } from './custom-clip.ts';
import { PromptLearner, type ClassTokenPosition, type TokenEmbedder } from './prompt-learner.ts';
import { coopLearningRate, defaultEpochs, Sgd } from './sgd.ts';

export interface CoopOptions {
  shots: number;
  seed: number;
  nCtx: number;
  ctxInit?: string | undefined;
  csc: boolean;
  classTokenPosition: ClassTokenPosition;
  epochs?: number | undefined;
  lr: number;
  batchSize: number;
  momentum: number;
  weightDecay: number;
  warmupEpochs: number;
  warmupLr: number;
  /** KgCoOp: pull the learned class embeddings towards these hand-written-prompt ones. */
  knowledgeAnchor?: KnowledgeAnchor | undefined;
}

/** KgCoOp's weight of the knowledge-guided term (the paper's lambda = 8.0). */
export const KGCOOP_WEIGHT = 8;

export const COOP_DEFAULTS: Omit<CoopOptions, 'shots' | 'seed'> = {
  nCtx: 16,
  csc: false,
  classTokenPosition: 'end',
  lr: 0.002,
  batchSize: 32,
  momentum: 0.9,
  weightDecay: 5e-4,
  warmupEpochs: 1,
  warmupLr: 1e-5,
};

/** K items per class, sampled without replacement with the seed (sorted input -> same pick everywhere). */
export function sampleFewShot(items: readonly ImageItem[], labels: readonly string[], shots: number, seed: number, root = 'data'): ImageItem[] {
  const out: ImageItem[] = [];
  labels.forEach((label, c) => {
    const pool = items.filter((it) => it.labelIndex === c);
    if (pool.length < shots) throw new DataError(`--shots ${shots} is more than class "${label}" has (${pool.length} images in ${root}/${label}).`);
    out.push(...shuffled(pool, rngFor(seed, 'fewshot', label)).slice(0, shots));
  });
  return out;
}

/** Replaces the label of a fraction of items by a different random class (label-noise study). */
export function flipLabels(labels: readonly number[], numClasses: number, fraction: number, seed: number): number[] {
  const rng = rngFor(seed, 'label-noise');
  const idx = shuffled(labels.map((_, i) => i), rng).slice(0, Math.round(fraction * labels.length));
  const out = [...labels];
  for (const i of idx) out[i] = (labels[i]! + 1 + Math.floor(rng() * (numClasses - 1))) % numClasses;
  return out;
}

export interface EpochReport {
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss: number;
  accuracy: number;
  lr: number;
}

export interface CoopResult {
  learner: PromptLearner;
  classEmbeddings: Float32Array;
  lossPerEpoch: number[];
  accuracyPerEpoch: number[];
  epochs: number;
  steps: number;
}

/**
 * Trains the context. `features[i][v]` is the L2-normalised feature of view v of training image i;
 * `labels[i]` its class. Epoch e uses a seeded choice of view per image.
 */
export async function trainCoop(
  classNames: readonly string[],
  tokenizer: ClipTokenizer,
  tower: TokenEmbedder & DifferentiableTextEncoder,
  logitScale: number,
  features: readonly (readonly Float32Array[])[],
  labels: readonly number[],
  opts: CoopOptions,
  onStep?: (r: EpochReport) => void,
): Promise<CoopResult> {
  const learner = new PromptLearner(classNames, tokenizer, tower, opts, rngFor(opts.seed, 'ctx-init'));
  const model = new CustomClip(learner, tower, logitScale, opts.knowledgeAnchor);
  const sgd = new Sgd({ lr: opts.lr, momentum: opts.momentum, weightDecay: opts.weightDecay });
  const epochs = opts.epochs ?? defaultEpochs(opts.shots);
  const n = labels.length;
  const D = tower.projectionDim;
  // Dassl's train loader drops the last incomplete batch when there is at least one full batch.
  const dropLast = n >= opts.batchSize;
  const stepsPerEpoch = dropLast ? Math.floor(n / opts.batchSize) : 1;
  const seenPerEpoch = dropLast ? stepsPerEpoch * opts.batchSize : n;
  const lossPerEpoch: number[] = [];
  const accuracyPerEpoch: number[] = [];
  let steps = 0;
  for (let epoch = 0; epoch < epochs; epoch++) {
    const lr = coopLearningRate(epoch, epochs, opts.lr, opts.warmupEpochs, opts.warmupLr);
    const order = shuffled(Array.from({ length: n }, (_, i) => i), rngFor(opts.seed, 'order', epoch));
    const viewRng = rngFor(opts.seed, 'view', epoch);
    const views = order.map((i) => Math.floor(viewRng() * features[i]!.length));
    let lossSum = 0;
    let correct = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      const idx = order.slice(s * opts.batchSize, (s + 1) * opts.batchSize);
      const batch = new Float32Array(idx.length * D);
      idx.forEach((i, k) => batch.set(features[i]![views[s * opts.batchSize + k]!]!, k * D));
      const r = await model.lossAndGrad(batch, idx.map((i) => labels[i]!));
      sgd.step(learner.ctx, r.gradCtx, lr);
      lossSum += r.loss * idx.length;
      correct += r.correct;
      steps++;
      const seen = Math.min(seenPerEpoch, (s + 1) * opts.batchSize);
      onStep?.({ epoch, epochs, step: s + 1, stepsPerEpoch, loss: lossSum / seen, accuracy: correct / seen, lr });
    }
    lossPerEpoch.push(lossSum / seenPerEpoch);
    accuracyPerEpoch.push(correct / seenPerEpoch);
  }
  return { learner, classEmbeddings: await model.classEmbeddings(), lossPerEpoch, accuracyPerEpoch, epochs, steps };
}
