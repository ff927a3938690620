/**
 * What fp16, int8 and q4 cost in accuracy: the default model's image encoder at each precision, run by
 * onnxruntime-web (WASM, as in the worker) over the cifar10-fewshot test split, scored against a
 * zero-shot label set (`prompt-edge labelset zeroshot`, "a photo of a {}.") and a CoOp label set
 * (`prompt-edge train`, 16 shots, seed 1, paper defaults); plus the cosine between each variant's
 * image embeddings and fp32's.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ortNode from 'onnxruntime-node';
import { decodeLabelSet, type LabelSetArtifact } from '../../src/core/labelset/artifact.ts';
import { argmax, cosineScores, l2Normalize } from '../../src/core/scoring.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { loadImages, scanImageFolder } from '../../src/train/data/image-folder.ts';
import { exportVision } from '../../src/train/export/export-vision.ts';
import type { Int8Scheme, Precision, Q4Options } from '../../src/train/export/quantize.ts';
import { loadOrtWeb } from '../lib/ort-web-node.ts';
import { BENCH_CACHE, CIFAR10_LABELS, REPO_ROOT } from '../lib/paths.ts';
import { round } from '../lib/stats.ts';

export interface QuantAccuracyRow {
  readonly variant: string;
  readonly fileBytes: number;
  /** Accuracy per label set name. */
  readonly accuracy: Record<string, number>;
  /** Share of images whose top-1 label (zero-shot) matches fp32's. */
  readonly agreementWithFp32: number;
  readonly cosineToFp32: { mean: number; min: number };
}

export interface QuantAccuracyResult {
  readonly model: string;
  readonly data: string;
  readonly n: number;
  readonly labelSets: Record<string, string>;
  readonly rows: QuantAccuracyRow[];
}

function cli(args: string[]): Promise<void> {
  return new Promise((resolveDone, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'prompt-edge.mjs'), ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (code) => (code === 0 ? resolveDone() : reject(new Error(`prompt-edge ${args.join(' ')} failed: ${err.slice(-1500)}`))));
  });
}

/** The two label sets, made with the CLI as a user would (cached in .cache/bench). */
export async function ensureAccuracyLabelSets(modelDir: string, trainDir: string, log: (m: string) => void): Promise<Record<string, string>> {
  const dir = join(BENCH_CACHE, 'accuracy');
  mkdirSync(dir, { recursive: true });
  const zeroshot = join(dir, 'zeroshot.safetensors');
  const coop = join(dir, 'coop-16shot-seed1.safetensors');
  if (!existsSync(zeroshot)) {
    log('npx prompt-edge labelset zeroshot (CIFAR-10 labels)');
    await cli(['labelset', 'zeroshot', '--model', modelDir, '--labels', CIFAR10_LABELS.join(','), '--out', zeroshot]);
  }
  if (!existsSync(coop)) {
    log('npx prompt-edge train (CoOp, 16 shots, seed 1, paper defaults)');
    await cli(['train', '--model', modelDir, '--data', trainDir, '--shots', '16', '--seed', '1', '--out', coop]);
  }
  return { zeroshot, coop };
}

