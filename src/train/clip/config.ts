/**
 * The Hugging Face CLIP config.json, and the one place that maps it onto the tower configs the
 * graph builders take (text tower, vision tower, whole model). Everything that builds or exports a
 * CLIP graph (training, export-vision, synth-model, the edge engine's exporter) goes through here,
 * so a new config field is read in one place.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '../../core/errors.ts';

/** The fields both towers' configs have: the shape of their encoder layers. */
const EncoderConfigFields = {
  hidden_size: z.number().int().positive(),
  intermediate_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  layer_norm_eps: z.number().positive().default(1e-5),
  hidden_act: z.enum(['quick_gelu', 'gelu']).default('quick_gelu'),
};

const TextConfigSchema = z.object({
  ...EncoderConfigFields,
  vocab_size: z.number().int().positive(),
  max_position_embeddings: z.number().int().positive(),
  eos_token_id: z.number().int().optional(),
  bos_token_id: z.number().int().optional(),
});

const VisionConfigSchema = z.object({
  ...EncoderConfigFields,
  image_size: z.number().int().positive(),
  patch_size: z.number().int().positive(),
  num_channels: z.number().int().positive().default(3),
});

/** config.json of a Hugging Face CLIPModel (the fields the project reads). */
export const ClipConfigSchema = z.object({
  projection_dim: z.number().int().positive(),
  logit_scale_init_value: z.number().optional(),
  text_config: TextConfigSchema,
  vision_config: VisionConfigSchema,
});
export type ClipConfig = z.infer<typeof ClipConfigSchema>;
export type ClipTextConfig = z.infer<typeof TextConfigSchema>;
export type ClipVisionConfig = z.infer<typeof VisionConfigSchema>;

export type Activation = 'quick_gelu' | 'gelu';

/** The transformer shape both towers share: what each of their encoder layers is built from. */
export interface EncoderStackConfig {
  readonly width: number;
  readonly layers: number;
  readonly heads: number;
  readonly intermediateSize: number;
  readonly layerNormEps: number;
  readonly hiddenAct: Activation;
}

export interface TextTowerConfig extends EncoderStackConfig {
  readonly vocabSize: number;
  /** max_position_embeddings (77 for CLIP). */
  readonly contextLength: number;
  readonly projectionDim: number;
  /** The end-of-text token id: pooling happens at its first occurrence. */
  readonly eotId: number;
}

export interface VisionTowerConfig extends EncoderStackConfig {
  readonly imageSize: number;
  readonly patchSize: number;
  readonly numChannels: number;
  readonly projectionDim: number;
}

export interface ClipModelConfig {
  readonly text: TextTowerConfig;
  readonly vision: VisionTowerConfig;
}

/** The encoder shape either tower's config gives. */
function encoderStack(c: ClipTextConfig | ClipVisionConfig): EncoderStackConfig {
  return {
    width: c.hidden_size,
    layers: c.num_hidden_layers,
    heads: c.num_attention_heads,
    intermediateSize: c.intermediate_size,
    layerNormEps: c.layer_norm_eps,
    hiddenAct: c.hidden_act,
  };
}

/** The text tower of a config.json; `eotId` comes from the tokenizer (config files disagree on eos_token_id). */
export function textTowerConfig(config: ClipConfig, eotId: number): TextTowerConfig {
  const t = config.text_config;
  return { ...encoderStack(t), vocabSize: t.vocab_size, contextLength: t.max_position_embeddings, projectionDim: config.projection_dim, eotId };
}

export function visionTowerConfig(config: ClipConfig): VisionTowerConfig {
  const v = config.vision_config;
  return { ...encoderStack(v), imageSize: v.image_size, patchSize: v.patch_size, numChannels: v.num_channels, projectionDim: config.projection_dim };
}

export function clipModelConfig(config: ClipConfig, eotId: number): ClipModelConfig {
  return { text: textTowerConfig(config, eotId), vision: visionTowerConfig(config) };
}

export function validateTextTowerConfig(c: TextTowerConfig): void {
  const positive = ['width', 'layers', 'heads', 'intermediateSize', 'vocabSize', 'contextLength', 'projectionDim'] as const;
  for (const k of positive) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new InvalidArgumentError(`text tower ${k} must be a positive integer, got ${c[k]}.`);
  }
  if (c.width % c.heads !== 0) throw new InvalidArgumentError(`text width ${c.width} is not divisible by ${c.heads} attention heads.`);
  if (!Number.isInteger(c.eotId) || c.eotId < 0 || c.eotId >= c.vocabSize) throw new InvalidArgumentError(`end-of-text id ${c.eotId} is outside the vocabulary.`);
}

export function validateVisionTowerConfig(c: VisionTowerConfig): void {
  for (const k of ['width', 'layers', 'heads', 'intermediateSize', 'imageSize', 'patchSize', 'numChannels', 'projectionDim'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new InvalidArgumentError(`vision tower ${k} must be a positive integer, got ${c[k]}.`);
  }
  if (c.imageSize % c.patchSize !== 0) throw new InvalidArgumentError(`image size ${c.imageSize} is not a multiple of patch size ${c.patchSize}.`);
  if (c.width % c.heads !== 0) throw new InvalidArgumentError(`vision width ${c.width} is not divisible by ${c.heads} attention heads.`);
}
