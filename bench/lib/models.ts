/**
 * The models and label sets the bench runs on, generated into .cache/bench and reused while valid:
 *   - the default model (artifacts/models/tiny-clip-cifar10);
 *   - a synthetic ViT-B/32 (synth-model, seed 0) and its fp16 / int8 / q4 image encoders (export-vision),
 *     each as a model folder whose onnx/vision_model.onnx is that variant (other files linked), so
 *     label sets built on it carry that encoder's sha256, as the worker requires;
 *   - zero-shot label sets with 10 labels (CIFAR-10) and 1 000 labels for each served model.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeLabelSet, encodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { CLIP_SINGLE_TEMPLATE } from '../../src/core/templates.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { OPENAI_BPE_PATH } from '../../src/train/cli/common.ts';
import { partDataName, partGraphName } from '../../src/core/model-files.ts';
import { exportVision } from '../../src/train/export/export-vision.ts';
import { splitEncoder } from '../../src/train/export/split-model.ts';
import { externalizeInitializers } from '../../src/train/onnx/onnx-model-io.ts';
import type { Int8Scheme, Precision, Q4Options } from '../../src/train/export/quantize.ts';
import { buildPromptLabelSet } from '../../src/train/labelset-builder.ts';
import { writeSynthModel } from '../../src/train/synth/synth-model.ts';
import { TextTower } from '../../src/train/text-tower.ts';
import { EDGE_VIT_FILE } from '../../src/core/engine/index.ts';
import { exportEdgeVit } from '../../src/train/export/edge-vit.ts';
import { BENCH_CACHE, CIFAR10_LABELS, REPO_ROOT } from './paths.ts';

export const SYNTH_SEED = 0;
/** Bump when the generator or the exporter changes what they write, to regenerate cached files. */
const CACHE_VERSION = '1';

export type Log = (message: string) => void;

/** A checkpoint folder at ViT-B/32 size (random weights), generated once. */
export function ensureVitB32(log: Log): Promise<string> {
  return ensureSynth('vit-b-32', log);
}

/** A synthetic checkpoint of a real architecture (random weights), generated once. */
export async function ensureSynth(arch: 'vit-b-32' | 'vit-b-16', log: Log): Promise<string> {
  const dir = join(BENCH_CACHE, 'models', `${arch}-s${SYNTH_SEED}`);
  const stamp = join(dir, '.bench-complete');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === CACHE_VERSION) return dir;
  rmSync(dir, { recursive: true, force: true });
  log(`generating the synthetic checkpoint (synth-model --arch ${arch} --seed ${SYNTH_SEED})`);
  const summary = await writeSynthModel({ arch, seed: SYNTH_SEED, out: dir, openAiBpePath: OPENAI_BPE_PATH });
  log(`  ${summary.parameters.toLocaleString('en-US')} parameters in ${summary.seconds.toFixed(1)} s (${summary.tokenizer} tokenizer)`);
  writeFileSync(stamp, CACHE_VERSION);
  return dir;
}

export interface ModelVariant {
  /** e.g. "vit-b-32-int8". */
  readonly name: string;
  /** A checkpoint folder whose onnx/vision_model.onnx is this variant. */
  readonly dir: string;
  readonly onnxPath: string;
  readonly precision: Precision;
  readonly q4?: Required<Pick<Q4Options, 'blockSize' | 'zeroPoints'>>;
  /** The same encoder with its weights as ONNX external data (model file + data file). */
  readonly external?: { readonly onnxPath: string; readonly dataPath: string; readonly dataName: string };
}

/** A folder that mirrors `baseDir` (symlinks) but carries `vision` as onnx/vision_model.onnx. */
function variantFolder(baseDir: string, name: string, vision: Uint8Array): string {
  const dir = join(BENCH_CACHE, 'models', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  for (const f of readdirSync(baseDir)) if (f !== 'onnx' && !f.startsWith('.')) symlinkSync(join(baseDir, f), join(dir, f));
  writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), vision);
  if (existsSync(join(baseDir, 'onnx', 'model.onnx'))) symlinkSync(join(baseDir, 'onnx', 'model.onnx'), join(dir, 'onnx', 'model.onnx'));
  return dir;
}

