import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { f32ToF16Bits } from '../../src/core/safetensors.ts';
import { exportVision } from '../../src/train/export/export-vision.ts';
import { encodeModelWith, externalizeInitializers, parseModel } from '../../src/train/onnx/onnx-model-io.ts';
import { DataType } from '../../src/train/onnx/onnx-proto.ts';
import { dequantizeQ4Blockwise, quantizeInt8PerChannel, quantizeModel, quantizeQ4Blockwise, toFloat16Bits } from '../../src/train/export/quantize.ts';

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
      expect(report.rewritten).toEqual({ fp16: 0, int8MatMul: 25, int8Conv: 1, q4MatMul: 0 });
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

  for (const q4 of [{ blockSize: 32 }, { blockSize: 128 }, { blockSize: 32, zeroPoints: true }]) {
    it(`q4 ${JSON.stringify(q4)}: MatMulNBits computes with exactly the weights it encodes, in onnxruntime-node and -web`, async () => {
      const { bytes, report } = quantizeModel(source, { precision: 'q4', q4 });
      expect(report.rewritten).toEqual({ fp16: 0, int8MatMul: 0, int8Conv: 1, q4MatMul: 25 });
      expect(report.q4).toEqual({ blockSize: q4.blockSize, zeroPoints: q4.zeroPoints ?? false, accuracyLevel: 0 });
      expect(bytes.byteLength).toBeLessThan(source.byteLength / 4);
      // The float32 model with every quantised weight replaced by what it decodes to: the q4 model
      // must compute the same function, which pins MatMulNBits' packing order, scales and zero points.
      const m = parseModel(source);
      const matmulWeights = new Set(m.nodes.filter((n) => n.opType === 'MatMul').map((n) => n.inputs[1]));
      const convWeights = new Set(m.nodes.filter((n) => n.opType === 'Conv').map((n) => n.inputs[1]));
      const decoded = m.initializers.map((t) => {
        const big = t.dims.reduce((a, b) => a * b, 1) >= 4096;
        let w: Float32Array | undefined;
        if (big && t.dims.length === 2 && matmulWeights.has(t.name)) {
          const [k, n] = t.dims as [number, number];
          w = dequantizeQ4Blockwise(quantizeQ4Blockwise(t.floats(), k, n, q4.blockSize, q4.zeroPoints ?? false), k, n, q4.blockSize);
        } else if (big && convWeights.has(t.name)) {
          const { q, scales } = quantizeInt8PerChannel(t.floats(), t.dims, 0);
          const per = q.length / scales.length;
          w = Float32Array.from(q, (x, i) => x * scales[Math.floor(i / per)]!);
        }
        return w ? { tensor: { name: t.name, dims: t.dims, dataType: DataType.FLOAT, data: new Uint8Array(w.buffer) } } : { raw: t.raw };
      });
      const expected = await embed(encodeModelWith(m, m.nodes.map((n) => ({ raw: n.raw })), decoded, m.opsets));
      const got = await embed(bytes);
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(expected[i]!)));
      const cos = minCosine(got, reference);
      expect(cos).toBeGreaterThan(0.99);
      expect(cos).toBeLessThan(0.9999); // 4 bits do change the embeddings

      ortWeb.env.wasm.numThreads = 1;
      const s = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
      try {
        const out = (await s.run({ pixel_values: new ortWeb.Tensor('float32', pixels, [BATCH, 3, 32, 32]) })).image_embeds!.data as Float32Array;
        for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - expected[i]!)).toBeLessThan(1e-4 * (1 + Math.abs(expected[i]!)));
      } finally {
        await s.release();
      }
    });
  }

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

  it('quantizeQ4Blockwise: MatMulNBits layout, symmetric and with zero points', () => {
    // [K=32, N=2]: column 0 = 0..31 scaled, column 1 = alternating signs; one block of 32.
    const k = 32;
    const w = new Float32Array(k * 2);
    for (let r = 0; r < k; r++) { w[r * 2] = r / 31; w[r * 2 + 1] = r % 2 ? -0.5 : 0.25; }
    const sym = quantizeQ4Blockwise(w, k, 2, 32, false);
    expect(sym.packed.length).toBe(2 * 1 * 16);
    expect(sym.zeroPoints).toBeUndefined();
    // largest magnitude decodes exactly: column 0's max is +1 -> scale -1/8, code 0
    expect(sym.scales[0]).toBeCloseTo(-1 / 8, 7);
    expect(sym.packed[15]! >> 4).toBe(0); // element 31 (= 1.0) in the high nibble of the last byte
    expect(sym.packed[0]! & 15).toBe(8); // element 0 (= 0) decodes to code 8
    const back = dequantizeQ4Blockwise(sym, k, 2, 32);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back[i]! - w[i]!)).toBeLessThanOrEqual(1 / 16 + 1e-7);
    expect(back[31 * 2]).toBe(1);
    expect(back[1 * 2 + 1]).toBe(-0.5);

    const asym = quantizeQ4Blockwise(w, k, 2, 32, true);
    expect(asym.zeroPoints!.length).toBe(2); // N x ceil(1 / 2)
    expect(asym.zeroPoints![0]).toBe(0); // column 0 has min 0
    const back2 = dequantizeQ4Blockwise(asym, k, 2, 32);
    for (let i = 0; i < w.length; i++) expect(Math.abs(back2[i]! - w[i]!)).toBeLessThanOrEqual(1 / 30 + 1e-6);

    // K not a multiple of the block: padding decodes to nothing, the shape still has whole blocks
    const values = [-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, -8, 0, 4, -4]; // both blocks: scale 1
    const odd = quantizeQ4Blockwise(Float32Array.from(values), 20, 1, 16, false);
    expect(odd.kBlocks).toBe(2);
    expect(odd.packed.length).toBe(16);
    expect(Array.from(odd.packed.subarray(8))).toEqual([0x80, 0x4c, 0x88, 0x88, 0x88, 0x88, 0x88, 0x88]); // block 1: codes 0,8 | 12,4 | padding 8s
    expect(Array.from(dequantizeQ4Blockwise(odd, 20, 1, 16))).toEqual(values);
    expect(() => quantizeQ4Blockwise(new Float32Array(48), 48, 1, 24, false)).toThrow(/power of two/);
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
