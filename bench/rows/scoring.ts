/** Scoring alone: cosine against N baked class embeddings (dim 512), softmax and top-5, as the worker does it. */
import { classifyEmbedding, l2Normalize } from '../../src/core/scoring.ts';
import { fillNormal } from '../../src/train/synth/random-weights.ts';
import { median, round, timeRuns } from '../lib/stats.ts';

export interface ScoringResult { readonly labels: number; readonly dim: number; readonly p50Ms: number; readonly usPerLabel: number }

export async function runScoring(counts: readonly number[], dim = 512): Promise<ScoringResult[]> {
  const image = new Float32Array(dim);
  fillNormal(image, 1, 1, 'bench-image');
  const unitImage = l2Normalize(image);
  const out: ScoringResult[] = [];
  for (const n of counts) {
    const classes = new Float32Array(n * dim);
    fillNormal(classes, 1, 2, `bench-classes-${n}`);
    const unit = l2Normalize(classes, dim);
    const labels = Array.from({ length: n }, (_, i) => `label ${i}`);
    const runs = Math.max(5, Math.min(200, Math.round(2e6 / n)));
    const times = await timeRuns(runs, Math.min(20, runs), () => classifyEmbedding(unitImage, unit, labels, 100, 5));
    const p50 = median(times);
    out.push({ labels: n, dim, p50Ms: round(p50, 3), usPerLabel: round((p50 * 1000) / n, 4) });
  }
  return out;
}
