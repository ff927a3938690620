/**
 * One pre-LN CLIP encoder layer (Hugging Face CLIPEncoderLayer) as ONNX nodes, shared by the text
 * tower (training and inference), the vision tower and the whole-model export. Two blocks, each
 * with its forward and, beside it, its backward (the vector-Jacobian product for the input: the
 * weights are frozen, so no weight gradients), as nn-ops.ts does for single ops:
 *
 *   attention:  mid = x + out_proj(attention(LN1(x)))
 *   mlp:        out = mid + fc2(act(fc1(LN2(mid))))
 *
 * on the residual stream x [batch*seq, W] (rows). q, k and v are one MatMul with the q rows
 * pre-scaled by head_dim^-0.5 (WeightReader.fusedQkv), so the scores need no extra scaling and
 * the backward's Wqkv carries the factor too.
 *
 * Forward and backward run as two graphs (inference never pays for the backward one): what the
 * backward reads from the forward is `LayerSaved`, one typed record per layer, whose names and
 * shapes both graphs take from `layerSaved` below.
 */
import type { Dim, FloatDType, GraphBuilder } from '../onnx/graph-builder.ts';
import { activation, activationBackward, layerNorm, layerNormBackward } from '../onnx/nn-ops.ts';
import type { EncoderStackConfig } from './config.ts';
import { encoderLayerNames, type EncoderLayerNames, type Tower } from './weight-names.ts';
import { transposeMatrix, type FloatArray, type WeightReader } from './weights.ts';

/** Masked attention scores: exp() of this is exactly 0 in float32 and float64. */
export const MASKED_SCORE = -1e9;

/** [C, C] additive causal mask: MASKED_SCORE above the diagonal (a token sees itself and earlier ones). */
export function causalMask(C: number, dtype: FloatDType): FloatArray {
  const m = dtype === 'float64' ? new Float64Array(C * C) : new Float32Array(C * C);
  for (let r = 0; r < C; r++) for (let c = r + 1; c < C; c++) m[r * C + c] = MASKED_SCORE;
  return m;
}

/** Shapes the attention block needs, as graph values (fixed or computed from Shape). */
export interface AttentionShapes {
  /** [batch, seq, 3H, d]: how the fused q/k/v rows split into heads. */
  readonly headsShape: string;
  /** [-1, W]: back to rows. */
  readonly rows: string;
  /** Additive attention mask broadcastable to [batch, H, seq, seq], or undefined (no mask). */
  readonly mask?: string | undefined;
}

/** What the backward of the attention block needs to undo its reshapes. */
export interface AttentionBackwardShapes {
  /** [batch, seq, H, d]: rows of dO split into heads. */
  readonly headsShape: string;
  /** [-1, 3W]: [dq dk dv] back to rows. */
  readonly rows3W: string;
}

/**
 * Keeps only some query rows after attention (the text tower's last layer: only the end-token rows
 * reach the output, and after attention every op is row-wise, so out_proj and the MLP run on B
 * rows instead of B*L). The backward of a selection scatters gradients back to the kept rows.
 */
export interface RowSelection {
  /** Forward: attention probabilities [B, H, L, L] -> the kept query rows, [B, H, 1, L]. */
  probs(probs: string): string;
  /** Forward: the residual stream [B*L, W] -> its kept rows, [B, W]. */
  stream(x: string): string;
}
export interface RowSelectionBackward {
  /** Backward of `probs(P) v` reshaped to rows: d(rows) [B, W] -> dO [B, H, L, d], zero outside the kept rows. */
  heads(dRows: string): string;
  /** Backward of `stream`: d(kept rows) [B, W] -> [B*L, W], zero elsewhere. */
  stream(dRows: string): string;
}

