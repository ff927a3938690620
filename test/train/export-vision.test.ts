import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32ToF16Bits } from '../../src/core/safetensors.ts';
import { exportVision } from '../../src/train/export/export-vision.ts';
import { encodeModelWith, externalizeInitializers, parseModel } from '../../src/train/export/onnx-model-io.ts';
import { quantizeInt8PerChannel, quantizeModel, toFloat16Bits } from '../../src/train/export/quantize.ts';

const MODEL_DIR = 'artifacts/models/tiny-clip-cifar10';
const source = new Uint8Array(readFileSync(`${MODEL_DIR}/onnx/vision_model.onnx`));
const BATCH = 4;
const pixels = new Float32Array(BATCH * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37) * 1.6);
let reference: Float32Array;
let dir: string;

async function embed(model: Uint8Array | string): Promise<Float32Array> {
  const s = typeof model === 'string' ? await ort.InferenceSession.create(model, { intraOpNumThreads: 1 }) : await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const out = await s.run({ pixel_values: new ort.Tensor('float32', pixels, [BATCH, 3, 32, 32]) });
    return out.image_embeds!.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Smallest per-image cosine between two batches of embeddings. */
function minCosine(a: Float32Array, b: Float32Array): number {
  const dim = a.length / BATCH;
  let min = 1;
  for (let i = 0; i < BATCH; i++) {
    let d = 0, na = 0, nb = 0;
    for (let j = i * dim; j < (i + 1) * dim; j++) { d += a[j]! * b[j]!; na += a[j]! ** 2; nb += b[j]! ** 2; }
    min = Math.min(min, d / Math.sqrt(na * nb));
  }
  return min;
}

beforeAll(async () => {
  reference = await embed(source);
  dir = mkdtempSync(join(tmpdir(), 'pe-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('quantised image encoders', () => {
  it('fp32 is the source model, byte for byte', () => {
    expect(Buffer.from(quantizeModel(source, { precision: 'fp32' }).bytes).equals(Buffer.from(source))).toBe(true);
  });

  it('fp16 halves the file and keeps embeddings (cosine > 0.9999)', async () => {
    const { bytes, report } = quantizeModel(source, { precision: 'fp16' });
    expect(report.rewritten.fp16).toBeGreaterThan(20);
    expect(bytes.byteLength).toBeLessThan(source.byteLength * 0.55);
    expect(minCosine(await embed(bytes), reference)).toBeGreaterThan(0.9999);
  });

  for (const scheme of ['dynamic', 'weight-only'] as const) {
    it(`int8 ${scheme} shrinks the file to under a third and keeps embeddings (cosine > 0.999)`, async () => {
      const { bytes, report } = quantizeModel(source, { precision: 'int8', int8Scheme: scheme });
      // 4 layers x (fc1, fc2, q, k, v, out) + visual projection; the patch Conv separately
      expect(report.rewritten).toEqual({ fp16: 0, int8MatMul: 25, int8Conv: 1 });
      expect(bytes.byteLength).toBeLessThan(source.byteLength / 3);
      const cos = minCosine(await embed(bytes), reference);
      expect(cos).toBeGreaterThan(0.999);
      expect(cos).toBeLessThan(1); // it did change the weights
    });
  }

  it('int8 dynamic runs in onnxruntime-web (WASM, one thread) as in onnxruntime-node', async () => {
    const { bytes } = quantizeModel(source, { precision: 'int8' });
    ortWeb.env.wasm.numThreads = 1;
    const s = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    try {
      const out = await s.run({ pixel_values: new ortWeb.Tensor('float32', pixels, [BATCH, 3, 32, 32]) });
      expect(minCosine(out.image_embeds!.data as Float32Array, reference)).toBeGreaterThan(0.999);
    } finally {
      await s.release();
    }
  });

  it('external data: same embeddings, weights in the side file', async () => {
    const { bytes } = quantizeModel(source, { precision: 'int8' });
    const { model, data } = externalizeInitializers(bytes, 'enc.onnx.data');
    expect(model.byteLength).toBeLessThan(bytes.byteLength / 4);
    expect(data.byteLength).toBeGreaterThan(bytes.byteLength * 0.8);
    writeFileSync(join(dir, 'enc.onnx'), model);
    writeFileSync(join(dir, 'enc.onnx.data'), data);
    const a = await embed(join(dir, 'enc.onnx'));
    const b = await embed(bytes);
    for (let i = 0; i < a.length; i++) expect(a[i]).toBe(b[i]);
  });

  it('exportVision rebuilds from model.safetensors with the project graph when asked', async () => {
    const r = exportVision({ modelDir: MODEL_DIR, precision: 'int8', source: 'safetensors' });
    expect(r.report.source).toBe('safetensors');
    expect(minCosine(await embed(r.model), reference)).toBeGreaterThan(0.999);
  });

  it('a parse + re-encode with no changes gives the same model', async () => {
    const m = parseModel(source);
    expect(m.opsets.get('')).toBe(17);
    const again = encodeModelWith(m, m.nodes.map((n) => ({ raw: n.raw })), m.initializers.map((t) => ({ raw: t.raw })), m.opsets);
    const e = await embed(again);
    for (let i = 0; i < e.length; i++) expect(e[i]).toBe(reference[i]);
  });
});

describe('number formats', () => {
  it('toFloat16Bits rounds like the reference scalar conversion (ties, subnormals, overflow, NaN)', () => {
    const values = [0, -0, 1, -1, 0.1, 1 / 3, 65504, 65520, 70000, -1e9, 6.1e-5, 5.96e-8, 2.98e-8, 3e-8, 1e-10, 1.00048828125, 1.0009765625 + 2 ** -11, Infinity, -Infinity, NaN];
    for (let i = 0; i < 2000; i++) values.push(Math.sin(i) * 10 ** ((i % 13) - 8));
    const bits = toFloat16Bits(Float32Array.from(values));
    values.forEach((v, i) => expect(bits[i], String(v)).toBe(f32ToF16Bits(v)));
  });

  it('quantizeInt8PerChannel scales each output column by its own max', () => {
    // [K=2, N=3]: columns (1, -2), (0.5, 0.25), (0, 0)
    const { q, scales } = quantizeInt8PerChannel(Float32Array.from([1, 0.5, 0, -2, 0.25, 0]), [2, 3], 1);
    expect(Array.from(scales)).toEqual([2 / 127, 0.5 / 127, 1].map((x) => Math.fround(x)));
    expect(Array.from(q)).toEqual([64, 127, 0, -127, 64, 0]);
    const conv = quantizeInt8PerChannel(Float32Array.from([1, -1, 0.5, 0.5]), [2, 2], 0);
    expect(Array.from(conv.q)).toEqual([127, -127, 127, 127]);
  });
});
