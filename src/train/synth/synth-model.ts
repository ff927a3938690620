/**
 * Writes a CLIP checkpoint with seeded random weights in the Hugging Face layout, at real
 * dimensions (ViT-B/32, ViT-B/16), for timing and memory work where real weights cannot be
 * downloaded:
 *
 *   config.json, preprocessor_config.json, model.safetensors (F32),
 *   vocab.json, merges.txt, tokenizer.json, tokenizer_config.json, special_tokens_map.json,
 *   onnx/vision_model.onnx (pixel_values -> image_embeds, built by src/train/clip/vision-graph.ts),
 *   onnx/model.onnx (the whole model, as Transformers.js's CLIPModel loads it),
 *   README.md saying what this is.
 *
 * Same arch + seed -> the same bytes.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadOpenAiBpe, type BpeVocabulary } from '../../core/tokenizer/vocabulary.ts';
import { buildClipModelGraph, type ClipModelGraphConfig } from '../clip/clip-model-graph.ts';
import { clipModelConfig } from '../clip/config.ts';
import { buildVisionGraph } from '../clip/vision-graph.ts';
import { synthConfig, synthPreprocessorConfig, type SynthArch, type SynthConfigJson } from './architectures.ts';
import { generateClipWeights, parameterCount, type SynthTensor } from './random-weights.ts';
import { writeSafetensorsF32 } from './safetensors-file.ts';
import { syntheticVocabulary, tokenizerFiles } from './tokenizer-files.ts';

export interface SynthModelOptions {
  readonly arch: SynthArch;
  readonly seed: number;
  readonly out: string;
  /** OpenAI's bpe_simple_vocab_16e6.txt.gz, used for 49408-token vocabularies when it exists. null: always synthetic. */
  readonly openAiBpePath?: string | null;
  /** Skip onnx/model.onnx (the whole model; only the Transformers.js comparison needs it). */
  readonly skipWholeModel?: boolean;
  readonly onStep?: (message: string) => void;
}

export interface SynthModelSummary {
  readonly out: string;
  readonly arch: SynthArch;
  readonly seed: number;
  readonly parameters: number;
  readonly tokenizer: 'openai-bpe' | 'synthetic';
  readonly files: Record<string, number>;
  readonly seconds: number;
}

const OPENAI_VOCAB_SIZE = 49408;

async function vocabularyFor(size: number, bpePath: string | null | undefined): Promise<{ vocab: BpeVocabulary; kind: 'openai-bpe' | 'synthetic' }> {
  if (size === OPENAI_VOCAB_SIZE && bpePath && existsSync(bpePath)) {
    return { vocab: await loadOpenAiBpe(new Uint8Array(readFileSync(bpePath))), kind: 'openai-bpe' };
  }
  return { vocab: syntheticVocabulary(size), kind: 'synthetic' };
}

export function graphConfigOf(cfg: SynthConfigJson, eotId: number): ClipModelGraphConfig {
  return { ...clipModelConfig(cfg, eotId), logitScale: cfg.logit_scale_init_value };
}

function readme(arch: SynthArch, seed: number, params: number, tokenizer: string): string {
  return [
    `# synthetic ${arch} (seed ${seed})`,
    '',
    `Random weights at the dimensions of ${arch === 'vit-b-16' ? 'openai/clip-vit-base-patch16' : arch === 'vit-b-32' ? 'openai/clip-vit-base-patch32' : 'a tiny test CLIP'}, written by`,
    '`npx prompt-edge synth-model`. It classifies nothing: it exists for timing and memory measurements,',
    'which do not depend on the weight values. Hugging Face initialisation scales; ' + `${params.toLocaleString('en-US')} parameters.`,
    `Tokenizer: ${tokenizer === 'openai-bpe' ? "OpenAI CLIP's BPE (49408 tokens)" : 'a synthetic byte-level BPE vocabulary of the configured size'}.`,
    '',
  ].join('\n');
}

export async function writeSynthModel(opts: SynthModelOptions): Promise<SynthModelSummary> {
  const started = performance.now();
  const step = opts.onStep ?? (() => undefined);
  const out = resolve(opts.out);
  mkdirSync(join(out, 'onnx'), { recursive: true });
  const files: Record<string, number> = {};
  const write = (name: string, data: string | Uint8Array) => {
    writeFileSync(join(out, name), data);
    files[name] = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  };

  const cfg = synthConfig(opts.arch);
  write('config.json', `${JSON.stringify(cfg, null, 2)}\n`);
  write('preprocessor_config.json', `${JSON.stringify(synthPreprocessorConfig(opts.arch), null, 2)}\n`);

  step('tokenizer');
  const { vocab, kind } = await vocabularyFor(cfg.text_config.vocab_size, opts.openAiBpePath);
  for (const [name, text] of Object.entries(tokenizerFiles(vocab, cfg.text_config.max_position_embeddings))) write(name, text);
  const eotId = vocab.tokens.length - 1;

  step('weights');
  let weights: Map<string, SynthTensor> | undefined = generateClipWeights(cfg, opts.seed);
  const params = parameterCount(weights);
  step('model.safetensors');
  files['model.safetensors'] = writeSafetensorsF32(join(out, 'model.safetensors'), weights, { format: 'pt' });

  const get = (name: string): Float32Array => {
    const t = weights?.get(name);
    if (!t) throw new Error(`synthetic weights have no tensor ${name}`);
    return t.data;
  };
  const graphCfg = graphConfigOf(cfg, eotId);
  step('onnx/vision_model.onnx');
  write('onnx/vision_model.onnx', buildVisionGraph(graphCfg.vision, get));
  if (!opts.skipWholeModel) {
    step('onnx/model.onnx');
    write('onnx/model.onnx', buildClipModelGraph(graphCfg, get));
  }
  weights = undefined;
  write('README.md', readme(opts.arch, opts.seed, params, kind));
  return { out, arch: opts.arch, seed: opts.seed, parameters: params, tokenizer: kind, files, seconds: (performance.now() - started) / 1000 };
}