/** The activations of one layer that its backward reads (graph value names). */
export interface LayerSaved {
  /** Residual stream entering the layer, [B*L, W]. */
  readonly input: string;
  /** Scaled q, k and v stacked by head, [B, 3H, L, d]. */
  readonly qkv: string;
  /** Attention probabilities, [B, H, L, L]. */
  readonly probs: string;
  /** Residual stream after attention ([B, W] when rows were selected). */
  readonly mid: string;
  /** fc1 output before the activation ([B, I] when rows were selected). */
  readonly fc1: string;
}

export const LAYER_SAVED_KEYS = ['input', 'qkv', 'probs', 'mid', 'fc1'] as const satisfies readonly (keyof LayerSaved)[];

/**
 * Names and shapes of layer i's saved activations, the contract between the forward graph (which
 * outputs them) and the backward graph (which takes them as inputs). `afterAttention` is the
 * row dimension of mid and fc1: 'rows' (B*L), or 'batch' when the layer selects one row per prompt.
 */
export function layerSaved(i: number, s: { width: number; heads: number; intermediateSize: number }, afterAttention: 'rows' | 'batch'): { names: LayerSaved; shapes: Record<keyof LayerSaved, Dim[]> } {
  const d = s.width / s.heads;
  return {
    names: { input: `saved_${i}_input`, qkv: `saved_${i}_qkv`, probs: `saved_${i}_probs`, mid: `saved_${i}_mid`, fc1: `saved_${i}_fc1` },
    shapes: {
      input: ['rows', s.width],
      qkv: ['batch', 3 * s.heads, 'seq', d],
      probs: ['batch', s.heads, 'seq', 'seq'],
      mid: [afterAttention, s.width],
      fc1: [afterAttention, s.intermediateSize],
    },
  };
}

export interface EncoderLayerSpec extends EncoderStackConfig {
  readonly tower: Tower;
  readonly layer: number;
  /** Prefix of the layer's initializer names; unique per layer and tower. */
  readonly graphPrefix: string;
}

/** A layer's weights as a graph reads them: the reader, the HF names, and how to name initializers. */
interface LayerWeights {
  readonly spec: EncoderLayerSpec;
  readonly names: EncoderLayerNames;
  readonly weights: WeightReader;
  init(name: string, data: FloatArray, dims: number[]): string;
}

function layerWeights(g: GraphBuilder, spec: EncoderLayerSpec, weights: WeightReader): LayerWeights {
  if (spec.width % spec.heads !== 0) throw new Error(`width ${spec.width} is not divisible by ${spec.heads} heads`);
  return { spec, names: encoderLayerNames(spec.tower, spec.layer), weights, init: (name, data, dims) => g.initializer(`${spec.graphPrefix}.${name}`, data, dims) };
}

type Named = { name?: string };
const named = (name: string | undefined): Named => (name === undefined ? {} : { name });

// ---------------------------------------------------------------------------------------------
// Attention block

/**
 * Forward:
 *   h = LN1(x);  [q k v] = h Wqkv^T + b;  S = q k^T + mask;  P = softmax(S)   (per head)
 *   O = P v;  mid = x + O Wo^T + bo
 */
