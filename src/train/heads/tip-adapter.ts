/**
 * Tip-Adapter and Tip-Adapter-F (Zhang et al., "Tip-Adapter: Training-free Adaption of CLIP for
 * Few-shot Classification", ECCV 2022). The few-shot images become a cache: keys K = their
 * features, values V = their (one-hot or soft) labels, and
 *
 *   logits(f) = s W f + alpha * exp(-beta (1 - K f)) V
 *
 * with W the prompt classifier's unit rows and s its logit scale. Tip-Adapter-F also fine-tunes
 * K (AdamW, lr 1e-3, eps 1e-4, 20 epochs, cosine, batch 256, as the paper).
 *
 * alpha and beta are searched as the paper does (a grid, best accuracy; see TIP_SEARCH_GRID for
 * why it is wider than the paper's), but on the training shots, never on test data. A
 * training image finds itself in the cache with affinity 1, which would make any search pick the
 * largest alpha, so each image is scored leave-one-out: its own key is masked. The same mask is
 * used when Tip-Adapter-F fine-tunes the keys. alpha is stored in logits (the paper's is relative
 * to CLIP's logit scale of 100). With one shot per
 * class the leave-one-out cache holds no key of an image's own class, so nothing can be learned
 * about alpha and beta: the paper's initial values (alpha 1, beta 1) are used instead.
 */
import type { CacheValues } from '../../core/labelset/head.ts';
import { rngFor, shuffled } from '../random.ts';
import { checkHeadInputs, targetOf, type HeadTrainData, type TextPrior, type TrainedHead } from './types.ts';

export interface TipSearchGrid {
  /** beta values to try. */
  betas: readonly number[];
  /** alpha values to try, as multiples of the logit scale s (alpha = a * s). */
  alphas: readonly number[];
}

const powersOf2 = (from: number, to: number, perOctave: number): number[] =>
  Array.from({ length: (to - from) * perOctave + 1 }, (_, k) => 2 ** (from + k / perOctave));

/**
 * Log-spaced grid: beta 0.5 .. 64, alpha s/64 .. 4s, four steps per octave. The paper's linear
 * grid (beta < 7, alpha < 3 at CLIP's logit scale 100, i.e. a < 0.03) is inside it; it is wider
 * because the best values depend on how similar a model's image features are to one another: on
 * the default model's sketches two images of different classes have cosine 0.82 on average (0.3
 * for photos), so the cache needs a sharper beta and a larger alpha to tell them apart.
 */
export const TIP_SEARCH_GRID: TipSearchGrid = { betas: powersOf2(-1, 6, 4), alphas: powersOf2(-6, 2, 4) };
/** The paper's initial hyperparameters (alpha relative to CLIP's logit scale of 100). */
export const TIP_INIT = { alpha: 1, beta: 1 } as const;

/** Values of the cache: class index per key when every target is one-hot, dense rows otherwise. */
export function cacheValues(data: HeadTrainData): CacheValues {
  if (!data.soft) return { kind: 'one-hot', classOf: Int32Array.from(data.labels) };
  const C = data.numClasses;
  const dense = new Float32Array(data.feats.length * C);
  data.feats.forEach((_, i) => dense.set(targetOf(data, i), i * C));
  return { kind: 'dense', data: dense };
}

function valueRow(values: CacheValues, j: number, C: number, out: Float64Array): void {
  out.fill(0);
  if (values.kind === 'one-hot') out[values.classOf[j]!] = 1;
  else for (let c = 0; c < C; c++) out[c] = values.data[j * C + c]!;
}

/** Total value mass per class, sum_j V[j][c]. */
function classMass(values: CacheValues, n: number, C: number): Float64Array {
  const m = new Float64Array(C);
  const row = new Float64Array(C);
  for (let j = 0; j < n; j++) {
    valueRow(values, j, C, row);
    for (let c = 0; c < C; c++) m[c]! += row[c]!;
  }
  return m;
}

/**
 * Leave-one-out correction: without its own key, image i's classes have less value mass in the
 * cache than the others (15 keys against 16 at 16 shots), and the cache logits, being sums over
 * keys, would be biased against the right class, more so the smoother the affinity. Each class's
 * cache logit is rescaled by m_c / (m_c - V_ic) to undo that.
 */
function looScale(values: CacheValues, i: number, mass: Float64Array, C: number, row: Float64Array, out: Float64Array): void {
  valueRow(values, i, C, row);
  for (let c = 0; c < C; c++) out[c] = mass[c]! - row[c]! > 0 ? mass[c]! / (mass[c]! - row[c]!) : 1;
}

/** Leave-one-out affinities of the training images with the keys: A[i][j] = f_i . k_j. */
function affinities(feats: readonly Float32Array[], keys: Float64Array | Float32Array, D: number): Float64Array {
  const n = feats.length;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const f = feats[i]!;
    for (let j = 0; j < n; j++) {
      let dot = 0;
      for (let k = 0; k < D; k++) dot += f[k]! * keys[j * D + k]!;
      a[i * n + j] = dot;
    }
  }
  return a;
}