/** q4 as the bench exports it unless told otherwise (export-vision's defaults): block 32, symmetric. */
export const BENCH_Q4: Required<Pick<Q4Options, 'blockSize' | 'zeroPoints'>> = { blockSize: 32, zeroPoints: false };

export function ensureVariant(baseDir: string, baseName: string, precision: Precision, log: Log, int8Scheme: Int8Scheme = 'dynamic', q4: Required<Pick<Q4Options, 'blockSize' | 'zeroPoints'>> = BENCH_Q4): ModelVariant {
  const q4Suffix = `${q4.blockSize === BENCH_Q4.blockSize ? '' : `-b${q4.blockSize}`}${q4.zeroPoints ? '-zp' : ''}`;
  const name = `${baseName}-${precision}${precision === 'int8' && int8Scheme !== 'dynamic' ? `-${int8Scheme}` : ''}${precision === 'q4' ? q4Suffix : ''}`;
  const dir = join(BENCH_CACHE, 'models', name);
  const onnxPath = join(dir, 'onnx', 'vision_model.onnx');
  const extDir = join(BENCH_CACHE, 'models', `${name}-external`);
  const dataName = 'vision_model.onnx.data';
  const external = { onnxPath: join(extDir, 'vision_model.onnx'), dataPath: join(extDir, dataName), dataName };
  const stamp = join(dir, '.bench-complete');
  // External data only where a row uses it (the int8 and q4 memory and R2 rows).
  const withExternal = precision === 'int8' || precision === 'q4';
  const result: ModelVariant = { name, dir, onnxPath, precision, ...(withExternal ? { external } : {}), ...(precision === 'q4' ? { q4 } : {}) };
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === `${CACHE_VERSION}:${baseDir}`) return result;
  const flags = precision === 'int8' ? ` --int8-scheme ${int8Scheme}` : precision === 'q4' ? ` --q4-block-size ${q4.blockSize}${q4.zeroPoints ? ' --q4-zero-points' : ''}` : '';
  log(`exporting ${name} (export-vision --precision ${precision}${flags})`);
  const single = exportVision({ modelDir: baseDir, precision, int8Scheme, q4 });
  variantFolder(baseDir, name, single.model);
  rmSync(extDir, { recursive: true, force: true });
  if (withExternal) {
    // The same bytes with the weights moved out (what export-vision --external-data writes), without quantising twice.
    const ext = externalizeInitializers(single.model, dataName);
    mkdirSync(extDir, { recursive: true });
    writeFileSync(external.onnxPath, ext.model);
    writeFileSync(external.dataPath, ext.data);
  }
  writeFileSync(stamp, `${CACHE_VERSION}:${baseDir}`);
  return result;
}

/**
 * `variant` split into `parts` consecutive models with external data each (export-vision --parts N
 * --external-data), and a parts.json listing them in order for rows/memory-child.ts.
 */
export function ensureParts(variant: ModelVariant, parts: number, log: Log): { partsJson: string; parts: number } {
  const dir = join(BENCH_CACHE, 'models', `${variant.name}-external-${parts}parts`);
  const partsJson = join(dir, 'parts.json');
  const stamp = join(dir, '.bench-complete');
  const key = `${CACHE_VERSION}:${readFileSync(join(variant.dir, '.bench-complete'), 'utf8')}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return { partsJson, parts };
  log(`exporting ${variant.name} in ${parts} parts (export-vision --parts ${parts} --external-data)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // What exportVisionParts and `model publish --parts` do, from the variant's file instead of quantising again.
  const list = splitEncoder(new Uint8Array(readFileSync(variant.onnxPath)), undefined, parts, partDataName).map((p, k) => {
    const onnx = join(dir, partGraphName(k));
    writeFileSync(onnx, p.model);
    writeFileSync(`${onnx}.data`, p.externalData!);
    return { onnx, data: `${onnx}.data` };
  });
  writeFileSync(partsJson, JSON.stringify(list, null, 2));
  writeFileSync(stamp, key);
  return { partsJson, parts };
}

