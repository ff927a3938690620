/**
 * The CLIP text transformer as ONNX graphs emitted by the project (HF CLIPTextModel semantics),
 * and the vector-Jacobian product CoOp trains through, each piece's forward beside its backward:
 *
 *   x = embeds + position_embedding[:L]                  dembeds = dx (the addition passes it on)
 *   N pre-LN layers with a causal mask (encoder-layer.ts: forward and backward per block)
 *   row_b = x[b, eot_b]                                  dx = dfeatures' row scattered to eot_b, 0 elsewhere
 *   features = final_layer_norm(row) @ text_projection^T drow = LN_f'(dfeatures @ text_projection)
 *
 * The forward graph takes prompt token embeddings [B, L, W] and end-token positions [B], so a
 * trainer can put learned vectors among the token embeddings. Besides `features` it outputs the
 * activations the backward graph reads (encoder-layer.ts's `layerSaved`); an inference run simply
 * does not fetch them. The backward graph maps grad_features [B, P] to grad_embeds [B, L, W].
 *
 * Only the end-token rows reach the output, and after the last layer's attention every op is
 * row-wise, so that layer's out_proj, MLP and the final LayerNorm run on B rows instead of B*L.
 */
import { GraphBuilder, type FloatDType } from '../onnx/graph-builder.ts';
import { layerNorm, layerNormBackward } from '../onnx/nn-ops.ts';
import type { TextTowerConfig } from './config.ts';
import { addEncoderLayer, addEncoderLayerBackward, causalMask, LAYER_SAVED_KEYS, layerSaved, type EncoderLayerSpec, type LayerSaved, type RowSelection, type RowSelectionBackward } from './encoder-layer.ts';
import { TEXT_WEIGHTS } from './weight-names.ts';
import { WeightReader, type WeightGetter } from './weights.ts';

/** Graph value names of the forward and backward graphs' own inputs and outputs. */
export const IO = {
  embeds: 'embeds',
  eotIndex: 'eot_index',
  features: 'features',
  gradFeatures: 'grad_features',
  gradEmbeds: 'grad_embeds',
} as const;

/** The end-token rows of the last layer's output, before final_layer_norm, [B, W]: saved for the backward's LN_f'. */
const FINAL_ROW = 'saved_final_row';

/** Layer i's saved activations; the last layer keeps only the end-token rows after attention. */
function savedOf(cfg: TextTowerConfig, i: number): ReturnType<typeof layerSaved> {
  return layerSaved(i, cfg, i === cfg.layers - 1 ? 'batch' : 'rows');
}

/** Every activation the forward graph outputs for the backward graph, in output order. */
export function savedActivationNames(cfg: TextTowerConfig): string[] {
  const names: string[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const s = savedOf(cfg, i).names;
    for (const k of LAYER_SAVED_KEYS) names.push(s[k]);
  }
  names.push(FINAL_ROW);
  return names;
}

/** The text tower's weights, read into the graph's float type. */
export class TextTowerParams extends WeightReader {
  readonly config: TextTowerConfig;

  constructor(config: TextTowerConfig, get: WeightGetter, dtype: FloatDType) {
    if (config.width % config.heads !== 0) throw new Error(`text width ${config.width} is not divisible by ${config.heads} heads`);
    super(get, dtype);
    this.config = config;
  }

  get headDim(): number {
    return this.config.width / this.config.heads;
  }

  layer(i: number): EncoderLayerSpec {
    return { ...this.config, tower: 'text', layer: i, graphPrefix: `l${i}` };
  }
}

/** Forward: row eot_b of each prompt, for the last layer's attention output and residual stream. */
function endTokenRows(g: GraphBuilder, eot: string, batchAndSeq: string, W: number): RowSelection {
  const eotRows = g.op('Unsqueeze', [eot, g.int64Const([1])]);
  const streamShape = g.op('Concat', [batchAndSeq, g.int64Const([W])], { axis: 0 });
  /** [B, L, ...] -> [B, ...]. */
  const gatherEot = (t: string) => g.op('GatherND', [t, eotRows], { batch_dims: 1 });
  return {
    probs: (probs) => g.op('Unsqueeze', [gatherEot(g.op('Transpose', [probs], { perm: [0, 2, 1, 3] })), g.int64Const([2])]),
    stream: (x) => gatherEot(g.op('Reshape', [x, streamShape])),
  };
}