function clipLogits(feats: readonly Float32Array[], prior: TextPrior, C: number): Float64Array {
  const D = prior.dim;
  const out = new Float64Array(feats.length * C);
  feats.forEach((f, i) => {
    for (let c = 0; c < C; c++) {
      let dot = 0;
      for (let k = 0; k < D; k++) dot += f[k]! * prior.classEmbeddings[c * D + k]!;
      out[i * C + c] = prior.logitScale * dot;
    }
  });
  return out;
}

export interface SearchResult {
  alpha: number;
  beta: number;
  /** Leave-one-out accuracy on the training images at the chosen alpha, beta. */
  accuracy: number;
  /** How alpha and beta were set. */
  how: 'leave-one-out search on the training shots' | 'paper initial values (one shot per class)';
}

/**
 * Grid search of alpha, beta by leave-one-out accuracy on the training images (ties: lower
 * leave-one-out cross-entropy). `keys` are the cache keys (the images' own features, or fine-tuned).
 */
export function searchAlphaBeta(data: HeadTrainData, prior: TextPrior, keys: Float64Array | Float32Array, values: CacheValues, grid: TipSearchGrid = TIP_SEARCH_GRID): SearchResult {
  const C = data.numClasses;
  const n = data.feats.length;
  const s = prior.logitScale;
  const perClass = new Array<number>(C).fill(0);
  for (const y of data.labels) perClass[y]! += 1;
  if (Math.min(...perClass) < 2) return { ...TIP_INIT, alpha: (TIP_INIT.alpha * s) / 100, accuracy: Number.NaN, how: 'paper initial values (one shot per class)' };
  const base = clipLogits(data.feats, prior, C);
  const aff = affinities(data.feats, keys, prior.dim);
  const vrow = new Float64Array(C);
  const cache = new Float64Array(n * C);
  const logits = new Float64Array(C);
  const mass = classMass(values, n, C);
  const scale = new Float64Array(n * C);
  for (let i = 0; i < n; i++) looScale(values, i, mass, C, vrow, scale.subarray(i * C, (i + 1) * C));
  let best = { alpha: 0, beta: 0, acc: -1, ce: Infinity };
  for (const beta of grid.betas) {
    cache.fill(0);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j === i) continue; // leave-one-out
        const e = Math.exp(-beta * (1 - aff[i * n + j]!));
        valueRow(values, j, C, vrow);
        for (let c = 0; c < C; c++) cache[i * C + c]! += e * vrow[c]!;
      }
    }
    for (const a of grid.alphas) {
      const alpha = a * s;
      let correct = 0;
      let ce = 0;
      for (let i = 0; i < n; i++) {
        let max = -Infinity;
        let arg = 0;
        for (let c = 0; c < C; c++) {
          logits[c] = base[i * C + c]! + alpha * scale[i * C + c]! * cache[i * C + c]!;
          if (logits[c]! > max) { max = logits[c]!; arg = c; }
        }
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
        const y = data.labels[i]!;
        if (arg === y) correct++;
        ce += -(logits[y]! - max - Math.log(sum));
      }
      const acc = correct / n;
      if (acc > best.acc || (acc === best.acc && ce < best.ce)) best = { alpha, beta, acc, ce };
    }
  }
  return { alpha: best.alpha, beta: best.beta, accuracy: best.acc, how: 'leave-one-out search on the training shots' };
}

function packKeys(feats: readonly Float32Array[], D: number): Float32Array {
  const k = new Float32Array(feats.length * D);
  feats.forEach((f, i) => k.set(f, i * D));
  return k;
}

/** Training-free Tip-Adapter: the cache is the training images, alpha/beta by leave-one-out search. */
export function buildTipAdapter(data: HeadTrainData, prior: TextPrior, grid: TipSearchGrid = TIP_SEARCH_GRID): TrainedHead {
  checkHeadInputs(data, prior);
  const keys = packKeys(data.feats, prior.dim);
  const values = cacheValues(data);
  const r = searchAlphaBeta(data, prior, keys, values, grid);
  return {
    classEmbeddings: prior.classEmbeddings.slice(),
    head: { kind: 'tip-adapter', keys, values, size: data.feats.length, alpha: r.alpha, beta: r.beta },
    settings: { alpha: r.alpha, beta: r.beta, search: r.how, ...(Number.isNaN(r.accuracy) ? {} : { search_accuracy: r.accuracy }) },
    loss: [],
  };
}

export interface TipAdapterFOptions {
  seed: number;
  epochs?: number;
  lr?: number;
  batchSize?: number;
  weightDecay?: number;
  grid?: TipSearchGrid;
}

export const TIP_F_DEFAULTS = { epochs: 20, lr: 1e-3, batchSize: 256, weightDecay: 0.01 } as const;

