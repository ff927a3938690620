/**
 * The inputs and outputs every head shares. Heads are pure functions of cached, frozen, L2-normalised
 * image features and the class embeddings of hand-written prompts: no image tower, no text tower,
 * so each trains in about a second (CoOp and KgCoOp, which need the text tower, live in coop/).
 */
import type { ClassifierHead } from '../../core/labelset/head.ts';

export interface HeadTrainData {
  /** L2-normalised image features, one per training image. */
  readonly feats: readonly Float32Array[];
  /** Class index per image (for pseudo-labels: the argmax of `soft`). */
  readonly labels: readonly number[];
  /** Optional soft targets per image, each [classes] summing to 1 (pseudo-labels); absent = one-hot. */
  readonly soft?: readonly Float32Array[] | undefined;
  readonly numClasses: number;
}

/** The hand-written-prompt classifier a head starts from (zero-shot or prompt ensemble). */
export interface TextPrior {
  /** [classes, dim] row-major, rows L2-normalised. */
  readonly classEmbeddings: Float32Array;
  readonly dim: number;
  /** exp(logit_scale) of the checkpoint. */
  readonly logitScale: number;
}

/** What a head trainer returns: the rows and head to bake, plus the settings it chose and why. */
export interface TrainedHead {
  /** [classes, dim]: unit rows for cosine and Tip-Adapter heads, free weights for linear heads. */
  readonly classEmbeddings: Float32Array;
  readonly head: ClassifierHead;
  /** Chosen or fixed hyperparameters, recorded in the artifact's metadata. */
  readonly settings: Readonly<Record<string, number | string>>;
  /** Loss per epoch (empty for training-free heads). */
  readonly loss: readonly number[];
}

/** Throws when the data and the prior disagree (programming error, not user input). */
export function checkHeadInputs(data: HeadTrainData, prior: TextPrior): void {
  const classes = prior.classEmbeddings.length / prior.dim;
  if (!Number.isInteger(classes) || classes !== data.numClasses) throw new Error(`prior has ${classes} classes, data ${data.numClasses}`);
  if (data.feats.length !== data.labels.length) throw new Error('feats and labels differ in length');
  if (data.feats.length === 0) throw new Error('no training images');
  for (const f of data.feats) if (f.length !== prior.dim) throw new Error(`feature of length ${f.length}, expected ${prior.dim}`);
}

/** Target distribution of image i: its soft row or one-hot of its label. */
export function targetOf(data: HeadTrainData, i: number): Float32Array {
  const s = data.soft?.[i];
  if (s) return s;
  const t = new Float32Array(data.numClasses);
  t[data.labels[i]!] = 1;
  return t;
}
