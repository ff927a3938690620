/**
 * What the edge-vit engine costs in accuracy (issue 9, item 3), against the fp32 ONNX encoder in
 * onnxruntime-node, same preprocessed pixels:
 *
 * - `runEngineAccuracy`: the default model over cifar10-fewshot test, top-1 accuracy per label set
 *   (zero-shot and CoOp) for fp32 and the engine, top-1 agreement, embedding cosine;
 * - `runEngineSynthCosine`: a real-size synthetic checkpoint (ViT-B/32, ViT-B/16): cosine of the
 *   engine's embeddings to fp32's over n test images, beside onnxruntime's own int8 export
 *   (export-vision --precision int8, dynamic) run by onnxruntime-node.
 *
 * `serving` calls these from the bench's engine rows; `tsx bench/rows/engine-accuracy.ts` prints them.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { decodeLabelSet, type LabelSetArtifact } from '../../src/core/labelset/artifact.ts';
import { argmax, cosineScores, l2Normalize } from '../../src/core/scoring.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { loadImages, scanImageFolder } from '../../src/train/data/image-folder.ts';
import { loadEdgeVitFile } from '../../src/train/engine/edge-vit-node.ts';
import { exportEdgeVit } from '../../src/train/export/edge-vit.ts';
import { exportVision } from '../../src/train/export/export-vision.ts';
import { round } from '../lib/stats.ts';

export interface EngineAccuracyResult {
  readonly model: string;
  readonly n: number;
  readonly relaxed: boolean;
  /** Per label set: fp32 and engine accuracy, their difference in points, top-1 agreement. */
  readonly labelSets: Record<string, { file: string; fp32: number; engine: number; deltaPoints: number; agreement: number }>;
  readonly cosineToFp32: { mean: number; min: number };
}

export interface EngineCosineRow {
  readonly model: string;
  readonly n: number;
  /** cosine to fp32 (onnxruntime-node), per variant: "edge-vit int8", "onnxruntime int8 (dynamic)". */
  readonly variants: Record<string, { mean: number; min: number }>;
}

async function pixelsOf(modelDir: string, testDir: string, n: number | undefined) {
  const ckpt = loadCheckpoint(modelDir);
  const folder = scanImageFolder(testDir);
  const items = n === undefined ? folder.items : folder.items.filter((_, i) => i % Math.max(1, Math.floor(folder.items.length / n)) === 0).slice(0, n);
  const images = await loadImages(items);
  const { height, width } = ckpt.imageProcessor.cropSize;
  return { ckpt, folder, images, per: 3 * height * width, height, width, pixels: ckpt.imageProcessor.preprocessBatch(images.map((i) => i.image)) };
}

async function ortEmbeddings(model: string | Uint8Array, pixels: Float32Array, count: number, height: number, width: number): Promise<Float32Array[]> {
  const s = typeof model === 'string' ? await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1 }) : await ortNode.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const per = 3 * height * width;
    const out: Float32Array[] = [];
    for (let i = 0; i < count; i += 50) {
      const b = Math.min(50, count - i);
      const r = await s.run({ [s.inputNames[0]!]: new ortNode.Tensor('float32', pixels.slice(i * per, (i + b) * per), [b, 3, height, width]) });
      const data = r[s.outputNames[0]!]!.data as Float32Array;
      const dim = data.length / b;
      for (let j = 0; j < b; j++) out.push(l2Normalize(data.slice(j * dim, (j + 1) * dim)));
    }
    return out;
  } finally {
    await s.release();
  }
}

/** The model's edge-vit file, exported once into `cacheDir`. */
function edgeVitFile(modelDir: string, cacheDir: string): string {
  mkdirSync(cacheDir, { recursive: true });
  const path = join(cacheDir, 'vision_model.edge-vit');
  if (!existsSync(path)) {
    const e = exportEdgeVit(loadCheckpoint(modelDir));
    writeFileSync(path, Buffer.concat([e.preamble, e.data]));
  }
  return path;
}

function cosineStats(a: Float32Array[], b: Float32Array[]): { mean: number; min: number } {
  const cos = a.map((x, i) => x.reduce((s, v, k) => s + v * b[i]![k]!, 0));
  return { mean: round(cos.reduce((s, c) => s + c, 0) / cos.length, 6), min: round(Math.min(...cos), 6) };
}