function attentionForward(g: GraphBuilder, x: string, p: LayerWeights, shapes: AttentionShapes, names: Partial<LayerSaved>, rows?: RowSelection): { mid: string; qkv: string; probs: string } {
  const { spec, names: w, weights, init } = p;
  const W = spec.width;
  const H = spec.heads;
  const ln1 = layerNorm(g, x, init('ln1.g', weights.weight(w.ln1.weight, W), [W]), init('ln1.b', weights.weight(w.ln1.bias, W), [W]), spec.layerNormEps);
  const qkvW = weights.fusedQkv(w, W, H);
  const qkvFlat = g.op('Add', [g.op('MatMul', [ln1, init('qkv.wT', transposeMatrix(qkvW.weight, 3 * W, W), [W, 3 * W])]), init('qkv.b', qkvW.bias, [3 * W])]);
  const qkv = g.op('Transpose', [g.op('Reshape', [qkvFlat, shapes.headsShape])], { perm: [0, 2, 1, 3] }, named(names.qkv));
  const [q, k, v] = g.opN('Split', [qkv, g.int64Const([H, H, H])], 3, { axis: 1 });
  let scores = g.op('MatMul', [q!, g.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]);
  if (shapes.mask) scores = g.op('Add', [scores, shapes.mask]);
  const probs = g.op('Softmax', [scores], { axis: -1 }, named(names.probs));
  let attn: string;
  let residual: string;
  if (rows) {
    attn = g.op('Reshape', [g.op('MatMul', [rows.probs(probs), v!]), shapes.rows]);
    residual = rows.stream(x);
  } else {
    attn = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v!])], { perm: [0, 2, 1, 3] }), shapes.rows]);
    residual = x;
  }
  const out = g.op('Add', [
    g.op('MatMul', [attn, init('out.wT', weights.linearT(w.out.weight, W, W), [W, W])]),
    init('out.b', weights.weight(w.out.bias, W), [W]),
  ]);
  return { mid: g.op('Add', [residual, out], {}, named(names.mid)), qkv, probs };
}

/**
 * Backward, given dmid:
 *   dO = dmid Wo                  (split by head)
 *   dP = dO v^T;  dv = P^T dO
 *   dS = P * (dP - rowsum(dP * P))                    (softmax)
 *   dq = dS k;  dk = dS^T q
 *   dx = dmid + LN1'([dq dk dv] Wqkv)                 (residual + LN1 branch)
 */
function attentionBackward(g: GraphBuilder, dMid: string, p: LayerWeights, saved: LayerSaved, shapes: AttentionBackwardShapes, rows?: RowSelectionBackward): string {
  const { spec, names: w, weights, init } = p;
  const W = spec.width;
  const H = spec.heads;
  const lastTwo = { perm: [0, 1, 3, 2] };
  const dAttn = g.op('MatMul', [dMid, init('out.w', weights.weight(w.out.weight, W * W), [W, W])]);
  const dO = rows ? rows.heads(dAttn) : g.op('Transpose', [g.op('Reshape', [dAttn, shapes.headsShape])], { perm: [0, 2, 1, 3] });
  const [q, k, v] = g.opN('Split', [saved.qkv, g.int64Const([H, H, H])], 3, { axis: 1 });
  const P = saved.probs;
  const dP = g.op('MatMul', [dO, g.op('Transpose', [v!], lastTwo)]);
  const dV = g.op('MatMul', [g.op('Transpose', [P], lastTwo), dO]);
  const rowDot = g.op('ReduceSum', [g.op('Mul', [dP, P]), g.int64Const([-1])], { keepdims: 1 });
  const dS = g.op('Mul', [P, g.op('Sub', [dP, rowDot])]);
  const dQ = g.op('MatMul', [dS, k!]);
  const dK = g.op('MatMul', [g.op('Transpose', [dS], lastTwo), q!]);
  const dQkv = g.op('Reshape', [g.op('Transpose', [g.op('Concat', [dQ, dK, dV], { axis: 1 })], { perm: [0, 2, 1, 3] }), shapes.rows3W]);
  const dLn1 = g.op('MatMul', [dQkv, init('qkv.w', weights.fusedQkv(w, W, H).weight, [3 * W, W])]);
  const dResidual = rows ? rows.stream(dMid) : dMid;
  return g.op('Add', [dResidual, layerNormBackward(g, dLn1, saved.input, init('ln1.g', weights.weight(w.ln1.weight, W), [W]), spec.layerNormEps)]);
}

// ---------------------------------------------------------------------------------------------
// MLP block

