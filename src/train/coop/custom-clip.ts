/**
 * CustomClip (as in CoOp): PromptLearner -> frozen TextTower -> cosine logits against frozen image
 * features, scaled by CLIP's logit_scale, with cross-entropy. Computes the loss and d(loss)/d(ctx):
 * the image side is frozen, so its features come precomputed; the text tower runs once per step
 * for all classes, not per image.
 */
import type { PromptLearner } from './prompt-learner.ts';

/** The part of TextTower the trainer needs (forward + vector-Jacobian product). */
export interface DifferentiableTextEncoder {
  readonly projectionDim: number;
  forwardWithVjp(embeds: Float32Array, batch: number, seqLen: number, eotIndex: readonly number[]): Promise<{
    features: Float32Array;
    vjp(gradFeatures: Float32Array): Promise<Float32Array>;
  }>;
  encodeEmbeddings(embeds: Float32Array, batch: number, seqLen: number, eotIndex: readonly number[]): Promise<Float32Array>;
}

export interface StepResult {
  loss: number;
  correct: number;
  gradCtx: Float32Array;
}

function normalizeRows(x: Float32Array, rows: number, dim: number): { unit: Float32Array; norms: Float64Array } {
  const unit = new Float32Array(x.length);
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) s += x[r * dim + i]! * x[r * dim + i]!;
    const n = Math.sqrt(s);
    norms[r] = n;
    for (let i = 0; i < dim; i++) unit[r * dim + i] = x[r * dim + i]! / n;
  }
  return { unit, norms };
}

/**
 * KgCoOp's knowledge-guided term (Yao et al., CVPR 2023): weight * (1 - mean_c cos(t_c, a_c)),
 * the distance between the learned class embeddings t and the hand-written prompt's a (unit rows).
 */
export interface KnowledgeAnchor {
  readonly embeddings: Float32Array;
  readonly weight: number;
}

export class CustomClip {
  constructor(
    readonly promptLearner: PromptLearner,
    readonly textEncoder: DifferentiableTextEncoder,
    readonly logitScale: number,
    readonly anchor?: KnowledgeAnchor,
  ) {}

  /** L2-normalised class embeddings [classes, dim] for the current context (what gets baked). */
  async classEmbeddings(): Promise<Float32Array> {
    const pl = this.promptLearner;
    const feats = await this.textEncoder.encodeEmbeddings(pl.assemble(), pl.numClasses, pl.seqLen, pl.eotIndex);
    return normalizeRows(feats, pl.numClasses, this.textEncoder.projectionDim).unit;
  }

  /**
   * Mean cross-entropy over a batch and its gradient w.r.t. the context.
   * images: L2-normalised features [batch, dim]; labels: class index per row.
   */
  async lossAndGrad(images: Float32Array, labels: readonly number[]): Promise<StepResult> {
    const pl = this.promptLearner;
    const C = pl.numClasses;
    const D = this.textEncoder.projectionDim;
    const B = labels.length;
    const { features, vjp } = await this.textEncoder.forwardWithVjp(pl.assemble(), C, pl.seqLen, pl.eotIndex);
    const { unit: t, norms } = normalizeRows(features, C, D);
    const s = this.logitScale;
    // logits = s * x t^T; dlogits = (softmax - onehot) / B; dt = s * dlogits^T x
    const dt = new Float64Array(C * D);
    let loss = 0;
    let correct = 0;
    const logits = new Float64Array(C);
    for (let b = 0; b < B; b++) {
      let max = -Infinity;
      let arg = 0;
      for (let c = 0; c < C; c++) {
        let dot = 0;
        for (let i = 0; i < D; i++) dot += images[b * D + i]! * t[c * D + i]!;
        logits[c] = s * dot;
        if (logits[c]! > max) { max = logits[c]!; arg = c; }
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += Math.exp(logits[c]! - max);
      const y = labels[b]!;
      loss += -(logits[y]! - max - Math.log(sum));
      if (arg === y) correct += 1;
      for (let c = 0; c < C; c++) {
        const g = (Math.exp(logits[c]! - max) / sum - (c === y ? 1 : 0)) / B;
        if (g === 0) continue;
        for (let i = 0; i < D; i++) dt[c * D + i]! += s * g * images[b * D + i]!;
      }
    }
    if (this.anchor) {
      // d/dt_c of weight * (1 - mean_c t_c . a_c) = -weight a_c / C (t already unit length).
      const { embeddings: a, weight } = this.anchor;
      let cos = 0;
      for (let c = 0; c < C; c++) {
        for (let i = 0; i < D; i++) {
          cos += t[c * D + i]! * a[c * D + i]!;
          dt[c * D + i]! -= (weight * a[c * D + i]!) / C;
        }
      }
      loss += B * weight * (1 - cos / C); // scaled back by 1/B below
    }
    // Through the L2 normalisation: d raw = (dt - t (t . dt)) / |raw|
    const dRaw = new Float32Array(C * D);
    for (let c = 0; c < C; c++) {
      let proj = 0;
      for (let i = 0; i < D; i++) proj += t[c * D + i]! * dt[c * D + i]!;
      for (let i = 0; i < D; i++) dRaw[c * D + i] = (dt[c * D + i]! - t[c * D + i]! * proj) / norms[c]!;
    }
    const gradEmbeds = await vjp(dRaw);
    return { loss: loss / B, correct, gradCtx: pl.ctxGradient(gradEmbeds) };
  }
}
