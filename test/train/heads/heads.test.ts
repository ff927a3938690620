import { describe, expect, it } from 'vitest';
import { argmax, headLogits } from '../../../src/core/scoring.ts';
import type { ScorableLabelSet } from '../../../src/core/labelset/head.ts';
import { classAdaptiveWeights, classBalancedMean, LINEAR_ZS_DEFAULTS, pullFactor, trainLinearZs } from '../../../src/train/heads/linear-zs.ts';
import { buildTipAdapter, searchAlphaBeta, trainTipAdapterF } from '../../../src/train/heads/tip-adapter.ts';
import type { HeadTrainData, TextPrior } from '../../../src/train/heads/types.ts';
import { normal, rngFor } from '../../../src/train/random.ts';

const D = 8;
const C = 3;

function unit(v: number[]): Float32Array {
  const n = Math.hypot(...v);
  return Float32Array.from(v, (x) => x / n);
}

/** Three classes around orthogonal centres; the "text prior" gets class 2 wrong (it points at class 1). */
function toyProblem(perClass: number, seed: number, noise = 0.35): { train: HeadTrainData; test: HeadTrainData; prior: TextPrior } {
  const rng = rngFor(seed, 'toy');
  const centre = (c: number) => Array.from({ length: D }, (_, k) => (k === c ? 1 : 0));
  const sample = (c: number) => unit(centre(c).map((x) => x + noise * normal(rng)));
  const make = (n: number): HeadTrainData => {
    const feats: Float32Array[] = [];
    const labels: number[] = [];
    for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) { feats.push(sample(c)); labels.push(c); }
    return { feats, labels, numClasses: C };
  };
  const rows = [unit(centre(0)), unit(centre(1)), unit(centre(1).map((x, k) => x + (k === 2 ? 0.3 : 0)))];
  const classEmbeddings = new Float32Array(C * D);
  rows.forEach((r, c) => classEmbeddings.set(r, c * D));
  return { train: make(perClass), test: make(200), prior: { classEmbeddings, dim: D, logitScale: 14 } };
}

function accuracy(ls: ScorableLabelSet, data: HeadTrainData): number {
  return data.feats.filter((f, i) => argmax(headLogits(f, ls)) === data.labels[i]).length / data.feats.length;
}

describe('Tip-Adapter scoring', () => {
  it('matches a hand-computed case: s W f + alpha exp(-beta (1 - K f)) V', () => {
    const f = Float32Array.from([0.6, 0.8]);
    const W = Float32Array.from([1, 0, 0, 1]);
    const keys = Float32Array.from([1, 0, 0, 1, 0.6, 0.8]);
    const classOf = Int32Array.from([0, 1, 0]);
    const ls: ScorableLabelSet = { classEmbeddings: W, dim: 2, logitScale: 10, head: { kind: 'tip-adapter', keys, values: { kind: 'one-hot', classOf }, size: 3, alpha: 2, beta: 3 } };
    // affinities: 0.6, 0.8, 1.0 -> exp(-3 * 0.4), exp(-3 * 0.2), exp(0)
    const cache0 = Math.exp(-1.2) + 1;
    const cache1 = Math.exp(-0.6);
    const got = headLogits(f, ls);
    expect(got[0]).toBeCloseTo(10 * 0.6 + 2 * cache0, 5);
    expect(got[1]).toBeCloseTo(10 * 0.8 + 2 * cache1, 5);
    // The same cache as dense one-hot rows gives the same logits.
    const dense: ScorableLabelSet = { ...ls, head: { kind: 'tip-adapter', keys, values: { kind: 'dense', data: Float32Array.from([1, 0, 0, 1, 1, 0]) }, size: 3, alpha: 2, beta: 3 } };
    expect(Array.from(headLogits(f, dense))).toEqual(Array.from(got));
  });
  it('linear head: s (W f + b)', () => {
    const ls: ScorableLabelSet = { classEmbeddings: Float32Array.from([2, 0, 0, 0.5]), dim: 2, logitScale: 3, head: { kind: 'linear', bias: Float32Array.from([0.1, -0.2]) } };
    const got = headLogits(Float32Array.from([0.6, 0.8]), ls);
    expect(got[0]).toBeCloseTo(3 * (1.2 + 0.1), 5);
    expect(got[1]).toBeCloseTo(3 * (0.4 - 0.2), 5);
  });
});

