/**
 * What turns one L2-normalised image embedding f into class logits, besides the baked class rows W
 * ([classes, dim], `classEmbeddings` of the label set). Three kinds, all small products that run
 * at the edge next to the image encoder (s = the label set's logit_scale):
 *
 *   cosine       logits = s * W f                       W rows unit length (zero-shot, ensemble, CoOp, KgCoOp)
 *   linear       logits = s * (W f + b)                 W rows free, b optional (linear-zs)
 *   tip-adapter  logits = s * W f + alpha * exp(-beta * (1 - K f)) V
 *                K: cache keys [n, dim], V: cache values [n, classes] (Tip-Adapter, Zhang et al. 2022)
 *
 * Softmax of the logits gives the scores; argmax the prediction.
 */

export const HEAD_KINDS = ['cosine', 'linear', 'tip-adapter'] as const;
export type HeadKind = (typeof HEAD_KINDS)[number];

export interface CosineHead {
  readonly kind: 'cosine';
}

export interface LinearHead {
  readonly kind: 'linear';
  /** [classes]; absent = no bias. */
  readonly bias?: Float32Array;
}

export interface TipAdapterHead {
  readonly kind: 'tip-adapter';
  /** [n, dim] row-major: the training images' features (Tip-Adapter) or their fine-tuned values (Tip-Adapter-F). */
  readonly keys: Float32Array;
  /** V: one class per key (labelled shots) or soft rows (pseudo-labels). */
  readonly values: CacheValues;
  /** Number of cache entries n. */
  readonly size: number;
  /** Weight of the cache logits against the class-embedding logits. */
  readonly alpha: number;
  /** Sharpness of the affinity exp(-beta (1 - f.k)). */
  readonly beta: number;
}

/**
 * V [n, classes]. One-hot rows are kept as one class index per key: at 1,000 labels x 16 shots a
 * dense V would be 64 MB of zeros, half an isolate's memory.
 */
export type CacheValues =
  | { readonly kind: 'one-hot'; readonly classOf: Int32Array }
  | { readonly kind: 'dense'; readonly data: Float32Array };

export type ClassifierHead = CosineHead | LinearHead | TipAdapterHead;

export const COSINE_HEAD: CosineHead = { kind: 'cosine' };

/** Everything scoring needs from a label set. */
export interface ScorableLabelSet {
  readonly classEmbeddings: Float32Array;
  readonly dim: number;
  readonly logitScale: number;
  /** Absent = cosine (every format-1 label set). */
  readonly head?: ClassifierHead | undefined;
}

/** Bytes a head keeps in memory besides the class rows (for cache budgets). */
export function headBytes(head: ClassifierHead | undefined): number {
  if (!head || head.kind === 'cosine') return 0;
  if (head.kind === 'linear') return head.bias?.byteLength ?? 0;
  return head.keys.byteLength + (head.values.kind === 'dense' ? head.values.data.byteLength : head.values.classOf.byteLength);
}
