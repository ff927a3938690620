/**
 * `--method auto`: pick the head for this data without touching the held-out images. Candidates
 * (the prompt classifiers and the feature heads) are compared by k-fold cross-validation on the
 * training images: image j of class c goes to fold (j + c) mod k, k = min(5, images), so every fold
 * holds images of several classes even at one shot per class; each feature head is trained on the
 * other folds and scored on its fold. The winner (best pooled validation accuracy; ties go to the
 * simpler candidate, in the order of AUTO_CANDIDATES) is then trained on all the training images.
 * CoOp and KgCoOp are not candidates: they train through the text tower for minutes per run, and
 * cross-validation would multiply that by k + 1.
 */
import { contentVersion } from '../../core/labelset/artifact.ts';
import { argmax, headLogits } from '../../core/scoring.ts';
import { CLIP_SINGLE_TEMPLATE, DEFAULT_ENSEMBLE_TEMPLATES } from '../../core/templates.ts';
import { embedClassPrompts } from '../labelset-builder.ts';
import type { HeadMethod, TrainedHead as StepTrainedHead } from '../steps/train.ts';
import { FEATURE_HEADS, headArtifact, trainFeatureHead, zeroShotPrior, type FeatureHeadId } from './methods.ts';
import type { HeadTrainData, TextPrior } from './types.ts';

export const AUTO_CANDIDATES = ['zeroshot', 'ensemble', ...FEATURE_HEADS] as const;
export type AutoCandidate = (typeof AUTO_CANDIDATES)[number];

export interface CandidateScore {
  readonly method: AutoCandidate;
  /** Pooled accuracy over the held-out folds of the training images. */
  readonly validation_accuracy: number;
  /** Seconds spent training this candidate over all folds. */
  readonly seconds: number;
}

export interface AutoSelection {
  readonly winner: AutoCandidate;
  readonly folds: number;
  readonly candidates: readonly CandidateScore[];
}

/** Fold of each image: (rank within its class + class) mod k. */
export function assignFolds(labels: readonly number[], k: number): number[] {
  const seen = new Map<number, number>();
  return labels.map((c) => {
    const j = seen.get(c) ?? 0;
    seen.set(c, j + 1);
    return (j + c) % k;
  });
}

function subset(data: HeadTrainData, keep: (i: number) => boolean): HeadTrainData {
  const idx = data.labels.map((_, i) => i).filter(keep);
  return { feats: idx.map((i) => data.feats[i]!), labels: idx.map((i) => data.labels[i]!), numClasses: data.numClasses, ...(data.soft ? { soft: idx.map((i) => data.soft![i]!) } : {}) };
}

/** Cross-validated accuracy of every candidate; pure (features and priors in, scores out). */
export function crossValidate(data: HeadTrainData, priors: { zeroshot: TextPrior; ensemble: TextPrior }, candidates: readonly AutoCandidate[], seed: number): { folds: number; scores: CandidateScore[] } {
  const n = data.feats.length;
  const k = Math.min(5, n);
  const fold = assignFolds(data.labels, k);
  const scores = candidates.map((method): CandidateScore => {
    const t0 = performance.now();
    let correct = 0;
    let counted = 0;
    if (method === 'zeroshot' || method === 'ensemble') {
      data.feats.forEach((f, i) => { counted++; if (argmax(headLogits(f, priors[method])) === data.labels[i]) correct++; });
    } else {
      for (let v = 0; v < k; v++) {
        const train = subset(data, (i) => fold[i] !== v);
        const val = subset(data, (i) => fold[i] === v);
        if (val.feats.length === 0 || train.feats.length === 0) continue;
        // A class absent from this fold's training part still has its prompt row: every head starts from it.
        const h = trainFeatureHead(method, train, priors.zeroshot, seed);
        const ls = { ...priors.zeroshot, classEmbeddings: h.classEmbeddings, head: h.head };
        val.feats.forEach((f, i) => { counted++; if (argmax(headLogits(f, ls)) === val.labels[i]) correct++; });
      }
    }
    return { method, validation_accuracy: counted ? correct / counted : 0, seconds: (performance.now() - t0) / 1000 };
  });
  return { folds: k, scores };
}

/** Best score; ties go to the earlier (simpler) candidate. */
export function pickWinner(scores: readonly CandidateScore[]): CandidateScore {
  return scores.reduce((best, s) => (s.validation_accuracy > best.validation_accuracy ? s : best));
}

export function autoHead(candidates: readonly AutoCandidate[] = AUTO_CANDIDATES): HeadMethod {
  return {
    id: 'auto', usesImages: true, augViews: 0, singleThreadTextTower: false,
    async train(set, ctx): Promise<StepTrainedHead> {
      const zeroshot = await zeroShotPrior(ctx.ckpt, ctx.textTower, set.labels);
      const ensemble: TextPrior = { ...zeroshot, classEmbeddings: await embedClassPrompts(ctx.ckpt, ctx.textTower, set.labels, DEFAULT_ENSEMBLE_TEMPLATES) };
      const data: HeadTrainData = { feats: set.views.map((v) => v[0]!), labels: set.labelIndex, numClasses: set.labels.length };
      const t0 = performance.now();
      const cv = crossValidate(data, { zeroshot, ensemble }, candidates, set.seed);
      const winner = pickWinner(cv.scores);
      const selection: AutoSelection = { winner: winner.method, folds: cv.folds, candidates: cv.scores };
      const extra = { shots: String(set.shots), seed: String(set.seed), auto_candidates: JSON.stringify(cv.scores.map((s) => ({ method: s.method, validation_accuracy: s.validation_accuracy }))), auto_folds: String(cv.folds) };
      if (winner.method === 'zeroshot' || winner.method === 'ensemble') {
        const prior = winner.method === 'zeroshot' ? zeroshot : ensemble;
        const templates = winner.method === 'zeroshot' ? [CLIP_SINGLE_TEMPLATE] : [...DEFAULT_ENSEMBLE_TEMPLATES];
        const artifact = {
          ...(await headArtifact(ctx.ckpt, set.labels, winner.method, { classEmbeddings: prior.classEmbeddings, head: { kind: 'cosine' }, settings: {}, loss: [] }, extra)),
          templates, version: await contentVersion(prior.classEmbeddings, set.labels),
        };
        return { artifact, lossPerEpoch: [], accuracyPerEpoch: [], epochs: 0, steps: 0, trainSeconds: (performance.now() - t0) / 1000, selection };
      }
      const h = trainFeatureHead(winner.method as FeatureHeadId, data, zeroshot, set.seed);
      const artifact = await headArtifact(ctx.ckpt, set.labels, winner.method, h, extra);
      return { artifact, lossPerEpoch: [...h.loss], accuracyPerEpoch: [], epochs: h.loss.length, steps: h.loss.length, trainSeconds: (performance.now() - t0) / 1000, selection };
    },
  };
}
