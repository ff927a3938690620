/**
 * The one table of Hugging Face CLIPModel weight names (model.safetensors), with their shapes.
 * Graph builders, the random-weight generators and exporters all name weights through it, so a
 * name is spelt once.
 */
import type { TextTowerConfig, VisionTowerConfig } from './config.ts';

export type Tower = 'text' | 'vision';

/** A nn.Linear or nn.LayerNorm: weight and bias. */
export interface AffineNames {
  readonly weight: string;
  readonly bias: string;
}

/** The weights of one encoder layer (CLIPEncoderLayer). */
export interface EncoderLayerNames {
  readonly q: AffineNames;
  readonly k: AffineNames;
  readonly v: AffineNames;
  readonly out: AffineNames;
  readonly ln1: AffineNames;
  readonly fc1: AffineNames;
  readonly fc2: AffineNames;
  readonly ln2: AffineNames;
}

const affine = (prefix: string): AffineNames => ({ weight: `${prefix}.weight`, bias: `${prefix}.bias` });

export function encoderLayerNames(tower: Tower, layer: number): EncoderLayerNames {
  const p = `${tower}_model.encoder.layers.${layer}`;
  return {
    q: affine(`${p}.self_attn.q_proj`),
    k: affine(`${p}.self_attn.k_proj`),
    v: affine(`${p}.self_attn.v_proj`),
    out: affine(`${p}.self_attn.out_proj`),
    ln1: affine(`${p}.layer_norm1`),
    fc1: affine(`${p}.mlp.fc1`),
    fc2: affine(`${p}.mlp.fc2`),
    ln2: affine(`${p}.layer_norm2`),
  };
}

export const TEXT_WEIGHTS = {
  tokenEmbedding: 'text_model.embeddings.token_embedding.weight',
  positionEmbedding: 'text_model.embeddings.position_embedding.weight',
  finalLayerNorm: affine('text_model.final_layer_norm'),
  /** [projection_dim, width], no bias. */
  projection: 'text_projection.weight',
} as const;

export const VISION_WEIGHTS = {
  classEmbedding: 'vision_model.embeddings.class_embedding',
  /** Conv2d [width, channels, patch, patch], no bias. */
  patchEmbedding: 'vision_model.embeddings.patch_embedding.weight',
  positionEmbedding: 'vision_model.embeddings.position_embedding.weight',
  /** Spelt "layrnorm" in Hugging Face's CLIPVisionTransformer. */
  preLayerNorm: affine('vision_model.pre_layrnorm'),
  postLayerNorm: affine('vision_model.post_layernorm'),
  /** [projection_dim, width], no bias. */
  projection: 'visual_projection.weight',
} as const;

/** A scalar; its exp multiplies the cosines. */
export const LOGIT_SCALE = 'logit_scale';

/** What a weight is, for code that treats kinds differently (initialisation, quantisation). */
export type WeightRole = 'embedding' | 'attention-in' | 'attention-out' | 'mlp-in' | 'mlp-out' | 'bias' | 'norm-gain' | 'norm-bias' | 'projection' | 'scalar';

export interface WeightEntry {
  readonly name: string;
  readonly shape: readonly number[];
  readonly role: WeightRole;
}

/** One layer's weights in Hugging Face's state_dict order. */
function layerEntries(tower: Tower, layer: number, width: number, inter: number): WeightEntry[] {
  const n = encoderLayerNames(tower, layer);
  const out: WeightEntry[] = [];
  for (const proj of [n.k, n.v, n.q, n.out]) {
    out.push({ name: proj.weight, shape: [width, width], role: proj === n.out ? 'attention-out' : 'attention-in' });
    out.push({ name: proj.bias, shape: [width], role: 'bias' });
  }
  out.push({ name: n.ln1.weight, shape: [width], role: 'norm-gain' }, { name: n.ln1.bias, shape: [width], role: 'norm-bias' });
  out.push({ name: n.fc1.weight, shape: [inter, width], role: 'mlp-in' }, { name: n.fc1.bias, shape: [inter], role: 'bias' });
  out.push({ name: n.fc2.weight, shape: [width, inter], role: 'mlp-out' }, { name: n.fc2.bias, shape: [width], role: 'bias' });
  out.push({ name: n.ln2.weight, shape: [width], role: 'norm-gain' }, { name: n.ln2.bias, shape: [width], role: 'norm-bias' });
  return out;
}