export async function runQuantAccuracy(modelDir: string, testDir: string, labelSetFiles: Record<string, string>, log: (m: string) => void): Promise<QuantAccuracyResult> {
  const ckpt = loadCheckpoint(modelDir);
  const folder = scanImageFolder(testDir);
  const labelSets: Record<string, LabelSetArtifact> = {};
  for (const [name, file] of Object.entries(labelSetFiles)) labelSets[name] = decodeLabelSet(new Uint8Array(readFileSync(file)));
  const truthOf = (ls: LabelSetArtifact) => folder.labels.map((l) => ls.labels.indexOf(l));

  log(`decoding and preprocessing ${folder.items.length} test images`);
  const images = await loadImages(folder.items);
  const { height, width } = ckpt.imageProcessor.cropSize;
  const pixels = ckpt.imageProcessor.preprocessBatch(images.map((i) => i.image));
  const per = 3 * height * width;

  const ort = await loadOrtWeb();
  const variants: Array<{ name: string; precision: Precision; scheme?: Int8Scheme; q4?: Q4Options }> = [
    { name: 'fp32', precision: 'fp32' },
    { name: 'fp16', precision: 'fp16' },
    { name: 'int8 dynamic', precision: 'int8', scheme: 'dynamic' },
    { name: 'int8 weight-only', precision: 'int8', scheme: 'weight-only' },
    { name: 'q4 block 32', precision: 'q4', q4: { blockSize: 32 } },
    { name: 'q4 block 32, zero points', precision: 'q4', q4: { blockSize: 32, zeroPoints: true } },
    { name: 'q4 block 128', precision: 'q4', q4: { blockSize: 128 } },
  ];
  const embeddings: Float32Array[][] = [];
  const rows: QuantAccuracyRow[] = [];
  for (const v of variants) {
    const model = exportVision({ modelDir, precision: v.precision, ...(v.scheme ? { int8Scheme: v.scheme } : {}), ...(v.q4 ? { q4: v.q4 } : {}) }).model;
    const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const embs: Float32Array[] = [];
    const B = 50;
    for (let i = 0; i < images.length; i += B) {
      const n = Math.min(B, images.length - i);
      const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', pixels.slice(i * per, (i + n) * per), [n, 3, height, width]) });
      const data = out[session.outputNames[0]!]!.data as Float32Array;
      const dim = data.length / n;
      for (let j = 0; j < n; j++) embs.push(l2Normalize(data.slice(j * dim, (j + 1) * dim)));
    }
    await session.release();
    embeddings.push(embs);

    const accuracy: Record<string, number> = {};
    const predictions: Record<string, number[]> = {};
    for (const [name, ls] of Object.entries(labelSets)) {
      const truth = truthOf(ls);
      predictions[name] = embs.map((e) => argmax(cosineScores(e, ls.classEmbeddings, ls.dim)));
      accuracy[name] = round(predictions[name]!.filter((p, i) => p === truth[images[i]!.item.labelIndex]).length / embs.length, 4);
    }
    const ref = embeddings[0]!;
    let sum = 0;
    let min = 1;
    embs.forEach((e, i) => {
      let d = 0;
      for (let k = 0; k < e.length; k++) d += e[k]! * ref[i]![k]!;
      sum += d;
      min = Math.min(min, d);
    });
    const firstName = Object.keys(labelSets)[0]!;
    const refLs = labelSets[firstName]!;
    const refPred = ref.map((e) => argmax(cosineScores(e, refLs.classEmbeddings, refLs.dim)));
    const agree = predictions[firstName]!.filter((p, i) => p === refPred[i]).length / embs.length;
    rows.push({ variant: v.name, fileBytes: model.byteLength, accuracy, agreementWithFp32: round(agree, 4), cosineToFp32: { mean: round(sum / embs.length, 6), min: round(min, 6) } });
    log(`  ${v.name}: ${JSON.stringify(accuracy)}, cosine to fp32 mean ${(sum / embs.length).toFixed(6)} min ${min.toFixed(6)}`);
  }
  return { model: ckpt.modelId, data: testDir, n: images.length, labelSets: labelSetFiles, rows };
}

export interface SynthCosineRow { readonly variant: string; readonly cosineToFp32: { mean: number; min: number } }

/**
 * The cosine between fp32 and quantised image embeddings at ViT-B/32 size (the synthetic
 * checkpoint: random weights, so no accuracy, but the error of 768- and 3072-wide blocks through 12
 * layers), on the first `n` test images, run by onnxruntime-node (the weights, not the runtime, are
 * what differ between variants).
 */
export async function runSynthCosine(modelDir: string, testDir: string, variants: ReadonlyArray<{ name: string; onnxPath: string }>, fp32Path: string, n: number): Promise<SynthCosineRow[]> {
  const ckpt = loadCheckpoint(modelDir);
  const folder = scanImageFolder(testDir);
  const step = Math.max(1, Math.floor(folder.items.length / n));
  const images = await loadImages(folder.items.filter((_, i) => i % step === 0).slice(0, n));
  const { height, width } = ckpt.imageProcessor.cropSize;
  const pixels = ckpt.imageProcessor.preprocessBatch(images.map((i) => i.image));
  const embed = async (path: string): Promise<Float32Array[]> => {
    const s = await ortNode.InferenceSession.create(path);
    try {
      const out = await s.run({ [s.inputNames[0]!]: new ortNode.Tensor('float32', pixels, [images.length, 3, height, width]) });
      const data = out['image_embeds']!.data as Float32Array;
      const dim = data.length / images.length;
      return images.map((_, j) => l2Normalize(data.slice(j * dim, (j + 1) * dim)));
    } finally {
      await s.release();
    }
  };
  const ref = await embed(fp32Path);
  const rows: SynthCosineRow[] = [];
  for (const v of variants) {
    const e = await embed(v.onnxPath);
    const cos = e.map((x, i) => x.reduce((s, a, k) => s + a * ref[i]![k]!, 0));
    rows.push({ variant: v.name, cosineToFp32: { mean: round(cos.reduce((a, b) => a + b, 0) / cos.length, 6), min: round(Math.min(...cos), 6) } });
  }
  return rows;
}
