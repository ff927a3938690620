/**
 * The CLIP architectures `synth-model` can generate, as Hugging Face config.json documents.
 * vit-b-32 and vit-b-16 have the dimensions of openai/clip-vit-base-patch32 and -patch16; tiny-test
 * is a few-kilobyte model that keeps unit tests fast.
 */
import { InvalidArgumentError } from '../../core/errors.ts';

export const SYNTH_ARCHS = ['vit-b-32', 'vit-b-16', 'tiny-test'] as const;
export type SynthArch = (typeof SYNTH_ARCHS)[number];

/** The HF config.json of an architecture (the fields loadCheckpoint reads, plus the usual extras). */
export interface SynthConfigJson {
  architectures: string[];
  initializer_factor: number;
  logit_scale_init_value: number;
  model_type: 'clip';
  projection_dim: number;
  text_config: Record<string, unknown> & {
    vocab_size: number; hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number;
    max_position_embeddings: number; layer_norm_eps: number; hidden_act: 'quick_gelu'; initializer_range: number;
  };
  vision_config: Record<string, unknown> & {
    hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number;
    image_size: number; patch_size: number; num_channels: number; layer_norm_eps: number; hidden_act: 'quick_gelu'; initializer_range: number;
  };
  torch_dtype: 'float32';
  transformers_version: string;
}

interface Dims {
  text: { width: number; layers: number; heads: number; vocab: number };
  vision: { width: number; layers: number; heads: number; imageSize: number; patchSize: number };
  projection: number;
}

const DIMS: Readonly<Record<SynthArch, Dims>> = {
  'vit-b-32': { text: { width: 512, layers: 12, heads: 8, vocab: 49408 }, vision: { width: 768, layers: 12, heads: 12, imageSize: 224, patchSize: 32 }, projection: 512 },
  'vit-b-16': { text: { width: 512, layers: 12, heads: 8, vocab: 49408 }, vision: { width: 768, layers: 12, heads: 12, imageSize: 224, patchSize: 16 }, projection: 512 },
  'tiny-test': { text: { width: 32, layers: 2, heads: 2, vocab: 1000 }, vision: { width: 48, layers: 2, heads: 3, imageSize: 32, patchSize: 8 }, projection: 24 },
};

export function parseSynthArch(raw: string): SynthArch {
  if ((SYNTH_ARCHS as readonly string[]).includes(raw)) return raw as SynthArch;
  throw new InvalidArgumentError(`--arch must be one of vit-b-32, vit-b-16 (got "${raw}").`);
}

export function synthConfig(arch: SynthArch): SynthConfigJson {
  const d = DIMS[arch];
  return {
    architectures: ['CLIPModel'],
    initializer_factor: 1.0,
    logit_scale_init_value: 2.6592,
    model_type: 'clip',
    projection_dim: d.projection,
    text_config: {
      vocab_size: d.text.vocab,
      hidden_size: d.text.width,
      intermediate_size: 4 * d.text.width,
      num_hidden_layers: d.text.layers,
      num_attention_heads: d.text.heads,
      max_position_embeddings: 77,
      layer_norm_eps: 1e-5,
      hidden_act: 'quick_gelu',
      model_type: 'clip_text_model',
      bos_token_id: d.text.vocab - 2,
      eos_token_id: d.text.vocab - 1,
      pad_token_id: 1,
      attention_dropout: 0.0,
      dropout: 0.0,
      initializer_range: 0.02,
      initializer_factor: 1.0,
      projection_dim: d.projection,
    },
    vision_config: {
      hidden_size: d.vision.width,
      intermediate_size: 4 * d.vision.width,
      num_hidden_layers: d.vision.layers,
      num_attention_heads: d.vision.heads,
      num_channels: 3,
      image_size: d.vision.imageSize,
      patch_size: d.vision.patchSize,
      layer_norm_eps: 1e-5,
      model_type: 'clip_vision_model',
      hidden_act: 'quick_gelu',
      attention_dropout: 0.0,
      dropout: 0.0,
      initializer_range: 0.02,
      initializer_factor: 1.0,
      projection_dim: d.projection,
    },
    torch_dtype: 'float32',
    transformers_version: '4.41.0',
  };
}

/** CLIPImageProcessor settings of the OpenAI checkpoints, at the architecture's image size. */
export function synthPreprocessorConfig(arch: SynthArch): Record<string, unknown> {
  const s = DIMS[arch].vision.imageSize;
  return {
    crop_size: { height: s, width: s },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.48145466, 0.4578275, 0.40821073],
    image_processor_type: 'CLIPImageProcessor',
    image_std: [0.26862954, 0.26130258, 0.27577711],
    resample: 3,
    rescale_factor: 0.00392156862745098,
    size: { shortest_edge: s },
  };
}
