/**
 * The CLIP text transformer as ONNX graphs emitted by the project (HF CLIPTextModel semantics):
 *
 *   x = embeds + position_embedding[:L]
 *   N pre-LN layers (encoder-layer.ts) with a causal mask
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
import { GraphBuilder, type FloatDType } from '../onnx/graph-builder.ts';
import { layerNorm } from '../onnx/nn-ops.ts';
import type { TextTowerConfig } from './config.ts';
import { addEncoderLayer, causalMask } from './encoder-layer.ts';
import { TEXT_WEIGHTS } from './weight-names.ts';
import { WeightReader, type WeightGetter } from './weights.ts';

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

  const posTable = g.initializer('position_embedding', params.weight(TEXT_WEIGHTS.positionEmbedding, C * W), [C, W]);
  const pos = g.op('Slice', [posTable, g.int64Const([0]), seq, g.int64Const([0])]);
  const maskTable = g.floatConst(causalMask(C, 'float64'), [C, C], 'causal_mask');
  const mask = g.op('Slice', [maskTable, g.int64Const([0, 0]), g.op('Concat', [seq, seq], { axis: 0 }), g.int64Const([0, 1])]);

  const headsShape = g.op('Concat', [batchAndSeq, g.int64Const([3 * H, d])], { axis: 0 });
  const rows = g.int64Const([-1, W]);

  const eotRows = g.op('Unsqueeze', [eot, g.int64Const([1])]);
  const streamShape = g.op('Concat', [batchAndSeq, g.int64Const([W])], { axis: 0 });
  /** Row eot_b of each prompt: [B, L, ...] -> [B, ...]. */
  const gatherEot = (t: string) => g.op('GatherND', [t, eotRows], { batch_dims: 1 });
  // Only the end-token rows reach the output, and after attention every op is row-wise: the
  // last layer runs out_proj and the MLP on B rows instead of B*L.
  const endTokenRows = {
    probs: (probs: string) => g.op('Unsqueeze', [gatherEot(g.op('Transpose', [probs], { perm: [0, 2, 1, 3] })), g.int64Const([2])]),
    stream: (x: string) => gatherEot(g.op('Reshape', [x, streamShape])),
  };

  let x = g.op('Reshape', [g.op('Add', [embeds, pos]), rows], {}, { name: saved.input(0) });
  for (let i = 0; i < cfg.layers; i++) {
    const last = i === cfg.layers - 1;
    const names = { qkv: saved.qkv(i), probs: saved.probs(i), mid: saved.mid(i), fc1: saved.fc1(i), out: last ? saved.finalRow : saved.input(i + 1) };
    x = addEncoderLayer(g, x, { ...cfg, tower: 'text', layer: i, graphPrefix: `l${i}` }, params, { headsShape, rows, mask }, { names, ...(last ? { rows: endTokenRows } : {}) }).out;
  }

  // final_layer_norm is row-wise too: it runs on the B pooled rows.
  const pooled = layerNorm(g, x, g.initializer('final_ln.g', params.weight(TEXT_WEIGHTS.finalLayerNorm.weight, W), [W]), g.initializer('final_ln.b', params.weight(TEXT_WEIGHTS.finalLayerNorm.bias, W), [W]), cfg.layerNormEps);
  const projT = params.linearT(TEXT_WEIGHTS.projection, cfg.projectionDim, W);
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
