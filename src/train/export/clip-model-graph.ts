/**
 * The whole CLIP model as one ONNX graph, with the interface of the Transformers.js / Optimum
 * export (onnx/model.onnx) that Transformers.js's CLIPModel and its zero-shot-image-classification
 * pipeline load:
 *
 *   input_ids [text_batch, sequence] int64, attention_mask [text_batch, sequence] int64,
 *   pixel_values [image_batch, 3, S, S]
 *   -> logits_per_image [image_batch, text_batch], logits_per_text [text_batch, image_batch],
 *      text_embeds [text_batch, P], image_embeds [image_batch, P]   (projected, not normalised,
 *      exactly as the default model's export returns them)
 *
 * as HF CLIPModel.forward computes them: causal + padding attention mask in the text tower,
 * pooling at the first end-of-text token, logits = exp(logit_scale) * cosine.
 */
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { layerNorm } from '../onnx/nn-ops.ts';
import { addEncoderLayers, addVisionTower, checkedWeights, transposeMatrix, type Float32WeightGetter, type VisionTowerConfig } from '../onnx/vision-graph.ts';
import type { ClipConfig } from '../checkpoint.ts';
import type { TextTowerConfig } from '../text-tower-graph.ts';

/** Additive score for masked keys: exp() of it is exactly 0 in float32. */
const MASKED_SCORE = -1e9;

export interface ClipModelGraphConfig {
  readonly text: TextTowerConfig;
  readonly vision: VisionTowerConfig;
  /** logit_scale as stored (its exp multiplies the cosines). */
  readonly logitScale: number;
}

function addTextTower(g: GraphBuilder, cfg: TextTowerConfig, get: Float32WeightGetter, inputIds: string, attentionMask: string, outputName: string): string {
  const W = cfg.width;
  const C = cfg.contextLength;
  const w = checkedWeights(get);
  const tokenTable = g.initializer('text.token_embedding', w('text_model.embeddings.token_embedding.weight', cfg.vocabSize * W), [cfg.vocabSize, W]);
  const posTable = g.initializer('text.position_embedding', w('text_model.embeddings.position_embedding.weight', C * W), [C, W]);

  const idsShape = g.op('Shape', [inputIds]);
  const seq = g.op('Slice', [idsShape, g.int64Const([1]), g.int64Const([2])]);
  const pos = g.op('Slice', [posTable, g.int64Const([0]), seq, g.int64Const([0])]);
  const embedded = g.op('Add', [g.op('Gather', [tokenTable, inputIds], { axis: 0 }), pos]);

  const causal = new Float32Array(C * C);
  for (let r = 0; r < C; r++) for (let c = r + 1; c < C; c++) causal[r * C + c] = MASKED_SCORE;
  const causalSlice = g.op('Slice', [g.initializer('text.causal_mask', causal, [C, C]), g.int64Const([0, 0]), g.op('Concat', [seq, seq], { axis: 0 }), g.int64Const([0, 1])]);
  // (1 - mask) * -1e9 on the key axis: [B, 1, 1, L].
  const keep = g.op('Cast', [attentionMask], { to: 1 });
  const padding = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.floatConst([1], []), keep]), g.floatConst([MASKED_SCORE], [])]), g.int64Const([1, 2])]);
  const mask = g.op('Add', [causalSlice, padding]);

  const shapes = { headsShape: g.op('Concat', [idsShape, g.int64Const([3 * cfg.heads, W / cfg.heads])], { axis: 0 }), rows: g.int64Const([-1, W]), mask };
  const x = addEncoderLayers(g, g.op('Reshape', [embedded, shapes.rows]), cfg, { hfModel: 'text_model', graphPrefix: 'text' }, get, shapes);
  const stream = g.op('Reshape', [x, g.op('Concat', [idsShape, g.int64Const([W])], { axis: 0 })]);
  // First occurrence of the end token (HF: (input_ids == eos_token_id).int().argmax(-1)).
  const isEot = g.op('Cast', [g.op('Equal', [inputIds, g.int64Const([cfg.eotId], [])])], { to: 6 });
  const eotIndex = g.op('ArgMax', [isEot], { axis: 1, keepdims: 1 });
  const pooledRow = g.op('GatherND', [stream, eotIndex], { batch_dims: 1 });
  const pooled = layerNorm(g, pooledRow, g.initializer('text.final_ln.g', w('text_model.final_layer_norm.weight', W), [W]), g.initializer('text.final_ln.b', w('text_model.final_layer_norm.bias', W), [W]), cfg.layerNormEps);
  const projT = transposeMatrix(w('text_projection.weight', cfg.projectionDim * W), cfg.projectionDim, W);
  return g.op('MatMul', [pooled, g.initializer('text.text_projection.wT', projT, [W, cfg.projectionDim])], {}, { name: outputName });
}

