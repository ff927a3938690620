/**
 * The worker's whole classifier: the label set's head applied to one L2-normalised image
 * embedding (for most label sets: cosine with the baked, L2-normalised class embeddings; see
 * labelset/head.ts for linear and Tip-Adapter heads), then softmax of the logits and top-k.
 * Plain loops over a Float32Array: for 10..100k labels at dim 512 this is memory-bound and V8
 * vectorises nothing better than this (no BLAS in workerd).
 */
import type { ClassifierHead, ScorableLabelSet } from './labelset/head.ts';

/** Returns a new L2-normalised copy of `v` (or of each row when `dim` < v.length). */
export function l2Normalize(v: Float32Array, dim = v.length): Float32Array {
  const out = new Float32Array(v.length);
  for (let r = 0; r < v.length; r += dim) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += v[r + i]! * v[r + i]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let i = 0; i < dim; i++) out[r + i] = v[r + i]! * inv;
  }
  return out;
}

/** cosine[c] = dot(image, classEmbeddings[c]) for unit vectors. classEmbeddings is [C, dim] row-major. */
export function cosineScores(image: Float32Array, classEmbeddings: Float32Array, dim: number): Float32Array {
  const classes = classEmbeddings.length / dim;
  const out = new Float32Array(classes);
  for (let c = 0; c < classes; c++) {
    let s = 0;
    const base = c * dim;
    for (let i = 0; i < dim; i++) s += image[i]! * classEmbeddings[base + i]!;
    out[c] = s;
  }
  return out;
}

/** Numerically stable softmax of scale * x, in float64 accumulation. */
export function softmax(x: Float32Array, scale = 1): Float64Array {
  let max = -Infinity;
  for (const v of x) max = Math.max(max, v * scale);
  const out = new Float64Array(x.length);
  let sum = 0;
  for (let i = 0; i < x.length; i++) {
    const e = Math.exp(x[i]! * scale - max);
    out[i] = e;
    sum += e;
  }
  for (let i = 0; i < x.length; i++) out[i]! /= sum;
  return out;
}

export interface ScoredLabel {
  label: string;
  score: number;
}

/** The k highest-probability labels, best first (ties broken by label order). */
export function topK(probs: ArrayLike<number>, labels: readonly string[], k: number): ScoredLabel[] {
  const n = Math.min(Math.max(0, Math.floor(k)), probs.length);
  const idx = Array.from({ length: probs.length }, (_, i) => i);
  idx.sort((a, b) => probs[b]! - probs[a]! || a - b);
  return idx.slice(0, n).map((i) => ({ label: labels[i]!, score: probs[i]! }));
}

/** Index of the largest cosine: the predicted class. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
}

/**
 * Class logits of one L2-normalised image embedding under the label set's head (cosine when it
 * has none). Node evaluation and the worker both call this, so offline and live predictions agree.
 */
export function headLogits(image: Float32Array, ls: ScorableLabelSet): Float32Array {
  const head: ClassifierHead = ls.head ?? { kind: 'cosine' };
  const { dim, logitScale: s } = ls;
  const logits = cosineScores(image, ls.classEmbeddings, dim);
  const classes = logits.length;
  if (head.kind === 'linear') {
    for (let c = 0; c < classes; c++) logits[c] = s * (logits[c]! + (head.bias ? head.bias[c]! : 0));
    return logits;
  }
  for (let c = 0; c < classes; c++) logits[c] = s * logits[c]!;
  if (head.kind === 'cosine') return logits;
  // Tip-Adapter: logits += alpha * exp(-beta (1 - K f)) V, one pass over the keys.
  const { keys, values, size, alpha, beta } = head;
  for (let j = 0; j < size; j++) {
    let dot = 0;
    const base = j * dim;
    for (let i = 0; i < dim; i++) dot += image[i]! * keys[base + i]!;
    const a = alpha * Math.exp(-beta * (1 - dot));
    if (values.kind === 'one-hot') {
      logits[values.classOf[j]!]! += a;
    } else {
      const row = j * classes;
      for (let c = 0; c < classes; c++) logits[c]! += a * values.data[row + c]!;
    }
  }
  return logits;
}

/** Full classification of one raw (not yet normalised) image embedding with the label set's head. */
export function classifyWithHead(
  imageEmbedding: Float32Array,
  labelSet: ScorableLabelSet & { readonly labels: readonly string[] },
  k: number,
): { top: ScoredLabel[]; predicted: number } {
  const logits = headLogits(l2Normalize(imageEmbedding), labelSet);
  return { top: topK(softmax(logits, 1), labelSet.labels, k), predicted: argmax(logits) };
}

/** Full classification of one raw (not yet normalised) image embedding against cosine class embeddings. */
export function classifyEmbedding(
  imageEmbedding: Float32Array,
  classEmbeddings: Float32Array,
  labels: readonly string[],
  logitScale: number,
  k: number,
): { top: ScoredLabel[]; predicted: number } {
  const dim = imageEmbedding.length;
  const cos = cosineScores(l2Normalize(imageEmbedding), classEmbeddings, dim);
  const probs = softmax(cos, logitScale);
  return { top: topK(probs, labels, k), predicted: argmax(cos) };
}