/** Every text-tower weight (token and position embeddings, layers, final LayerNorm), in state_dict order; text_projection is listed by `textTowerWeights`. */
function textModelEntries(c: TextTowerConfig): WeightEntry[] {
  const W = c.width;
  const out: WeightEntry[] = [
    { name: TEXT_WEIGHTS.tokenEmbedding, shape: [c.vocabSize, W], role: 'embedding' },
    { name: TEXT_WEIGHTS.positionEmbedding, shape: [c.contextLength, W], role: 'embedding' },
  ];
  for (let i = 0; i < c.layers; i++) out.push(...layerEntries('text', i, W, c.intermediateSize));
  out.push({ name: TEXT_WEIGHTS.finalLayerNorm.weight, shape: [W], role: 'norm-gain' }, { name: TEXT_WEIGHTS.finalLayerNorm.bias, shape: [W], role: 'norm-bias' });
  return out;
}

function visionModelEntries(c: VisionTowerConfig): WeightEntry[] {
  const W = c.width;
  const P = c.patchSize;
  const grid = c.imageSize / P;
  const out: WeightEntry[] = [
    { name: VISION_WEIGHTS.classEmbedding, shape: [W], role: 'embedding' },
    { name: VISION_WEIGHTS.patchEmbedding, shape: [W, c.numChannels, P, P], role: 'embedding' },
    { name: VISION_WEIGHTS.positionEmbedding, shape: [grid * grid + 1, W], role: 'embedding' },
    { name: VISION_WEIGHTS.preLayerNorm.weight, shape: [W], role: 'norm-gain' },
    { name: VISION_WEIGHTS.preLayerNorm.bias, shape: [W], role: 'norm-bias' },
  ];
  for (let i = 0; i < c.layers; i++) out.push(...layerEntries('vision', i, W, c.intermediateSize));
  out.push({ name: VISION_WEIGHTS.postLayerNorm.weight, shape: [W], role: 'norm-gain' }, { name: VISION_WEIGHTS.postLayerNorm.bias, shape: [W], role: 'norm-bias' });
  return out;
}

/** The text tower's weights plus text_projection. */
export function textTowerWeights(c: TextTowerConfig): WeightEntry[] {
  return [...textModelEntries(c), { name: TEXT_WEIGHTS.projection, shape: [c.projectionDim, c.width], role: 'projection' }];
}

/** The vision tower's weights plus visual_projection. */
export function visionTowerWeights(c: VisionTowerConfig): WeightEntry[] {
  return [...visionModelEntries(c), { name: VISION_WEIGHTS.projection, shape: [c.projectionDim, c.width], role: 'projection' }];
}

/** Every tensor of a CLIPModel's model.safetensors, in Hugging Face's state_dict order. */
export function clipModelWeights(text: TextTowerConfig, vision: VisionTowerConfig): WeightEntry[] {
  return [
    ...textModelEntries(text),
    ...visionModelEntries(vision),
    { name: VISION_WEIGHTS.projection, shape: [vision.projectionDim, vision.width], role: 'projection' },
    { name: TEXT_WEIGHTS.projection, shape: [text.projectionDim, text.width], role: 'projection' },
    { name: LOGIT_SCALE, shape: [], role: 'scalar' },
  ];
}

/** name -> shape of a list of entries. */
export function shapesByName(entries: readonly WeightEntry[]): Map<string, number[]> {
  return new Map(entries.map((e) => [e.name, [...e.shape]]));
}
