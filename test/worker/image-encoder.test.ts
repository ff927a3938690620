import { describe, expect, it } from 'vitest';
import visionOnnx from '../../artifacts/models/tiny-clip-cifar10/onnx/vision_model.onnx';
import { ImageEncoder } from '../../src/worker/vision/image-encoder.ts';
import { sha256Hex } from '../../src/core/contract/sha256.ts';
import parity from './fixtures/embedding-parity.json';
import { PARITY_IMAGE_SIZE, parityCases } from './fixtures/parity-pixels.ts';

const DIM = 128;
let encoderPromise: Promise<ImageEncoder> | undefined;
const encoder = (): Promise<ImageEncoder> =>
  (encoderPromise ??= ImageEncoder.create({ onnx: new Uint8Array(visionOnnx) }, { imageSize: PARITY_IMAGE_SIZE, dim: DIM }));

describe('ImageEncoder (onnxruntime-web in workerd)', () => {
  it('runs the same model file the fixture was computed from', async () => {
    expect(await sha256Hex(visionOnnx)).toBe(parity.model_sha256);
  });

  it('gives the same normalised embedding as onnxruntime-node within 1e-4', async () => {
    const enc = await encoder();
    const cases = parityCases();
    expect(cases.map((c) => c.name)).toEqual(parity.cases.map((c) => c.name));
    for (const [i, c] of cases.entries()) {
      const got = await enc.encodeNormalized(c.pixels);
      const want = parity.cases[i]!.embedding;
      expect(got.length).toBe(DIM);
      let maxDiff = 0;
      for (let j = 0; j < DIM; j++) maxDiff = Math.max(maxDiff, Math.abs(got[j]! - want[j]!));
      expect(maxDiff, `${c.name}: max |web - node|`).toBeLessThan(1e-4);
    }
  });

  it('encodes a batch like the single images, and concurrent calls do not interfere', async () => {
    const enc = await encoder();
    const [a, b] = parityCases();
    const batch = new Float32Array(a!.pixels.length * 2);
    batch.set(a!.pixels, 0);
    batch.set(b!.pixels, a!.pixels.length);
    const [both, onlyA, onlyB] = await Promise.all([enc.encode(batch, 2), enc.encode(a!.pixels), enc.encode(b!.pixels)]);
    for (let j = 0; j < DIM; j++) {
      expect(both[j]).toBeCloseTo(onlyA[j]!, 4);
      expect(both[DIM + j]).toBeCloseTo(onlyB[j]!, 4);
    }
  });

  it('rejects a pixel tensor of the wrong size', async () => {
    const enc = await encoder();
    await expect(enc.encode(new Float32Array(10))).rejects.toThrow(/expected 3072/);
  });

  it('leaves WebAssembly.instantiate as it found it', async () => {
    const before = WebAssembly.instantiate;
    await ImageEncoder.create({ onnx: new Uint8Array(visionOnnx) }, { imageSize: PARITY_IMAGE_SIZE, dim: DIM });
    expect(WebAssembly.instantiate).toBe(before);
  });
});