/**
 * Tip-Adapter-F: starts from the training-free cache and alpha/beta, fine-tunes the keys on the
 * training images by cross-entropy of the combined logits (leave-one-out cache, AdamW as in
 * PyTorch: decoupled weight decay, bias-corrected moments), then searches alpha/beta again.
 */
export function trainTipAdapterF(data: HeadTrainData, prior: TextPrior, opts: TipAdapterFOptions): TrainedHead {
  checkHeadInputs(data, prior);
  const o = { ...TIP_F_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as Required<Omit<TipAdapterFOptions, 'grid'>> & { grid?: TipSearchGrid };
  const grid = o.grid ?? TIP_SEARCH_GRID;
  const C = data.numClasses;
  const D = prior.dim;
  const n = data.feats.length;
  const values = cacheValues(data);
  const init = searchAlphaBeta(data, prior, packKeys(data.feats, D), values, grid);
  const { alpha, beta } = init;
  const keys = Float64Array.from(packKeys(data.feats, D));
  const m = new Float64Array(n * D);
  const v = new Float64Array(n * D);
  const base = clipLogits(data.feats, prior, C);
  const targets = data.feats.map((_, i) => targetOf(data, i));
  const vrow = new Float64Array(C);
  const logits = new Float64Array(C);
  const e = new Float64Array(n);
  const mass = classMass(values, n, C);
  const scale = new Float64Array(C);
  const beta1 = 0.9, beta2 = 0.999, eps = 1e-4;
  const stepsPerEpoch = Math.ceil(n / o.batchSize);
  const totalSteps = o.epochs * stepsPerEpoch;
  let step = 0;
  const loss: number[] = [];
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    let epochLoss = 0;
    const order = shuffled(Array.from({ length: n }, (_, i) => i), rngFor(o.seed, 'tip-adapter-f-order', epoch));
    for (let start = 0; start < n; start += o.batchSize) {
      const batch = order.slice(start, start + o.batchSize);
      const B = batch.length;
      const lr = 0.5 * o.lr * (1 + Math.cos((Math.PI * step) / totalSteps));
      const grad = new Float64Array(n * D);
      for (const i of batch) {
        const f = data.feats[i]!;
        const cacheRow = new Float64Array(C);
        for (let j = 0; j < n; j++) {
          if (j === i) { e[j] = 0; continue; }
          let dot = 0;
          for (let k = 0; k < D; k++) dot += f[k]! * keys[j * D + k]!;
          e[j] = Math.exp(-beta * (1 - dot));
          valueRow(values, j, C, vrow);
          for (let c = 0; c < C; c++) cacheRow[c]! += e[j]! * vrow[c]!;
        }
        looScale(values, i, mass, C, vrow, scale);
        for (let c = 0; c < C; c++) logits[c] = base[i * C + c]! + alpha * scale[c]! * cacheRow[c]!;
        let max = -Infinity;
        for (let c = 0; c < C; c++) max = Math.max(max, logits[c]!);
        let sum = 0;
        for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
        const lse = max + Math.log(sum);
        const t = targets[i]!;
        const g = new Float64Array(C);
        for (let c = 0; c < C; c++) {
          g[c] = (Math.exp(logits[c]! - lse) - t[c]!) / B;
          if (t[c]! > 0) epochLoss += (-t[c]! * (logits[c]! - lse)) / n;
        }
        // d logits_c / d k_j = alpha * scale_c * beta * e_ij * V_jc f_i
        for (let j = 0; j < n; j++) {
          if (e[j] === 0) continue;
          valueRow(values, j, C, vrow);
          let gv = 0;
          for (let c = 0; c < C; c++) gv += g[c]! * scale[c]! * vrow[c]!;
          const step = alpha * beta * e[j]! * gv;
          if (step === 0) continue;
          for (let k = 0; k < D; k++) grad[j * D + k]! += step * f[k]!;
        }
      }
      step++;
      const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
      for (let j = 0; j < n * D; j++) {
        keys[j]! *= 1 - lr * o.weightDecay;
        m[j] = beta1 * m[j]! + (1 - beta1) * grad[j]!;
        v[j] = beta2 * v[j]! + (1 - beta2) * grad[j]! * grad[j]!;
        keys[j]! -= (lr * (m[j]! / bc1)) / (Math.sqrt(v[j]! / bc2) + eps);
      }
    }
    loss.push(epochLoss);
  }
  const tuned = Float32Array.from(keys);
  const r = searchAlphaBeta(data, prior, tuned, values, grid);
  return {
    classEmbeddings: prior.classEmbeddings.slice(),
    head: { kind: 'tip-adapter', keys: tuned, values, size: n, alpha: r.alpha, beta: r.beta },
    settings: { alpha: r.alpha, beta: r.beta, search: r.how, epochs: o.epochs, lr: o.lr, train_alpha: alpha, train_beta: beta, ...(Number.isNaN(r.accuracy) ? {} : { search_accuracy: r.accuracy }) },
    loss,
  };
}
