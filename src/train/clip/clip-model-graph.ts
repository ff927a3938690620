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
import { clipModelConfig, type ClipConfig, type ClipModelConfig, type TextTowerConfig } from './config.ts';
import { addEncoderLayers, causalMask, MASKED_SCORE } from './encoder-layer.ts';
import { addVisionTower } from './vision-graph.ts';
import { LOGIT_SCALE, TEXT_WEIGHTS } from './weight-names.ts';
import { WeightReader, type WeightGetter } from './weights.ts';

export interface ClipModelGraphConfig extends ClipModelConfig {
  /** logit_scale as stored (its exp multiplies the cosines). */
  readonly logitScale: number;
}

function addTextTower(g: GraphBuilder, cfg: TextTowerConfig, get: WeightGetter, inputIds: string, attentionMask: string, outputName: string): string {
  const W = cfg.width;
  const C = cfg.contextLength;
  const weights = new WeightReader(get, 'float32');
  const w = (name: string, size: number) => weights.weight(name, size);
  const tokenTable = g.initializer('text.token_embedding', w(TEXT_WEIGHTS.tokenEmbedding, cfg.vocabSize * W), [cfg.vocabSize, W]);
  const posTable = g.initializer('text.position_embedding', w(TEXT_WEIGHTS.positionEmbedding, C * W), [C, W]);

  const idsShape = g.op('Shape', [inputIds]);
  const seq = g.op('Slice', [idsShape, g.int64Const([1]), g.int64Const([2])]);
  const pos = g.op('Slice', [posTable, g.int64Const([0]), seq, g.int64Const([0])]);
  const embedded = g.op('Add', [g.op('Gather', [tokenTable, inputIds], { axis: 0 }), pos]);

  const causalSlice = g.op('Slice', [g.initializer('text.causal_mask', causalMask(C, 'float32'), [C, C]), g.int64Const([0, 0]), g.op('Concat', [seq, seq], { axis: 0 }), g.int64Const([0, 1])]);
  // (1 - mask) * -1e9 on the key axis: [B, 1, 1, L].
  const keep = g.op('Cast', [attentionMask], { to: 1 });
  const padding = g.op('Unsqueeze', [g.op('Mul', [g.op('Sub', [g.floatConst([1], []), keep]), g.floatConst([MASKED_SCORE], [])]), g.int64Const([1, 2])]);
  const mask = g.op('Add', [causalSlice, padding]);

  const shapes = { headsShape: g.op('Concat', [idsShape, g.int64Const([3 * cfg.heads, W / cfg.heads])], { axis: 0 }), rows: g.int64Const([-1, W]), mask };
  const x = addEncoderLayers(g, g.op('Reshape', [embedded, shapes.rows]), cfg, 'text', 'text', weights, shapes);
  const stream = g.op('Reshape', [x, g.op('Concat', [idsShape, g.int64Const([W])], { axis: 0 })]);
  // First occurrence of the end token (HF: (input_ids == eos_token_id).int().argmax(-1)).
  const isEot = g.op('Cast', [g.op('Equal', [inputIds, g.int64Const([cfg.eotId], [])])], { to: 6 });
  const eotIndex = g.op('ArgMax', [isEot], { axis: 1, keepdims: 1 });
  const pooledRow = g.op('GatherND', [stream, eotIndex], { batch_dims: 1 });
  const pooled = layerNorm(g, pooledRow, g.initializer('text.final_ln.g', w(TEXT_WEIGHTS.finalLayerNorm.weight, W), [W]), g.initializer('text.final_ln.b', w(TEXT_WEIGHTS.finalLayerNorm.bias, W), [W]), cfg.layerNormEps);
  const projT = weights.linearT(TEXT_WEIGHTS.projection, cfg.projectionDim, W);
  return g.op('MatMul', [pooled, g.initializer('text.text_projection.wT', projT, [W, cfg.projectionDim])], {}, { name: outputName });
}

function l2NormalizeRows(g: GraphBuilder, x: string): string {
  return g.op('Div', [x, g.op('ReduceL2', [x], { axes: [-1], keepdims: 1 })]);
}

export function buildClipModelGraph(cfg: ClipModelGraphConfig, get: WeightGetter): Uint8Array {
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
  return { ...clipModelConfig(ckpt.config, ckpt.tokenizer.eotId), logitScale: ckpt.weight(LOGIT_SCALE)[0]! };
}
