/**
 * One pre-LN CLIP encoder layer (Hugging Face CLIPEncoderLayer) as ONNX nodes, shared by the text
 * tower (training and inference), the vision tower and the whole-model export:
 *
 *   mid = x + out_proj(attention(LN1(x)))
 *   out = mid + fc2(act(fc1(LN2(mid))))
 *
 * on the residual stream x [batch*seq, W] (rows). q, k and v are one MatMul with the q rows
 * pre-scaled by head_dim^-0.5 (WeightReader.fusedQkv), so the scores need no extra scaling.
 */
import type { FloatDType, GraphBuilder } from '../onnx/graph-builder.ts';
import { activation, layerNorm } from '../onnx/nn-ops.ts';
import type { EncoderStackConfig } from './config.ts';
import { encoderLayerNames, type Tower } from './weight-names.ts';
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

/**
 * Keeps only some query rows after attention (the text tower's last layer: only the end-token
 * rows reach the output, and after attention every op is row-wise).
 */
export interface RowSelection {
  /** Attention probabilities [B, H, L, L] -> the kept query rows, [B, H, 1, L]. */
  probs(probs: string): string;
  /** The residual stream [B*L, W] -> its kept rows, [B, W]. */
  stream(x: string): string;
}

/** Values of a layer that a backward pass needs. */
export interface LayerActivations {
  /** Scaled q, k and v stacked by head, [B, 3H, L, d]. */
  readonly qkv: string;
  /** Attention probabilities, [B, H, L, L]. */
  readonly probs: string;
  /** Residual stream after attention. */
  readonly mid: string;
  /** fc1 output before the activation. */
  readonly fc1: string;
}

export interface EncoderLayerOptions {
  /** Graph value names for the layer's activations and its output (default: fresh names). */
  readonly names?: Partial<LayerActivations & { out: string }>;
  readonly rows?: RowSelection;
}

export interface EncoderLayerSpec extends EncoderStackConfig {
  readonly tower: Tower;
  readonly layer: number;
  /** Prefix of the layer's initializer names; unique per layer and tower. */
  readonly graphPrefix: string;
}

export function addEncoderLayer(g: GraphBuilder, x: string, spec: EncoderLayerSpec, weights: WeightReader, shapes: AttentionShapes, opts: EncoderLayerOptions = {}): { out: string } & LayerActivations {
  const W = spec.width;
  const H = spec.heads;
  const I = spec.intermediateSize;
  if (W % H !== 0) throw new Error(`width ${W} is not divisible by ${H} heads`);
  const names = encoderLayerNames(spec.tower, spec.layer);
  const n = spec.graphPrefix;
  const init = (name: string, data: Float32Array | Float64Array, dims: number[]) => g.initializer(`${n}.${name}`, data, dims);
  const named = (k: keyof LayerActivations | 'out'): { name?: string } => {
    const name = opts.names?.[k];
    return name === undefined ? {} : { name };
  };

  const ln1 = layerNorm(g, x, init('ln1.g', weights.weight(names.ln1.weight, W), [W]), init('ln1.b', weights.weight(names.ln1.bias, W), [W]), spec.layerNormEps);
  const qkvW = weights.fusedQkv(names, W, H);
  const qkvFlat = g.op('Add', [g.op('MatMul', [ln1, init('qkv.wT', transposeMatrix(qkvW.weight, 3 * W, W), [W, 3 * W])]), init('qkv.b', qkvW.bias, [3 * W])]);
  const qkv = g.op('Transpose', [g.op('Reshape', [qkvFlat, shapes.headsShape])], { perm: [0, 2, 1, 3] }, named('qkv'));
  const [q, k, v] = g.opN('Split', [qkv, g.int64Const([H, H, H])], 3, { axis: 1 });
  let scores = g.op('MatMul', [q!, g.op('Transpose', [k!], { perm: [0, 1, 3, 2] })]);
  if (shapes.mask) scores = g.op('Add', [scores, shapes.mask]);
  const probs = g.op('Softmax', [scores], { axis: -1 }, named('probs'));
  let attn: string;
  let residual: string;
  if (opts.rows) {
    attn = g.op('Reshape', [g.op('MatMul', [opts.rows.probs(probs), v!]), shapes.rows]);
    residual = opts.rows.stream(x);
  } else {
    attn = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v!])], { perm: [0, 2, 1, 3] }), shapes.rows]);
    residual = x;
  }
  const out = g.op('Add', [
    g.op('MatMul', [attn, init('out.wT', weights.linearT(names.out.weight, W, W), [W, W])]),
    init('out.b', weights.weight(names.out.bias, W), [W]),
  ]);
  const mid = g.op('Add', [residual, out], {}, named('mid'));
  const ln2 = layerNorm(g, mid, init('ln2.g', weights.weight(names.ln2.weight, W), [W]), init('ln2.b', weights.weight(names.ln2.bias, W), [W]), spec.layerNormEps);
  const fc1 = g.op('Add', [
    g.op('MatMul', [ln2, init('fc1.wT', weights.linearT(names.fc1.weight, I, W), [W, I])]),
    init('fc1.b', weights.weight(names.fc1.bias, I), [I]),
  ], {}, named('fc1'));
  const fc2 = g.op('Add', [
    g.op('MatMul', [activation(g, spec.hiddenAct, fc1), init('fc2.wT', weights.linearT(names.fc2.weight, W, I), [I, W])]),
    init('fc2.b', weights.weight(names.fc2.bias, W), [W]),
  ]);
  return { out: g.op('Add', [mid, fc2], {}, named('out')), qkv, probs, mid, fc1 };
}

/** `cfg.layers` encoder layers on the residual stream `x` (rows), initializers under `${graphPrefix}.l<i>`. */
export function addEncoderLayers(g: GraphBuilder, x: string, cfg: EncoderStackConfig, tower: Tower, graphPrefix: string, weights: WeightReader, shapes: AttentionShapes): string {
  for (let i = 0; i < cfg.layers; i++) x = addEncoderLayer(g, x, { ...cfg, tower, layer: i, graphPrefix: `${graphPrefix}.l${i}` }, weights, shapes).out;
  return x;
}
