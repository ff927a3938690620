/**
 * The heads as `HeadMethod`s of the train step (steps/train.ts): each takes the training images'
 * cached features (view 0, CLIP's own preprocessing) and the zero-shot prompt classifier, and
 * returns a label set. `autoHead` cross-validates candidates on the training images and keeps the
 * best (see auto.ts).
 */
import type { LabelSetArtifact, LabelSetMethod } from '../../core/labelset/artifact.ts';
import { CLIP_SINGLE_TEMPLATE } from '../../core/templates.ts';
import type { ClipCheckpoint } from '../checkpoint.ts';
import { artifactFields, embedClassPrompts } from '../labelset-builder.ts';
import type { HeadMethod, TrainedHead as StepTrainedHead } from '../steps/train.ts';
import type { TextTower } from '../text-tower.ts';
import { trainLinearZs } from './linear-zs.ts';
import { buildTipAdapter, trainTipAdapterF } from './tip-adapter.ts';
import type { HeadTrainData, TextPrior, TrainedHead } from './types.ts';

/** Heads trained on cached features alone (seconds, no text-tower backward). */
export const FEATURE_HEADS = ['linear-zs', 'tip-adapter', 'tip-adapter-f'] as const;
export type FeatureHeadId = (typeof FEATURE_HEADS)[number];

/** Trains one feature head on features + targets against a prompt prior (pure, no I/O). */
export function trainFeatureHead(id: FeatureHeadId, data: HeadTrainData, prior: TextPrior, seed: number): TrainedHead {
  if (id === 'linear-zs') return trainLinearZs(data, prior, { seed });
  if (id === 'tip-adapter') return buildTipAdapter(data, prior);
  return trainTipAdapterF(data, prior, { seed });
}

/** The zero-shot prior ("a photo of a {}.") every feature head starts from. */
export async function zeroShotPrior(ckpt: ClipCheckpoint, textTower: TextTower, labels: readonly string[]): Promise<TextPrior> {
  return { classEmbeddings: await embedClassPrompts(ckpt, textTower, labels, [CLIP_SINGLE_TEMPLATE]), dim: textTower.projectionDim, logitScale: ckpt.logitScale };
}

/** Bakes a trained head into a label set (metrics are added by the evaluate step). */
export async function headArtifact(ckpt: ClipCheckpoint, labels: readonly string[], method: LabelSetMethod, h: TrainedHead, extra: Record<string, string>): Promise<LabelSetArtifact> {
  return {
    ...(await artifactFields(ckpt, labels, method, [CLIP_SINGLE_TEMPLATE], h.classEmbeddings)),
    ...(h.head.kind === 'cosine' ? {} : { head: h.head }),
    extra: { ...extra, ...Object.fromEntries(Object.entries(h.settings).map(([k, v]) => [k, String(v)])) },
    metrics: {},
  };
}

export function featureHead(id: FeatureHeadId): HeadMethod {
  return {
    id, usesImages: true, augViews: 0, singleThreadTextTower: false,
    async train(set, ctx): Promise<StepTrainedHead> {
      const prior = await zeroShotPrior(ctx.ckpt, ctx.textTower, set.labels);
      const data: HeadTrainData = { feats: set.views.map((v) => v[0]!), labels: set.labelIndex, numClasses: set.labels.length };
      const t0 = performance.now();
      const h = trainFeatureHead(id, data, prior, set.seed);
      const trainSeconds = (performance.now() - t0) / 1000;
      const artifact = await headArtifact(ctx.ckpt, set.labels, id, h, { shots: String(set.shots), seed: String(set.seed) });
      return { artifact, lossPerEpoch: [...h.loss], accuracyPerEpoch: [], epochs: h.loss.length, steps: h.loss.length, trainSeconds };
    },
  };
}
