/**
 * Learning from unlabelled images and class names only.
 *  - PET (Schick & Schuetze 2021): each hand-written prompt template is a "pattern"; the soft label
 *    of an image is the mean over templates of softmax(s W_t f), W_t the class embeddings of template t.
 *  - UPL (Huang et al. 2022): keep, for each class, the K images the prompts are most confident
 *    belong to it (among the images predicted as that class), so that the pseudo-labelled set is
 *    balanced and as clean as the prompts allow.
 * Any feature head then trains on the kept images: with the soft labels as targets (`soft`, PET's
 * way) or their argmax (`hard`, UPL's).
 */
import type { HeadTrainData, TextPrior } from './types.ts';

export type PseudoLabelKind = 'soft' | 'hard';

export interface PseudoLabels {
  /** Indices (into the unlabelled images) of the kept images, grouped by class. */
  readonly indices: number[];
  /** The training data for a head: the kept images with their pseudo-labels. */
  readonly data: HeadTrainData;
  /** Kept images per class (fewer than K when the prompts predict a class for fewer images). */
  readonly perClass: number[];
}

/** Mean over templates of the per-template softmax, for one image. */
export function ensembleSoftLabel(f: Float32Array, templates: readonly TextPrior[]): Float32Array {
  const C = templates[0]!.classEmbeddings.length / templates[0]!.dim;
  const out = new Float32Array(C);
  const logits = new Float64Array(C);
  for (const t of templates) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) {
      let dot = 0;
      for (let k = 0; k < t.dim; k++) dot += f[k]! * t.classEmbeddings[c * t.dim + k]!;
      logits[c] = t.logitScale * dot;
      max = Math.max(max, logits[c]!);
    }
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
    for (let c = 0; c < C; c++) out[c]! += Math.exp(logits[c]! - max) / sum / templates.length;
  }
  return out;
}

export function pseudoLabel(feats: readonly Float32Array[], templates: readonly TextPrior[], perClass: number, kind: PseudoLabelKind): PseudoLabels {
  if (templates.length === 0) throw new Error('pseudo-labels need at least one template');
  const soft = feats.map((f) => ensembleSoftLabel(f, templates));
  const C = soft[0]?.length ?? 0;
  const predicted = soft.map((p) => p.reduce((best, v, c) => (v > p[best]! ? c : best), 0));
  const indices: number[] = [];
  const counts: number[] = [];
  for (let c = 0; c < C; c++) {
    // Most confident first; ties by image order so the pick is deterministic.
    const mine = predicted.map((p, i) => i).filter((i) => predicted[i] === c).sort((a, b) => soft[b]![c]! - soft[a]![c]! || a - b).slice(0, perClass);
    indices.push(...mine);
    counts.push(mine.length);
  }
  const data: HeadTrainData = {
    feats: indices.map((i) => feats[i]!),
    labels: indices.map((i) => predicted[i]!),
    numClasses: C,
    ...(kind === 'soft' ? { soft: indices.map((i) => soft[i]!) } : {}),
  };
  return { indices, data, perClass: counts };
}