function l2NormalizeRows(g: GraphBuilder, x: string): string {
  return g.op('Div', [x, g.op('ReduceL2', [x], { axes: [-1], keepdims: 1 })]);
}

export function buildClipModelGraph(cfg: ClipModelGraphConfig, get: Float32WeightGetter): Uint8Array {
  if (cfg.text.projectionDim !== cfg.vision.projectionDim) throw new Error(`text projection ${cfg.text.projectionDim} != vision projection ${cfg.vision.projectionDim}`);
  const g = new GraphBuilder('clip_model', { opset: 17, docString: 'CLIPModel built by prompt-edge from model.safetensors' });
  const ids = g.input('input_ids', 'int64', ['text_batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['text_batch', 'sequence']);
  const pixels = g.input('pixel_values', 'float32', ['image_batch', cfg.vision.numChannels, cfg.vision.imageSize, cfg.vision.imageSize]);

  const text = addTextTower(g, cfg.text, get, ids, mask, 'text_embeds');
  const image = addVisionTower(g, cfg.vision, get, pixels, 'image_embeds');
  const cosine = g.op('MatMul', [l2NormalizeRows(g, text), g.op('Transpose', [l2NormalizeRows(g, image)], { perm: [1, 0] })]);
  const logitsPerText = g.op('Mul', [cosine, g.floatConst([Math.exp(cfg.logitScale)], [])], {}, { name: 'logits_per_text' });
  const logitsPerImage = g.op('Transpose', [logitsPerText], { perm: [1, 0] }, { name: 'logits_per_image' });

  const P = cfg.text.projectionDim;
  g.output(logitsPerImage, 'float32', ['image_batch', 'text_batch']);
  g.output(logitsPerText, 'float32', ['text_batch', 'image_batch']);
  g.output(text, 'float32', ['text_batch', P]);
  g.output(image, 'float32', ['image_batch', P]);
  return g.toBytes();
}

/** The whole-model graph config of a loaded checkpoint. */
export function clipModelGraphConfig(ckpt: { config: ClipConfig; tokenizer: { eotId: number }; weight(name: string): Float32Array }): ClipModelGraphConfig {
  const tc = ckpt.config.text_config;
  const vc = ckpt.config.vision_config;
  return {
    text: {
      width: tc.hidden_size, layers: tc.num_hidden_layers, heads: tc.num_attention_heads, intermediateSize: tc.intermediate_size, vocabSize: tc.vocab_size,
      contextLength: tc.max_position_embeddings, projectionDim: ckpt.config.projection_dim, layerNormEps: tc.layer_norm_eps, hiddenAct: tc.hidden_act, eotId: ckpt.tokenizer.eotId,
    },
    vision: {
      width: vc.hidden_size, layers: vc.num_hidden_layers, heads: vc.num_attention_heads, intermediateSize: vc.intermediate_size, imageSize: vc.image_size,
      patchSize: vc.patch_size, numChannels: vc.num_channels, projectionDim: ckpt.config.projection_dim, layerNormEps: vc.layer_norm_eps, hiddenAct: vc.hidden_act,
    },
    logitScale: ckpt.weight('logit_scale')[0]!,
  };
}
