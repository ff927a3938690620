/**
 * Loads a CLIP checkpoint in the Hugging Face layout:
 *   config.json, model.safetensors, preprocessor_config.json, vocab.json + merges.txt,
 *   onnx/vision_model.onnx (and optionally onnx/text_model.onnx, onnx/model.onnx).
 * Works unchanged for the embedded tiny model and for openai/clip-vit-base-patch32/16.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { CheckpointError, PromptEdgeError } from '../core/errors.ts';
import { parseSafetensors, tensorToFloat32, type SafetensorsFile } from '../core/safetensors.ts';
import { ClipTokenizer } from '../core/tokenizer/clip-tokenizer.ts';
import { ClipImageProcessor } from '../core/image/clip-image-processor.ts';
import { ClipConfigSchema, type ClipConfig } from './clip/config.ts';
import { LOGIT_SCALE } from './clip/weight-names.ts';
import { VISION_EDGE_VIT, type VisionEngineName } from '../core/model-files.ts';

export { ClipConfigSchema, type ClipConfig, type ClipTextConfig, type ClipVisionConfig } from './clip/config.ts';

export interface ClipCheckpoint {
  /** Absolute path of the checkpoint folder. */
  readonly dir: string;
  /** A human-readable id: the folder name (e.g. "tiny-clip-cifar10", "clip-vit-base-patch32"). */
  readonly modelId: string;
  readonly config: ClipConfig;
  readonly weights: SafetensorsFile;
  readonly tokenizer: ClipTokenizer;
  readonly imageProcessor: ClipImageProcessor;
  readonly visionOnnxPath: string;
  /** sha256 (hex) of onnx/vision_model.onnx, the encoder Node runs (features, evaluation). */
  readonly visionSha256: string;
  /**
   * The encoder the worker serves for this folder (servedEncoder): its sha256 is the model's
   * identity, the `model_sha256` every label set built from this folder records. It is
   * `visionSha256` unless the folder holds an edge-vit weight file.
   */
  readonly served: ServedEncoder;
  /** exp(logit_scale) as trained (CLIP clamps it at 100). */
  readonly logitScale: number;
  /** Decoded float32 copy of a weight, with a clear error when it is missing. */
  weight(name: string): Float32Array;
  weightShape(name: string): readonly number[];
}

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) throw new CheckpointError(`${what} not found: ${path}. Is this a Hugging Face CLIP folder?`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (cause) {
    throw new CheckpointError(`${what} is not valid JSON: ${path}`, { cause });
  }
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const shaCache = new Map<string, { mtimeMs: number; size: number; sha: string }>();
/** sha256 of a file, memoised per path + mtime + size (ViT-B ONNX files are hundreds of MB). */
export function sha256FileCached(path: string): string {
  const st = statSync(path);
  const hit = shaCache.get(path);
  if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) return hit.sha;
  const sha = sha256File(path);
  shaCache.set(path, { mtimeMs: st.mtimeMs, size: st.size, sha });
  return sha;
}

/** What serves a model folder in the worker: its engine, the file, and that file's sha256 (computed when first read). */
export interface ServedEncoder {
  readonly engine: VisionEngineName;
  readonly path: string;
  readonly sha256: string;
}

/**
 * The encoder `model publish --model DIR` uploads and whose sha256 label sets built from DIR carry:
 * DIR/vision_model.edge-vit (the edge-vit engine's weight file, `export-vision --engine edge-vit`)
 * when the folder has one, else DIR/onnx/vision_model.onnx. One rule for both sides, so a label set
 * built against a folder always matches the model published from it (docs/storage.md).
 */
export function servedEncoder(dirArg: string): ServedEncoder {
  const dir = resolve(dirArg);
  const edgeVit = join(dir, VISION_EDGE_VIT);
  const path = existsSync(edgeVit) ? edgeVit : join(dir, 'onnx', 'vision_model.onnx');
  let sha: string | undefined;
  return {
    engine: path === edgeVit ? 'edge-vit' : 'onnxruntime',
    path,
    get sha256() {
      sha ??= sha256FileCached(path);
      return sha;
    },
  };
}

export function loadCheckpoint(dirArg: string): ClipCheckpoint {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new CheckpointError(`model folder not found: ${dir}`);
  }
  const parsed = ClipConfigSchema.safeParse(readJson(join(dir, 'config.json'), 'config.json'));
  if (!parsed.success) {
    throw new CheckpointError(`config.json in ${dir} is not a CLIP config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const config = parsed.data;

  const stPath = join(dir, 'model.safetensors');
  if (!existsSync(stPath)) throw new CheckpointError(`model.safetensors not found in ${dir} (only the safetensors format is supported; convert pytorch_model.bin first).`);
  let weights: SafetensorsFile;
  try {
    weights = parseSafetensors(new Uint8Array(readFileSync(stPath)), stPath);
  } catch (cause) {
    if (cause instanceof PromptEdgeError) throw new CheckpointError(cause.message, { cause });
    throw cause;
  }

  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw new CheckpointError(`tokenizer files vocab.json and merges.txt are required in ${dir}.`);
  }
  const tokenizer = ClipTokenizer.fromHuggingFace(readFileSync(vocabPath, 'utf8'), readFileSync(mergesPath, 'utf8'));
  if (tokenizer.vocabSize !== config.text_config.vocab_size) {
    throw new CheckpointError(`tokenizer has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${config.text_config.vocab_size} (${dir}).`);
  }
  const imageProcessor = ClipImageProcessor.fromConfig(readJson(join(dir, 'preprocessor_config.json'), 'preprocessor_config.json'));

  const visionOnnxPath = join(dir, 'onnx', 'vision_model.onnx');
  if (!existsSync(visionOnnxPath)) throw new CheckpointError(`onnx/vision_model.onnx not found in ${dir}: the image tower runs from the ONNX export.`);

  const get = (name: string) => {
    const t = weights.tensors.get(name);
    if (!t) throw new CheckpointError(`model.safetensors in ${dir} has no tensor "${name}".`);
    return t;
  };
  const ls = weights.tensors.get(LOGIT_SCALE);
  const logitScale = Math.min(100, Math.exp(ls ? tensorToFloat32(ls)[0]! : (config.logit_scale_init_value ?? Math.log(1 / 0.07))));
  let visionSha: string | undefined;
  return {
    dir,
    modelId: basename(dir),
    config,
    weights,
    tokenizer,
    imageProcessor,
    visionOnnxPath,
    get visionSha256() {
      visionSha ??= sha256FileCached(visionOnnxPath);
      return visionSha;
    },
    served: servedEncoder(dir),
    logitScale,
    weight: (name: string) => tensorToFloat32(get(name)),
    weightShape: (name: string) => get(name).shape,
  };
}