export async function runEngineAccuracy(modelDir: string, testDir: string, labelSetFiles: Record<string, string>, cacheDir: string, log: (m: string) => void = () => undefined): Promise<EngineAccuracyResult> {
  const { ckpt, folder, images, per, height, width, pixels } = await pixelsOf(modelDir, testDir, undefined);
  log(`edge-vit accuracy: ${images.length} images of ${testDir}`);
  const fp32 = await ortEmbeddings(ckpt.visionOnnxPath, pixels, images.length, height, width);
  const engine = loadEdgeVitFile(edgeVitFile(modelDir, cacheDir));
  const ours = images.map((_, i) => l2Normalize(engine.encode(pixels.subarray(i * per, (i + 1) * per))));
  const labelSets: EngineAccuracyResult['labelSets'] = {};
  for (const [name, file] of Object.entries(labelSetFiles)) {
    const ls: LabelSetArtifact = decodeLabelSet(new Uint8Array(readFileSync(file)));
    const truth = folder.labels.map((l) => ls.labels.indexOf(l));
    const predict = (embs: Float32Array[]) => embs.map((e) => argmax(cosineScores(e, ls.classEmbeddings, ls.dim)));
    const pf = predict(fp32);
    const pe = predict(ours);
    const acc = (p: number[]) => p.filter((c, i) => c === truth[images[i]!.item.labelIndex]).length / p.length;
    labelSets[name] = {
      file,
      fp32: round(acc(pf), 4),
      engine: round(acc(pe), 4),
      deltaPoints: round((acc(pe) - acc(pf)) * 100, 2),
      agreement: round(pe.filter((c, i) => c === pf[i]).length / pe.length, 4),
    };
    log(`  ${name}: ${JSON.stringify(labelSets[name])}`);
  }
  return { model: ckpt.modelId, n: images.length, relaxed: engine.relaxed, labelSets, cosineToFp32: cosineStats(ours, fp32) };
}

export async function runEngineSynthCosine(modelDir: string, testDir: string, n: number, cacheDir: string, log: (m: string) => void = () => undefined): Promise<EngineCosineRow> {
  const { ckpt, images, per, height, width, pixels } = await pixelsOf(modelDir, testDir, n);
  log(`edge-vit cosine: ${ckpt.modelId}, ${images.length} images`);
  const fp32 = await ortEmbeddings(ckpt.visionOnnxPath, pixels, images.length, height, width);
  const engine = loadEdgeVitFile(edgeVitFile(modelDir, cacheDir));
  const ours = images.map((_, i) => l2Normalize(engine.encode(pixels.subarray(i * per, (i + 1) * per))));
  const ortInt8 = await ortEmbeddings(exportVision({ modelDir, precision: 'int8', int8Scheme: 'dynamic' }).model, pixels, images.length, height, width);
  const variants = { 'edge-vit int8': cosineStats(ours, fp32), 'onnxruntime int8 (dynamic)': cosineStats(ortInt8, fp32) };
  log(`  ${JSON.stringify(variants)}`);
  return { model: ckpt.modelId, n: images.length, variants };
}

// `tsx bench/rows/engine-accuracy.ts --model DIR --labelsets name=file,... [--synth DIR ...] [--n 200]`: prints JSON.
if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name: string) => process.argv.filter((_, i) => process.argv[i - 1] === name);
  const { CIFAR_TEST, BENCH_CACHE } = await import('../lib/paths.ts');
  const out: Record<string, unknown> = {};
  const log = (m: string) => process.stderr.write(`${m}\n`);
  for (const model of arg('--model')) {
    const sets = Object.fromEntries((arg('--labelsets')[0] ?? '').split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string]));
    out[model] = await runEngineAccuracy(model, CIFAR_TEST, sets, join(BENCH_CACHE, 'edge-vit', model.replace(/[^a-z0-9]+/gi, '_')), log);
  }
  for (const model of arg('--synth')) out[model] = await runEngineSynthCosine(model, CIFAR_TEST, Number(arg('--n')[0] ?? 200), join(BENCH_CACHE, 'edge-vit', model.replace(/[^a-z0-9]+/gi, '_')), log);
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}