/** Forward:  u = LN2(mid) W1^T + b1;  out = mid + act(u) W2^T + b2 */
function mlpForward(g: GraphBuilder, mid: string, p: LayerWeights, names: { fc1?: string; out?: string }): { out: string; fc1: string } {
  const { spec, names: w, weights, init } = p;
  const W = spec.width;
  const I = spec.intermediateSize;
  const ln2 = layerNorm(g, mid, init('ln2.g', weights.weight(w.ln2.weight, W), [W]), init('ln2.b', weights.weight(w.ln2.bias, W), [W]), spec.layerNormEps);
  const fc1 = g.op('Add', [
    g.op('MatMul', [ln2, init('fc1.wT', weights.linearT(w.fc1.weight, I, W), [W, I])]),
    init('fc1.b', weights.weight(w.fc1.bias, I), [I]),
  ], {}, named(names.fc1));
  const fc2 = g.op('Add', [
    g.op('MatMul', [activation(g, spec.hiddenAct, fc1), init('fc2.wT', weights.linearT(w.fc2.weight, W, I), [I, W])]),
    init('fc2.b', weights.weight(w.fc2.bias, W), [W]),
  ]);
  return { out: g.op('Add', [mid, fc2], {}, named(names.out)), fc1 };
}

/** Backward, given dout:  du = (dout W2) * act'(u);  dmid = dout + LN2'(du W1) */
function mlpBackward(g: GraphBuilder, dOut: string, p: LayerWeights, saved: LayerSaved): string {
  const { spec, names: w, weights, init } = p;
  const W = spec.width;
  const I = spec.intermediateSize;
  const dAct = g.op('MatMul', [dOut, init('fc2.w', weights.weight(w.fc2.weight, W * I), [W, I])]);
  const dU = activationBackward(g, spec.hiddenAct, dAct, saved.fc1);
  const dLn2 = g.op('MatMul', [dU, init('fc1.w', weights.weight(w.fc1.weight, I * W), [I, W])]);
  return g.op('Add', [dOut, layerNormBackward(g, dLn2, saved.mid, init('ln2.g', weights.weight(w.ln2.weight, W), [W]), spec.layerNormEps)]);
}

// ---------------------------------------------------------------------------------------------
// The layer: attention then MLP; its backward runs them in reverse.

export interface EncoderLayerOptions {
  /** Graph value names for the layer's saved activations and its output (default: fresh names). */
  readonly names?: Partial<Omit<LayerSaved, 'input'> & { out: string }>;
  readonly rows?: RowSelection;
}

export function addEncoderLayer(g: GraphBuilder, x: string, spec: EncoderLayerSpec, weights: WeightReader, shapes: AttentionShapes, opts: EncoderLayerOptions = {}): { out: string } & Omit<LayerSaved, 'input'> {
  const p = layerWeights(g, spec, weights);
  const names = opts.names ?? {};
  const attn = attentionForward(g, x, p, shapes, names, opts.rows);
  const mlp = mlpForward(g, attn.mid, p, names);
  return { out: mlp.out, qkv: attn.qkv, probs: attn.probs, mid: attn.mid, fc1: mlp.fc1 };
}

/** d(loss)/d(layer input) from d(loss)/d(layer output), reading the layer's saved activations. */
export function addEncoderLayerBackward(g: GraphBuilder, dOut: string, spec: EncoderLayerSpec, weights: WeightReader, saved: LayerSaved, shapes: AttentionBackwardShapes, rows?: RowSelectionBackward): string {
  const p = layerWeights(g, spec, weights);
  const dMid = mlpBackward(g, dOut, p, saved);
  return attentionBackward(g, dMid, p, saved, shapes, rows);
}

/** `cfg.layers` encoder layers on the residual stream `x` (rows), initializers under `${graphPrefix}.l<i>`. */
export function addEncoderLayers(g: GraphBuilder, x: string, cfg: EncoderStackConfig, tower: Tower, graphPrefix: string, weights: WeightReader, shapes: AttentionShapes): string {
  for (let i = 0; i < cfg.layers; i++) x = addEncoderLayer(g, x, { ...cfg, tower, layer: i, graphPrefix: `${graphPrefix}.l${i}` }, weights, shapes).out;
  return x;
}
