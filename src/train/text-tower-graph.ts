/**
 * The CLIP text transformer as ONNX graphs emitted by the project (HF CLIPTextModel semantics):
 *
 *   x = embeds + position_embedding[:L]
 *   N pre-LN layers: x += out_proj(causal_attention(LN1(x))); x += fc2(act(fc1(LN2(x))))
 *   features = final_layer_norm(x[b, eot_b]) @ text_projection^T
 *
 * The forward graph takes prompt token embeddings [B, L, W] and end-token positions [B], so a
 * trainer can put learned vectors among the token embeddings. Besides `features` it outputs the
 * activations that the backward graph (text-tower-backward.ts) needs; an inference run simply
 * does not fetch them.
 *
 * Only the end-token rows reach the output, and after the last layer's attention every op is
 * row-wise, so that layer's out_proj, MLP and the final LayerNorm run on B rows instead of B*L.
 */
import { CheckpointError } from '../core/errors.ts';
import { GraphBuilder, type FloatDType } from './onnx/graph-builder.ts';
import { activation, layerNorm, type Activation } from './onnx/nn-ops.ts';

export interface TextTowerConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly vocabSize: number;
  /** max_position_embeddings (77 for CLIP). */
  readonly contextLength: number;
  readonly projectionDim: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
  /** The end-of-text token id: pooling happens at its first occurrence. */
  readonly eotId: number;
}

export type FloatArray = Float32Array | Float64Array;

/** A weight by its Hugging Face CLIPModel name (e.g. "text_model.final_layer_norm.weight"). */
export type WeightGetter = (name: string) => FloatArray;

/** Graph value names shared by the forward and backward graphs. */
export const IO = {
  embeds: 'embeds',
  eotIndex: 'eot_index',
  features: 'features',
  gradFeatures: 'grad_features',
  gradEmbeds: 'grad_embeds',
} as const;

/** Activations the forward graph saves for the backward graph, per layer i. */
export const saved = {
  /** Residual stream entering layer i, [B*L, W]. */
  input: (i: number) => `saved_${i}_input`,
  /** Scaled q, k and v stacked by head, [B, 3H, L, d]. */
  qkv: (i: number) => `saved_${i}_qkv`,
  /** Attention probabilities, [B, H, L, L]. */
  probs: (i: number) => `saved_${i}_probs`,
  /** Residual stream after attention, [B*L, W] ([B, W] in the last layer: end-token rows only). */
  mid: (i: number) => `saved_${i}_mid`,
  /** fc1 output before the activation, [B*L, I] ([B, I] in the last layer). */
  fc1: (i: number) => `saved_${i}_fc1`,
  /** The end-token rows of the last layer's output, before final_layer_norm, [B, W]. */
  finalRow: 'saved_final_row',
} as const;

export function savedActivationNames(layers: number): string[] {
  const names: string[] = [];
  for (let i = 0; i < layers; i++) names.push(saved.input(i), saved.qkv(i), saved.probs(i), saved.mid(i), saved.fc1(i));
  names.push(saved.finalRow);
  return names;
}

/** Masked attention scores: exp() of this is exactly 0 in float32 and float64. */
const MASKED_SCORE = -1e9;

const layerPrefix = (i: number) => `text_model.encoder.layers.${i}`;

/** Reads HF weights into the graph's float type, validating their sizes. */
export class TextTowerParams {
  readonly config: TextTowerConfig;
  readonly dtype: FloatDType;
  private readonly get: WeightGetter;

  constructor(config: TextTowerConfig, get: WeightGetter, dtype: FloatDType) {
    if (config.width % config.heads !== 0) throw new Error(`text width ${config.width} is not divisible by ${config.heads} heads`);
    this.config = config;
    this.get = get;
    this.dtype = dtype;
  }

  get headDim(): number {
    return this.config.width / this.config.heads;
  }

  /** A weight in the graph's dtype, checked to hold `size` values. */
  weight(name: string, size: number): FloatArray {
    const w = this.get(name);
    if (w.length !== size) throw new CheckpointError(`weight ${name} has ${w.length} values; the text config needs ${size}. Does config.json match model.safetensors?`);
    if (this.dtype === 'float64') return w instanceof Float64Array ? w : Float64Array.from(w);
    return w instanceof Float32Array ? w : Float32Array.from(w);
  }

