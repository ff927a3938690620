import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { visionTowerConfig } from '../../src/train/clip/config.ts';
import { buildVisionGraph } from '../../src/train/clip/vision-graph.ts';
import { shapesByName, visionTowerWeights } from '../../src/train/clip/weight-names.ts';
import { transposeMatrix } from '../../src/train/clip/weights.ts';

const MODEL_DIR = 'artifacts/models/tiny-clip-cifar10';

let ours: ort.InferenceSession;
let reference: ort.InferenceSession;

beforeAll(async () => {
  const ckpt = loadCheckpoint(MODEL_DIR);
  const bytes = buildVisionGraph(visionTowerConfig(ckpt.config), (name) => ckpt.weight(name));
  ours = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  reference = await ort.InferenceSession.create(readFileSync(`${MODEL_DIR}/onnx/vision_model.onnx`), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await ours?.release();
  await reference?.release();
});

/** Pixels spread like normalised CLIP inputs (roughly -1.8..2.1), from a fixed LCG. */
function randomPixels(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32) * 3.9 - 1.8;
  }
  return out;
}

async function embeds(session: ort.InferenceSession, pixels: Float32Array, batch: number): Promise<Float32Array> {
  const out = await session.run({ pixel_values: new ort.Tensor('float32', pixels, [batch, 3, 32, 32]) });
  return out.image_embeds!.data as Float32Array;
}

describe('vision graph built from model.safetensors', () => {
  it('has the export interface: pixel_values [batch,3,32,32] -> image_embeds [batch,128]', () => {
    expect(ours.inputNames).toEqual(['pixel_values']);
    expect(ours.outputNames).toEqual(['image_embeds']);
  });

  for (const batch of [1, 3]) {
    it(`matches the default model's onnx/vision_model.onnx within 1e-4 (batch ${batch})`, async () => {
      const pixels = randomPixels(batch * 3 * 32 * 32, 17 + batch);
      const a = await embeds(ours, pixels, batch);
      const b = await embeds(reference, pixels, batch);
      expect(a.length).toBe(batch * 128);
      let maxDiff = 0;
      let maxRef = 0;
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        maxRef = Math.max(maxRef, Math.abs(b[i]!));
      }
      expect(maxRef).toBeGreaterThan(0.1); // the comparison is not between two near-zero outputs
      expect(maxDiff).toBeLessThan(1e-4);
    });
  }

  it('gives each image of a batch the embedding it gets alone', async () => {
    const pixels = randomPixels(2 * 3 * 32 * 32, 5);
    const both = await embeds(ours, pixels, 2);
    const second = await embeds(ours, pixels.slice(3 * 32 * 32), 1);
    for (let i = 0; i < 128; i++) expect(Math.abs(both[128 + i]! - second[i]!)).toBeLessThan(1e-5);
  });

  it('lists every vision weight of the checkpoint with its shape', () => {
    const ckpt = loadCheckpoint(MODEL_DIR);
    const shapes = shapesByName(visionTowerWeights(visionTowerConfig(ckpt.config)));
    for (const [name, shape] of shapes) expect(ckpt.weightShape(name)).toEqual(shape);
    const visionNames = [...ckpt.weights.tensors.keys()].filter((n) => n.startsWith('vision_model.') || n === 'visual_projection.weight');
    expect(new Set(visionNames)).toEqual(new Set(shapes.keys()));
  });

  it('transposes and scales matrices', () => {
    const m = Float32Array.from([1, 2, 3, 4, 5, 6]); // [2, 3]
    expect(Array.from(transposeMatrix(m, 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
    expect(Array.from(transposeMatrix(m, 2, 3, 2))).toEqual([2, 8, 4, 10, 6, 12]);
  });

  it('rejects a weight of the wrong size with its name', () => {
    const ckpt = loadCheckpoint(MODEL_DIR);
    const cfg = visionTowerConfig(ckpt.config);
    expect(() => buildVisionGraph(cfg, (name) => (name === 'vision_model.pre_layrnorm.bias' ? new Float32Array(3) : ckpt.weight(name)))).toThrow(/vision_model\.pre_layrnorm\.bias has 3 values/);
  });
});
