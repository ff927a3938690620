/**
 * Which encoder a model folder serves (checkpoint.ts servedEncoder) and what `model publish`
 * uploads from it: one rule for both, so a label set built against a folder carries the sha256 of
 * the model published from it, for an ONNX encoder and for an edge-vit weight file alike.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLIP_SINGLE_TEMPLATE } from '../../src/core/templates.ts';
import { loadCheckpoint, servedEncoder } from '../../src/train/checkpoint.ts';
import { readModelFolder } from '../../src/train/publish/model-folder.ts';
import { buildPromptLabelSet } from '../../src/train/labelset-builder.ts';
import { TextTower } from '../../src/train/text-tower.ts';

const MODEL_DIR = resolve('artifacts/models/tiny-clip-cifar10');
const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** The default model's folder (files linked) plus an edge-vit weight file; readModelFolder only hashes it. */
function folderWithEdgeVit(): { dir: string; weights: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'prompt-edge-edge-vit-folder-'));
  made.push(dir);
  for (const f of readdirSync(MODEL_DIR)) if (f !== 'onnx') symlinkSync(join(MODEL_DIR, f), join(dir, f));
  mkdirSync(join(dir, 'onnx'));
  symlinkSync(join(MODEL_DIR, 'onnx', 'vision_model.onnx'), join(dir, 'onnx', 'vision_model.onnx'));
  const weights = new TextEncoder().encode('EDGE-VIT stand-in: only its sha256 and size matter here');
  writeFileSync(join(dir, 'vision_model.edge-vit'), weights);
  return { dir, weights };
}

describe('a model folder\'s served encoder', () => {
  it('is onnx/vision_model.onnx without an edge-vit file: manifest without engine, label sets carry the ONNX sha256', () => {
    const onnxSha = sha(readFileSync(join(MODEL_DIR, 'onnx', 'vision_model.onnx')));
    expect(servedEncoder(MODEL_DIR)).toMatchObject({ engine: 'onnxruntime', sha256: onnxSha });
    const ckpt = loadCheckpoint(MODEL_DIR);
    expect(ckpt.served.sha256).toBe(ckpt.visionSha256);
    const folder = readModelFolder(MODEL_DIR);
    expect(folder.sha256).toBe(onnxSha);
    expect(folder.manifest.engine).toBeUndefined();
    expect(folder.uploads.map((u) => u.name)).toEqual(['vision_model.onnx']);
  });

  it('is vision_model.edge-vit when the folder has one: publish, checkpoint and a built label set agree on its sha256', async () => {
    const { dir, weights } = folderWithEdgeVit();
    const want = sha(weights);
    const folder = readModelFolder(dir);
    expect(folder.sha256).toBe(want);
    expect(folder.manifest).toMatchObject({ engine: 'edge-vit', id: dir.split('/').pop(), dim: 128, image_size: 32, files: { 'vision_model.edge-vit': { sha256: want, bytes: weights.byteLength } } });
    expect(folder.uploads.map((u) => u.name)).toEqual(['vision_model.edge-vit']);
    expect(folder.uploads[0]!.bytes()).toEqual(weights);

    const ckpt = loadCheckpoint(dir);
    expect(ckpt.served).toMatchObject({ engine: 'edge-vit', sha256: want });
    // The ONNX encoder is still what Node runs (features): its sha256 is unchanged.
    expect(ckpt.visionSha256).toBe(loadCheckpoint(MODEL_DIR).visionSha256);
    const tower = await TextTower.create(ckpt, { intraOpThreads: 1 });
    try {
      const artifact = await buildPromptLabelSet(ckpt, tower, ['cat', 'dog'], [CLIP_SINGLE_TEMPLATE], 'zeroshot');
      expect(artifact.modelSha256).toBe(want);
    } finally {
      await tower.dispose();
    }
  });

  it('--onnx publishes the ONNX encoder of such a folder, --edge-vit another weight file; --parts does not apply to edge-vit', () => {
    const { dir } = folderWithEdgeVit();
    const onnx = readModelFolder(dir, { onnx: join(dir, 'onnx', 'vision_model.onnx') });
    expect(onnx.manifest.engine).toBeUndefined();
    expect(onnx.sha256).toBe(loadCheckpoint(MODEL_DIR).visionSha256);
    const other = join(dir, 'other.edge-vit');
    writeFileSync(other, 'another weight file');
    expect(readModelFolder(MODEL_DIR, { edgeVit: other })).toMatchObject({ sha256: sha(readFileSync(other)), manifest: { engine: 'edge-vit' } });
    expect(() => readModelFolder(dir, { parts: 2 })).toThrow(/--parts cuts ONNX encoders/);
    expect(() => readModelFolder(dir, { onnx: join(dir, 'onnx', 'vision_model.onnx'), edgeVit: other })).toThrow(/two encoders/);
    expect(() => readModelFolder(MODEL_DIR, { edgeVit: join(dir, 'missing.edge-vit') })).toThrow(/not found/);
  });
});
