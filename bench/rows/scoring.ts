/**
 * Scoring alone, as the worker does it (core/scoring.ts classifyWithHead: the label set's head,
 * softmax, top-5), dim 512: the cosine head at every label count, and the linear and Tip-Adapter
 * heads at 10 and 1,000 labels (Tip-Adapter with a 16-shot cache: 16 keys per label).
 */
import type { ClassifierHead } from '../../src/core/labelset/head.ts';
import { classifyWithHead, l2Normalize } from '../../src/core/scoring.ts';
import { fillNormal } from '../../src/train/synth/random-weights.ts';
import { median, round, timeRuns } from '../lib/stats.ts';

export interface ScoringResult { readonly head: ClassifierHead['kind']; readonly labels: number; readonly dim: number; readonly cacheKeys: number; readonly p50Ms: number; readonly usPerLabel: number }

/** Shots per label in the Tip-Adapter cache measured here. */
const TIP_SHOTS = 16;

function headFor(kind: ClassifierHead['kind'], n: number, dim: number): ClassifierHead {
  if (kind === 'cosine') return { kind };
  if (kind === 'linear') return { kind, bias: new Float32Array(n).fill(0.01) };
  const size = n * TIP_SHOTS;
  const keys = new Float32Array(size * dim);
  fillNormal(keys, 1, 3, `bench-keys-${n}`);
  return { kind, keys: l2Normalize(keys, dim), values: { kind: 'one-hot', classOf: Int32Array.from({ length: size }, (_, j) => j % n) }, size, alpha: 2, beta: 5.5 };
}

export async function runScoring(counts: readonly number[], dim = 512, headCounts: readonly number[] = [10, 1000]): Promise<ScoringResult[]> {
  const image = new Float32Array(dim);
  fillNormal(image, 1, 1, 'bench-image');
  const unitImage = l2Normalize(image);
  const out: ScoringResult[] = [];
  const jobs = [...counts.map((n) => ({ kind: 'cosine' as const, n })), ...headCounts.flatMap((n) => (['linear', 'tip-adapter'] as const).map((kind) => ({ kind, n })))];
  for (const { kind, n } of jobs) {
    const classes = new Float32Array(n * dim);
    fillNormal(classes, 1, 2, `bench-classes-${n}`);
    const unit = l2Normalize(classes, dim);
    const labels = Array.from({ length: n }, (_, i) => `label ${i}`);
    const head = headFor(kind, n, dim);
    const labelSet = { classEmbeddings: unit, dim, logitScale: 100, head, labels };
    const cacheKeys = head.kind === 'tip-adapter' ? head.size : 0;
    const work = n + cacheKeys;
    const runs = Math.max(5, Math.min(200, Math.round(2e6 / work)));
    const times = await timeRuns(runs, Math.min(20, runs), () => classifyWithHead(unitImage, labelSet, 5));
    const p50 = median(times);
    out.push({ head: kind, labels: n, dim, cacheKeys, p50Ms: round(p50, 3), usPerLabel: round((p50 * 1000) / n, 4) });
  }
  return out;
}
