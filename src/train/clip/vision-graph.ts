/**
 * The CLIP vision transformer (Hugging Face CLIPVisionModelWithProjection) as an ONNX graph built
 * by the project from model.safetensors:
 *
 *   patches = Conv(pixel_values, patch_embedding, stride = patch)       (no bias)
 *   x = [class_embedding; patches] + position_embedding
 *   x = pre_layrnorm(x)
 *   N pre-LN layers (encoder-layer.ts, not causal)
 *   image_embeds = post_layernorm(x[:, 0]) @ visual_projection^T                   (no bias)
 *
 * `pixel_values` [batch, 3, S, S] -> `image_embeds` [batch, projection_dim], the same interface as
 * the Transformers.js / Optimum export (onnx/vision_model.onnx).
 */
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { layerNorm } from '../onnx/nn-ops.ts';
import { validateVisionTowerConfig, type VisionTowerConfig } from './config.ts';
import { addEncoderLayers, type AttentionShapes } from './encoder-layer.ts';
import { VISION_WEIGHTS } from './weight-names.ts';
import { WeightReader, type WeightGetter } from './weights.ts';

export const VISION_IO = { pixelValues: 'pixel_values', imageEmbeds: 'image_embeds' } as const;

/**
 * Adds the vision tower to `g`, reading `pixelValues` [batch, C, S, S]; returns the value holding
 * the (unnormalised) image embeddings [batch, projection_dim]. Initializer names start with "vision.".
 */
export function addVisionTower(g: GraphBuilder, cfg: VisionTowerConfig, get: WeightGetter, pixelValues: string, outputName?: string): string {
  validateVisionTowerConfig(cfg);
  const W = cfg.width;
  const P = cfg.patchSize;
  const grid = cfg.imageSize / P;
  const S = grid * grid + 1;
  const weights = new WeightReader(get, 'float32');
  const w = (name: string, size: number) => weights.weight(name, size);
  const names = VISION_WEIGHTS;

  const patchW = g.initializer('vision.patch_embedding', w(names.patchEmbedding, W * cfg.numChannels * P * P), [W, cfg.numChannels, P, P]);
  const conv = g.op('Conv', [pixelValues, patchW], { kernel_shape: [P, P], strides: [P, P] });
  const patches = g.op('Transpose', [g.op('Reshape', [conv, g.int64Const([0, W, grid * grid])])], { perm: [0, 2, 1] });

  const batch = g.op('Slice', [g.op('Shape', [pixelValues]), g.int64Const([0]), g.int64Const([1])]);
  const cls = g.initializer('vision.class_embedding', w(names.classEmbedding, W), [1, 1, W]);
  const clsRows = g.op('Expand', [cls, g.op('Concat', [batch, g.int64Const([1, W])], { axis: 0 })]);
  const tokens = g.op('Concat', [clsRows, patches], { axis: 1 });
  const pos = g.initializer('vision.position_embedding', w(names.positionEmbedding, S * W), [S, W]);
  const embedded = g.op('Add', [tokens, pos]);

  const preLn = layerNorm(g, embedded, g.initializer('vision.pre_ln.g', w(names.preLayerNorm.weight, W), [W]), g.initializer('vision.pre_ln.b', w(names.preLayerNorm.bias, W), [W]), cfg.layerNormEps);
  const shapes: AttentionShapes = { headsShape: g.int64Const([-1, S, 3 * cfg.heads, W / cfg.heads]), rows: g.int64Const([-1, W]) };
  const x = addEncoderLayers(g, g.op('Reshape', [preLn, shapes.rows]), cfg, 'vision', 'vision', weights, shapes);

  // Only the class token is pooled; post_layernorm is row-wise, so normalise just that row.
  const clsOut = g.op('Gather', [g.op('Reshape', [x, g.int64Const([-1, S, W])]), g.int64Const([0], [])], { axis: 1 });
  const pooled = layerNorm(g, clsOut, g.initializer('vision.post_ln.g', w(names.postLayerNorm.weight, W), [W]), g.initializer('vision.post_ln.b', w(names.postLayerNorm.bias, W), [W]), cfg.layerNormEps);
  const projT = weights.linearT(names.projection, cfg.projectionDim, W);
  return g.op('MatMul', [pooled, g.initializer('vision.visual_projection.wT', projT, [W, cfg.projectionDim])], {}, outputName === undefined ? {} : { name: outputName });
}

/** The standalone image encoder: `pixel_values` [batch, C, S, S] -> `image_embeds` [batch, projection_dim] (unnormalised). */
export function buildVisionGraph(cfg: VisionTowerConfig, get: WeightGetter): Uint8Array {
  const g = new GraphBuilder('clip_vision_model', { opset: 17, docString: 'CLIP vision tower built by prompt-edge from model.safetensors' });
  const pixels = g.input(VISION_IO.pixelValues, 'float32', ['batch', cfg.numChannels, cfg.imageSize, cfg.imageSize]);
  const embeds = addVisionTower(g, cfg, get, pixels, VISION_IO.imageEmbeds);
  g.output(embeds, 'float32', ['batch', cfg.projectionDim]);
  return g.toBytes();
}