/** Backward of endTokenRows: each gradient row goes back to position eot_b (a one-hot [B, L] mask), zero elsewhere. */
function endTokenRowsBackward(g: GraphBuilder, eot: string, batch: string, seq: string, cfg: { heads: number; headDim: number; width: number; dtype: FloatDType }): RowSelectionBackward {
  const positions = g.op('Range', [g.int64Const([0], []), g.op('Squeeze', [seq, g.int64Const([0])]), g.int64Const([1], [])]);
  const isEot = g.op('Equal', [g.op('Unsqueeze', [positions, g.int64Const([0])]), g.op('Unsqueeze', [eot, g.int64Const([1])])]);
  const oneHot = g.op('Cast', [isEot], { to: cfg.dtype === 'float64' ? 11 : 1 });
  return {
    // d(P_row v) rows [B, W] -> [B, H, 1, d], placed at query row eot_b of [B, H, L, d].
    heads: (dRows) => g.op('Mul', [g.op('Unsqueeze', [oneHot, g.int64Const([1, 3])]), g.op('Reshape', [dRows, g.op('Concat', [batch, g.int64Const([cfg.heads, 1, cfg.headDim])], { axis: 0 })])]),
    stream: (dRows) => g.op('Reshape', [g.op('Mul', [g.op('Unsqueeze', [oneHot, g.int64Const([2])]), g.op('Unsqueeze', [dRows, g.int64Const([1])])]), g.int64Const([-1, cfg.width])]),
  };
}

/** Forward: features = LN_f(row) @ text_projection^T (final_layer_norm is row-wise: it runs on the B pooled rows). */
function projectForward(g: GraphBuilder, row: string, params: TextTowerParams): string {
  const cfg = params.config;
  const W = cfg.width;
  const pooled = layerNorm(g, row, g.initializer('final_ln.g', params.weight(TEXT_WEIGHTS.finalLayerNorm.weight, W), [W]), g.initializer('final_ln.b', params.weight(TEXT_WEIGHTS.finalLayerNorm.bias, W), [W]), cfg.layerNormEps);
  const projT = params.linearT(TEXT_WEIGHTS.projection, cfg.projectionDim, W);
  return g.op('MatMul', [pooled, g.initializer('text_projection.wT', projT, [W, cfg.projectionDim])], {}, { name: IO.features });
}

/** Backward: drow = LN_f'(dfeatures @ text_projection). */
function projectBackward(g: GraphBuilder, dFeatures: string, row: string, params: TextTowerParams): string {
  const cfg = params.config;
  const W = cfg.width;
  const P = cfg.projectionDim;
  const dPooled = g.op('MatMul', [dFeatures, g.initializer('text_projection.w', params.weight(TEXT_WEIGHTS.projection, P * W), [P, W])]);
  return layerNormBackward(g, dPooled, row, g.initializer('final_ln.g', params.weight(TEXT_WEIGHTS.finalLayerNorm.weight, W), [W]), cfg.layerNormEps);
}

