import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { buildClipModelGraph, clipModelGraphConfig } from '../../src/train/clip/clip-model-graph.ts';

const MODEL_DIR = 'artifacts/models/tiny-clip-cifar10';
let ours: ort.InferenceSession;
let reference: ort.InferenceSession;
let eot = 0;
let sot = 0;
let ids: number[][] = [];

beforeAll(async () => {
  const ckpt = loadCheckpoint(MODEL_DIR);
  eot = ckpt.tokenizer.eotId;
  sot = ckpt.tokenizer.sotId;
  ids = ['a photo of a cat.', 'a blurry photo of a big red truck.', 'dog'].map((t) => ckpt.tokenizer.encode(t));
  ours = await ort.InferenceSession.create(buildClipModelGraph(clipModelGraphConfig(ckpt), (n) => ckpt.weight(n)), { intraOpNumThreads: 1 });
  reference = await ort.InferenceSession.create(readFileSync(`${MODEL_DIR}/onnx/model.onnx`), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await ours?.release();
  await reference?.release();
});

function feeds(images: number): Record<string, ort.Tensor> {
  // Padded the way Transformers.js pads (pad token = <|endoftext|>, attention_mask 0 there).
  const seq = Math.max(...ids.map((r) => r.length));
  const inputIds = new BigInt64Array(ids.length * seq).fill(BigInt(eot));
  const mask = new BigInt64Array(ids.length * seq);
  ids.forEach((row, b) => row.forEach((v, t) => { inputIds[b * seq + t] = BigInt(v); mask[b * seq + t] = 1n; }));
  const pixels = new Float32Array(images * 3 * 32 * 32);
  let s = 99;
  for (let i = 0; i < pixels.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; pixels[i] = (s / 2 ** 32) * 3.9 - 1.8; }
  return {
    input_ids: new ort.Tensor('int64', inputIds, [ids.length, seq]),
    attention_mask: new ort.Tensor('int64', mask, [ids.length, seq]),
    pixel_values: new ort.Tensor('float32', pixels, [images, 3, 32, 32]),
  };
}

describe('whole-model graph (model.onnx interface) built from model.safetensors', () => {
  it('has the inputs and outputs of the Transformers.js export', () => {
    expect(ours.inputNames).toEqual(reference.inputNames);
    expect([...ours.outputNames].sort()).toEqual([...reference.outputNames].sort());
  });

  it('matches the default model\'s onnx/model.onnx on every output', async () => {
    // The prompts are real token sequences (start and end tokens), so the end-token pooling is exercised.
    for (const row of ids) expect([row[0], row.at(-1)]).toEqual([sot, eot]);
    expect(sot).not.toBe(eot);
    const f = feeds(2);
    const a = await ours.run(f);
    const b = await reference.run(f);
    for (const name of ['text_embeds', 'image_embeds', 'logits_per_text', 'logits_per_image']) {
      expect(a[name]!.dims).toEqual(b[name]!.dims);
      const x = a[name]!.data as Float32Array;
      const y = b[name]!.data as Float32Array;
      let diff = 0;
      for (let i = 0; i < x.length; i++) diff = Math.max(diff, Math.abs(x[i]! - y[i]!));
      // logits are exp(logit_scale) (~14) times the cosines
      expect(diff, name).toBeLessThan(name.startsWith('logits') ? 2e-3 : 1e-4);
    }
  });
});