  /** q, k and v projections stacked as rows [3W, W] (q rows pre-scaled by head_dim^-0.5), and their bias [3W]. */
  qkv(i: number): { weight: FloatArray; bias: FloatArray } {
    const W = this.config.width;
    const scale = this.headDim ** -0.5;
    const weight = this.alloc(3 * W * W);
    const bias = this.alloc(3 * W);
    (['q_proj', 'k_proj', 'v_proj'] as const).forEach((proj, p) => {
      const s = p === 0 ? scale : 1;
      const w = this.weight(`${layerPrefix(i)}.self_attn.${proj}.weight`, W * W);
      const b = this.weight(`${layerPrefix(i)}.self_attn.${proj}.bias`, W);
      for (let j = 0; j < W * W; j++) weight[p * W * W + j] = w[j]! * s;
      for (let j = 0; j < W; j++) bias[p * W + j] = b[j]! * s;
    });
    return { weight, bias };
  }

  alloc(n: number): FloatArray {
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  /** [rows, cols] row-major to [cols, rows]. */
  transpose(m: FloatArray, rows: number, cols: number): FloatArray {
    const out = this.alloc(rows * cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) out[c * rows + r] = m[base + c]!;
    }
    return out;
  }
}

export function buildForwardGraph(params: TextTowerParams): Uint8Array {
  const cfg = params.config;
  const W = cfg.width;
  const H = cfg.heads;
  const d = params.headDim;
  const I = cfg.intermediateSize;
  const C = cfg.contextLength;
  const dtype = params.dtype;
  const g = new GraphBuilder('clip_text_tower_forward', { opset: 17, dtype });

  const embeds = g.input(IO.embeds, dtype, ['batch', 'seq', W]);
  const eot = g.input(IO.eotIndex, 'int64', ['batch']);

  const shape = g.op('Shape', [embeds]);
  const batchAndSeq = g.op('Slice', [shape, g.int64Const([0]), g.int64Const([2])]);
  const seq = g.op('Slice', [shape, g.int64Const([1]), g.int64Const([2])]);

  const posTable = g.initializer('position_embedding', params.weight('text_model.embeddings.position_embedding.weight', C * W), [C, W]);
  const pos = g.op('Slice', [posTable, g.int64Const([0]), seq, g.int64Const([0])]);
  const causal = new Float64Array(C * C);
  for (let r = 0; r < C; r++) for (let c = r + 1; c < C; c++) causal[r * C + c] = MASKED_SCORE;
  const maskTable = g.floatConst(causal, [C, C], 'causal_mask');
  const mask = g.op('Slice', [maskTable, g.int64Const([0, 0]), g.op('Concat', [seq, seq], { axis: 0 }), g.int64Const([0, 1])]);

  const headsShape = g.op('Concat', [batchAndSeq, g.int64Const([3 * H, d])], { axis: 0 });
  const rows = g.int64Const([-1, W]);

  const eotRows = g.op('Unsqueeze', [eot, g.int64Const([1])]);
  const streamShape = g.op('Concat', [batchAndSeq, g.int64Const([W])], { axis: 0 });
  /** Row eot_b of each prompt: [B, L, ...] -> [B, ...]. */
  const gatherEot = (t: string) => g.op('GatherND', [t, eotRows], { batch_dims: 1 });

  let x = g.op('Reshape', [g.op('Add', [embeds, pos]), rows], {}, { name: saved.input(0) });
  let finalRow = '';
  for (let i = 0; i < cfg.layers; i++) {
    const p = layerPrefix(i);
    const last = i === cfg.layers - 1;
    const ln1 = layerNorm(g, x, g.initializer(`l${i}.ln1.g`, params.weight(`${p}.layer_norm1.weight`, W), [W]), g.initializer(`l${i}.ln1.b`, params.weight(`${p}.layer_norm1.bias`, W), [W]), cfg.layerNormEps);
    const qkvW = params.qkv(i);
    const qkvFlat = g.op('Add', [g.op('MatMul', [ln1, g.initializer(`l${i}.qkv.wT`, params.transpose(qkvW.weight, 3 * W, W), [W, 3 * W])]), g.initializer(`l${i}.qkv.b`, qkvW.bias, [3 * W])]);
    const qkv = g.op('Transpose', [g.op('Reshape', [qkvFlat, headsShape])], { perm: [0, 2, 1, 3] }, { name: saved.qkv(i) });
    const [q, k, v] = g.opN('Split', [qkv, g.int64Const([H, H, H])], 3, { axis: 1 });
    const scores = g.op('Add', [g.op('MatMul', [q!, g.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]), mask]);
    const probs = g.op('Softmax', [scores], { axis: -1 }, { name: saved.probs(i) });
    let attn: string;
    let residual: string;
    if (!last) {
      attn = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v!])], { perm: [0, 2, 1, 3] }), rows]);
      residual = x;
    } else {
      // Only the end-token rows reach the output, and after attention every op is row-wise: the
      // last layer runs out_proj and the MLP on B rows instead of B*L.
      const probsRow = g.op('Unsqueeze', [gatherEot(g.op('Transpose', [probs], { perm: [0, 2, 1, 3] })), g.int64Const([2])]);
      attn = g.op('Reshape', [g.op('MatMul', [probsRow, v!]), rows]);
      residual = gatherEot(g.op('Reshape', [x, streamShape]));
    }
    const out = g.op('Add', [
      g.op('MatMul', [attn, g.initializer(`l${i}.out.wT`, params.transpose(params.weight(`${p}.self_attn.out_proj.weight`, W * W), W, W), [W, W])]),
      g.initializer(`l${i}.out.b`, params.weight(`${p}.self_attn.out_proj.bias`, W), [W]),
    ]);
    const mid = g.op('Add', [residual, out], {}, { name: saved.mid(i) });
    const ln2 = layerNorm(g, mid, g.initializer(`l${i}.ln2.g`, params.weight(`${p}.layer_norm2.weight`, W), [W]), g.initializer(`l${i}.ln2.b`, params.weight(`${p}.layer_norm2.bias`, W), [W]), cfg.layerNormEps);
    const fc1 = g.op('Add', [
      g.op('MatMul', [ln2, g.initializer(`l${i}.fc1.wT`, params.transpose(params.weight(`${p}.mlp.fc1.weight`, I * W), I, W), [W, I])]),
      g.initializer(`l${i}.fc1.b`, params.weight(`${p}.mlp.fc1.bias`, I), [I]),
    ], {}, { name: saved.fc1(i) });
    const fc2 = g.op('Add', [
      g.op('MatMul', [activation(g, cfg.hiddenAct, fc1), g.initializer(`l${i}.fc2.wT`, params.transpose(params.weight(`${p}.mlp.fc2.weight`, W * I), W, I), [I, W])]),
      g.initializer(`l${i}.fc2.b`, params.weight(`${p}.mlp.fc2.bias`, W), [W]),
    ]);
    if (last) finalRow = g.op('Add', [mid, fc2], {}, { name: saved.finalRow });
    else x = g.op('Add', [mid, fc2], {}, { name: saved.input(i + 1) });
  }

  // final_layer_norm is row-wise too: it runs on the B pooled rows.
  const pooled = layerNorm(g, finalRow, g.initializer('final_ln.g', params.weight('text_model.final_layer_norm.weight', W), [W]), g.initializer('final_ln.b', params.weight('text_model.final_layer_norm.bias', W), [W]), cfg.layerNormEps);
  const projT = params.transpose(params.weight('text_projection.weight', cfg.projectionDim * W), cfg.projectionDim, W);
  const features = g.op('MatMul', [pooled, g.initializer('text_projection.wT', projT, [W, cfg.projectionDim])], {}, { name: IO.features });

  g.output(features, dtype, ['batch', cfg.projectionDim]);
  g.output(saved.input(0), dtype, ['rows', W]);
  for (let i = 0; i < cfg.layers; i++) {
    if (i > 0) g.output(saved.input(i), dtype, ['rows', W]);
    g.output(saved.qkv(i), dtype, ['batch', 3 * H, 'seq', d]);
    g.output(saved.probs(i), dtype, ['batch', H, 'seq', 'seq']);
    // The last layer keeps only the end-token rows after attention.
    const rowsOrBatch = i === cfg.layers - 1 ? 'batch' : 'rows';
    g.output(saved.mid(i), dtype, [rowsOrBatch, W]);
    g.output(saved.fc1(i), dtype, [rowsOrBatch, I]);
  }
  g.output(saved.finalRow, dtype, ['batch', W]);
  return g.toBytes();
}