export function buildForwardGraph(params: TextTowerParams): Uint8Array {
  const cfg = params.config;
  const W = cfg.width;
  const H = cfg.heads;
  const d = params.headDim;
  const C = cfg.contextLength;
  const dtype = params.dtype;
  const g = new GraphBuilder('clip_text_tower_forward', { opset: 17, dtype });

  const embeds = g.input(IO.embeds, dtype, ['batch', 'seq', W]);
  const eot = g.input(IO.eotIndex, 'int64', ['batch']);

  const shape = g.op('Shape', [embeds]);
  const batchAndSeq = g.op('Slice', [shape, g.int64Const([0]), g.int64Const([2])]);
  const seq = g.op('Slice', [shape, g.int64Const([1]), g.int64Const([2])]);

  const posTable = g.initializer('position_embedding', params.weight(TEXT_WEIGHTS.positionEmbedding, C * W), [C, W]);
  const pos = g.op('Slice', [posTable, g.int64Const([0]), seq, g.int64Const([0])]);
  const maskTable = g.floatConst(causalMask(C, 'float64'), [C, C], 'causal_mask');
  const mask = g.op('Slice', [maskTable, g.int64Const([0, 0]), g.op('Concat', [seq, seq], { axis: 0 }), g.int64Const([0, 1])]);

  const headsShape = g.op('Concat', [batchAndSeq, g.int64Const([3 * H, d])], { axis: 0 });
  const rows = g.int64Const([-1, W]);
  const lastRows = endTokenRows(g, eot, batchAndSeq, W);

  let x = g.op('Reshape', [g.op('Add', [embeds, pos]), rows], {}, { name: savedOf(cfg, 0).names.input });
  for (let i = 0; i < cfg.layers; i++) {
    const last = i === cfg.layers - 1;
    const { qkv, probs, mid, fc1 } = savedOf(cfg, i).names;
    const out = last ? FINAL_ROW : savedOf(cfg, i + 1).names.input;
    x = addEncoderLayer(g, x, params.layer(i), params, { headsShape, rows, mask }, { names: { qkv, probs, mid, fc1, out }, ...(last ? { rows: lastRows } : {}) }).out;
  }
  const features = projectForward(g, x, params);

  g.output(features, dtype, ['batch', cfg.projectionDim]);
  for (let i = 0; i < cfg.layers; i++) {
    const s = savedOf(cfg, i);
    for (const k of LAYER_SAVED_KEYS) g.output(s.names[k], dtype, s.shapes[k]);
  }
  g.output(FINAL_ROW, dtype, ['batch', W]);
  return g.toBytes();
}

export function buildBackwardGraph(params: TextTowerParams): Uint8Array {
  const { config: cfg, dtype, headDim: d } = params;
  const { width: W, heads: H } = cfg;
  const g = new GraphBuilder('clip_text_tower_vjp', { opset: 17, dtype });

  const gradFeatures = g.input(IO.gradFeatures, dtype, ['batch', cfg.projectionDim]);
  const eot = g.input(IO.eotIndex, 'int64', ['batch']);
  const saved: LayerSaved[] = [];
  for (let i = 0; i < cfg.layers; i++) {
    const s = savedOf(cfg, i);
    for (const k of LAYER_SAVED_KEYS) g.input(s.names[k], dtype, s.shapes[k]);
    saved.push(s.names);
  }
  const finalRow = g.input(FINAL_ROW, dtype, ['batch', W]);

  // B and L from the saved q/k/v, [B, 3H, L, d].
  const qkvShape = g.op('Shape', [saved[0]!.qkv]);
  const batch = g.op('Slice', [qkvShape, g.int64Const([0]), g.int64Const([1])]);
  const seq = g.op('Slice', [qkvShape, g.int64Const([2]), g.int64Const([3])]);
  const shapes = { headsShape: g.op('Concat', [batch, seq, g.int64Const([H, d])], { axis: 0 }), rows3W: g.int64Const([-1, 3 * W]) };
  const lastRows = endTokenRowsBackward(g, eot, batch, seq, { heads: H, headDim: d, width: W, dtype });

  // d(loss)/d(each layer's output), from the top: the last layer's output exists only at the end-token rows, [B, W].
  let dx = projectBackward(g, gradFeatures, finalRow, params);
  for (let i = cfg.layers - 1; i >= 0; i--) {
    dx = addEncoderLayerBackward(g, dx, params.layer(i), params, saved[i]!, shapes, i === cfg.layers - 1 ? lastRows : undefined);
  }
  // The position embedding is added, so the gradient reaches the embeddings unchanged.
  const gradEmbeds = g.op('Reshape', [dx, g.op('Concat', [batch, seq, g.int64Const([W])], { axis: 0 })], {}, { name: IO.gradEmbeds });
  g.output(gradEmbeds, dtype, ['batch', 'seq', W]);
  return g.toBytes();
}
