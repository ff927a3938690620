/**
 * Accuracy of a label set on labelled image embeddings: the same argmax of the head's logits the
 * worker computes (core/scoring.ts headLogits), so offline and live predictions compare one to one.
 */
import { DataError } from '../core/errors.ts';
import type { LabelSetArtifact } from '../core/labelset/artifact.ts';
import { argmax, headLogits } from '../core/scoring.ts';

export interface EvalResult {
  accuracy: number;
  n: number;
  per_class: Record<string, { accuracy: number; n: number }>;
  /** confusion[true][predicted], indexed like `labels`. */
  confusion: number[][];
  labels: string[];
  /** Predicted label index (into `labels`) per image, in input order. */
  predictions: number[];
}

/** Maps the dataset's class names onto the label set's; every dataset class must be in the label set. */
export function mapDatasetLabels(datasetLabels: readonly string[], artifactLabels: readonly string[], source: string): number[] {
  return datasetLabels.map((l) => {
    const i = artifactLabels.indexOf(l);
    if (i < 0) throw new DataError(`class folder "${l}" in ${source} is not a label of this label set (labels: ${artifactLabels.join(', ')}).`);
    return i;
  });
}

/** embeddings: L2-normalised image embeddings; truth: label-set label index per image. */
export function evaluateEmbeddings(embeddings: readonly Float32Array[], truth: readonly number[], artifact: LabelSetArtifact): EvalResult {
  const C = artifact.labels.length;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  const predictions: number[] = [];
  let correct = 0;
  embeddings.forEach((e, i) => {
    const p = argmax(headLogits(e, artifact));
    predictions.push(p);
    confusion[truth[i]!]![p]! += 1;
    if (p === truth[i]) correct += 1;
  });
  const per_class: EvalResult['per_class'] = {};
  artifact.labels.forEach((l, c) => {
    const row = confusion[c]!;
    const n = row.reduce((a, b) => a + b, 0);
    if (n > 0) per_class[l] = { accuracy: row[c]! / n, n };
  });
  return { accuracy: embeddings.length ? correct / embeddings.length : 0, n: embeddings.length, per_class, confusion, labels: [...artifact.labels], predictions };
}