describe('heads on a separable toy problem whose text prior is wrong for one class', () => {
  const { train, test, prior } = toyProblem(8, 1);
  const zeroShot = accuracy(prior, test);
  it('the prior alone is near 2/3 (class 2 is confused with class 1)', () => {
    expect(zeroShot).toBeLessThan(0.75);
  });
  it('linear-zs beats zero-shot clearly and moves the wrong class most', () => {
    const h = trainLinearZs(train, prior, { seed: 1 });
    const acc = accuracy({ ...prior, classEmbeddings: h.classEmbeddings, head: h.head }, test);
    expect(acc).toBeGreaterThan(zeroShot + 0.04); // the pull is strong (CLAP), so it moves, but not all the way
    expect(h.loss.at(-1)!).toBeLessThan(h.loss[0]!);
    const lambda = classAdaptiveWeights(train, prior);
    expect(lambda[2]!).toBeLessThan(lambda[0]!); // class-adaptive: the class the prompts miss is held less
  });
  it('linear-zs is a MAP estimate: the pull to the prompts shrinks as 1/K (K0 = 1 image per class)', () => {
    expect(LINEAR_ZS_DEFAULTS.priorShots).toBe(1);
    expect(pullFactor(10, 10)).toBe(1); // 1 shot: CLAP's pull
    expect(pullFactor(20, 10)).toBe(1 / 2);
    expect(pullFactor(160, 10)).toBe(1 / 16);
    const distance = (w: Float32Array) => Math.hypot(...Array.from(w, (x, j) => x - prior.classEmbeddings[j]!));
    const map = trainLinearZs(train, prior, { seed: 1 });
    expect(map.settings['pull_factor']).toBeCloseTo(1 / 8, 12);
    // CLAP's fixed pull (mean CE + lambda) is the prior weighing K images per class.
    const clap = trainLinearZs(train, prior, { seed: 1, priorShots: 8 });
    expect(clap.settings['pull_factor']).toBe(1);
    expect(distance(map.classEmbeddings)).toBeGreaterThan(1.5 * distance(clap.classEmbeddings));
    // Same data, more of it (the 8 shots twice): the fixed prior counts for less, the head moves further.
    const doubled = { ...train, feats: [...train.feats, ...train.feats], labels: [...train.labels, ...train.labels] };
    expect(distance(trainLinearZs(doubled, prior, { seed: 1 }).classEmbeddings)).toBeGreaterThan(distance(map.classEmbeddings));
  });
  it('linear-zs centres the features on the shots\' class-balanced mean, folded into the baked bias', () => {
    // Untrained (0 epochs): W = T and b = -T mu, i.e. the zero-shot logits minus s t_c . mu.
    const h = trainLinearZs(train, prior, { seed: 1, epochs: 0 });
    const mu = classBalancedMean(train, D);
    expect(Array.from(h.classEmbeddings)).toEqual(Array.from(prior.classEmbeddings));
    const bias = h.head.kind === 'linear' ? h.head.bias! : new Float32Array(0);
    for (let c = 0; c < C; c++) expect(bias[c]).toBeCloseTo(-Array.from(mu).reduce((a, m, k) => a + m * prior.classEmbeddings[c * D + k]!, 0), 6);
    // Class-balanced: repeating one class's images does not move mu.
    const tilted = { ...train, feats: [...train.feats, ...train.feats.filter((_, i) => train.labels[i] === 0)], labels: [...train.labels, ...train.labels.filter((y) => y === 0)] };
    Array.from(classBalancedMean(tilted, D)).forEach((m, k) => expect(m).toBeCloseTo(mu[k]!, 6));
  });
  it('centring removes a shared domain component that biases the prompts towards one class', () => {
    // Every image carries a common direction u that leans towards class 0's prompt: zero-shot
    // predicts class 0 for most images; the same head trained on centred features does not.
    const rng = rngFor(5, 'domain');
    const u = [0.6, 0, 0, 0, 0, 1, 1, 0];
    const sample = (c: number) => unit(Array.from({ length: D }, (_, k) => (k === c ? 0.5 : 0) + u[k]! + 0.1 * normal(rng)));
    const make = (n: number): HeadTrainData => {
      const feats: Float32Array[] = [];
      const labels: number[] = [];
      for (let c = 0; c < C; c++) for (let i = 0; i < n; i++) { feats.push(sample(c)); labels.push(c); }
      return { feats, labels, numClasses: C };
    };
    const rows = new Float32Array(C * D);
    for (let c = 0; c < C; c++) rows[c * D + c] = 1;
    const p: TextPrior = { classEmbeddings: rows, dim: D, logitScale: 14 };
    const one = make(1), held = make(100);
    const accOf = (h: { classEmbeddings: Float32Array; head: ScorableLabelSet['head'] }) => accuracy({ ...p, classEmbeddings: h.classEmbeddings, head: h.head }, held);
    // Before any training step (0 epochs) the head is the prompt classifier, centred or not.
    const zeroShot = accuracy(p, held);
    expect(zeroShot).toBeLessThan(0.5);
    expect(accOf(trainLinearZs(one, p, { seed: 1, epochs: 0, centre: false }))).toBe(zeroShot);
    expect(accOf(trainLinearZs(one, p, { seed: 1, epochs: 0 }))).toBeGreaterThan(zeroShot + 0.4);
    expect(accOf(trainLinearZs(one, p, { seed: 1 }))).toBeGreaterThan(0.95);
  });
  it('tip-adapter (training-free) beats zero-shot, with alpha found by leave-one-out search', () => {
    const h = buildTipAdapter(train, prior);
    expect(h.head.kind).toBe('tip-adapter');
    expect(h.settings['search']).toMatch(/leave-one-out/);
    expect(accuracy({ ...prior, classEmbeddings: h.classEmbeddings, head: h.head }, test)).toBeGreaterThan(zeroShot + 0.15);
  });
  it('tip-adapter-f lowers its training loss and stays above zero-shot', () => {
    const h = trainTipAdapterF(train, prior, { seed: 1 });
    expect(h.loss.at(-1)!).toBeLessThan(h.loss[0]!);
    expect(accuracy({ ...prior, classEmbeddings: h.classEmbeddings, head: h.head }, test)).toBeGreaterThan(zeroShot + 0.15);
  });
  it('with one shot per class, tip-adapter falls back to the paper initial values', () => {
    const one = toyProblem(1, 2).train;
    expect(buildTipAdapter(one, prior).settings['search']).toMatch(/initial values/);
  });
  it('leave-one-out search: alpha grows with how much the cache knows', () => {
    // Training images whose prior is right for every class: the cache adds little, a small alpha suffices.
    const keys = new Float32Array(train.feats.length * D);
    train.feats.forEach((f, i) => keys.set(f, i * D));
    const values = { kind: 'one-hot', classOf: Int32Array.from(train.labels) } as const;
    const wrongPrior = searchAlphaBeta(train, prior, keys, values, { betas: [5], alphas: [0.01, 1] });
    expect(wrongPrior.alpha).toBeCloseTo(prior.logitScale, 6); // the prior misses class 2: the cache must carry it
    expect(wrongPrior.accuracy).toBeGreaterThan(0.9);
  });
});