/**
 * `baseDir` with the edge-vit engine's weight file (export-vision --precision int8 --engine edge-vit)
 * as DIR/vision_model.edge-vit, other files linked: the folder `model publish` uploads as an
 * edge-vit model and whose label sets carry that file's sha256.
 */
export function ensureEdgeVit(baseDir: string, name: string, log: Log): { dir: string; path: string } {
  const dir = join(BENCH_CACHE, 'models', `${name}-edge-vit`);
  const path = join(dir, EDGE_VIT_FILE);
  const stamp = join(dir, '.bench-complete');
  // The file depends on the exporter and the format table: regenerate when either changes.
  const key = `${CACHE_VERSION}:${baseDir}:${createHash('sha256').update(readFileSync(join(REPO_ROOT, 'src/train/export/edge-vit.ts'))).update(readFileSync(join(REPO_ROOT, 'src/core/engine/format.ts'))).digest('hex')}`;
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return { dir, path };
  log(`exporting ${name} for the edge-vit engine (export-vision --precision int8 --engine edge-vit)`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(baseDir)) if (!f.startsWith('.') && f !== EDGE_VIT_FILE) symlinkSync(join(baseDir, f), join(dir, f));
  const { preamble, data } = exportEdgeVit(loadCheckpoint(baseDir));
  writeFileSync(path, preamble);
  appendFileSync(path, data);
  writeFileSync(stamp, key);
  return { dir, path };
}

/** 1 000 distinct class names ("object 0" ... "object 999"): only their token count matters here. */
export const THOUSAND_LABELS: readonly string[] = Array.from({ length: 1000 }, (_, i) => `object ${i}`);

export interface BenchLabelSets {
  /** Label-set name in the worker -> file. */
  readonly files: Readonly<Record<'cifar10' | 'l1000', string>>;
}

/**
 * Zero-shot label sets ("a photo of a {}.") with the 10 CIFAR-10 labels and with 1 000 labels, for
 * a model folder. `sameTextTower`: label sets already built for another image encoder of the same
 * checkpoint; their class embeddings are the same (they come from the text tower), so they are
 * re-addressed to this encoder's sha256 instead of being encoded again.
 */
export async function ensureLabelSets(modelDir: string, key: string, log: Log, sameTextTower?: BenchLabelSets): Promise<BenchLabelSets> {
  const dir = join(BENCH_CACHE, 'labelsets', key);
  const files = { cifar10: join(dir, 'cifar10.safetensors'), l1000: join(dir, 'l1000.safetensors') };
  const ckpt = loadCheckpoint(modelDir);
  // The sha256 of the encoder the worker serves for this folder (an edge-vit file when it has one).
  const modelSha = ckpt.served.sha256;
  const stamp = join(dir, '.bench-complete');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === modelSha) return { files };
  mkdirSync(dir, { recursive: true });
  if (sameTextTower) {
    for (const name of ['cifar10', 'l1000'] as const) {
      const artifact = decodeLabelSet(new Uint8Array(readFileSync(sameTextTower.files[name])));
      writeFileSync(files[name], encodeLabelSet({ ...artifact, modelId: ckpt.modelId, modelSha256: modelSha }));
    }
    writeFileSync(stamp, modelSha);
    return { files };
  }
  log(`building zero-shot label sets (10 and 1000 labels) for ${key}`);
  const tower = await TextTower.create(ckpt);
  try {
    for (const [name, labels] of [['cifar10', CIFAR10_LABELS], ['l1000', THOUSAND_LABELS]] as const) {
      const artifact = await buildPromptLabelSet(ckpt, tower, labels, [CLIP_SINGLE_TEMPLATE], 'zeroshot');
      writeFileSync(files[name], encodeLabelSet(artifact));
    }
  } finally {
    await tower.dispose();
  }
  writeFileSync(stamp, modelSha);
  return { files };
}
