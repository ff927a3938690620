/**
 * The edge-vit engine end to end: export from model.safetensors, stream the file into the loader,
 * compare image_embeds with the fp32 ONNX model in onnxruntime-node (the default model, a small
 * synthetic checkpoint with odd sizes, and its gelu variant); the file's contents; corrupt files.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEdgeVitLoader, EdgeVitWeightsError, type EdgeVitEngine } from '../../src/core/engine/index.ts';
import { edgeVitDims, linearTensorNames } from '../../src/core/engine/format.ts';
import { loadCheckpoint, type ClipCheckpoint } from '../../src/train/checkpoint.ts';
import { loadEdgeVitFile, loadEdgeVitModules } from '../../src/train/engine/edge-vit-node.ts';
import { exportEdgeVit, type EdgeVitExport } from '../../src/train/export/edge-vit.ts';
import { visionTowerConfig } from '../../src/train/clip/config.ts';
import { buildVisionGraph } from '../../src/train/clip/vision-graph.ts';
import { writeSynthModel } from '../../src/train/synth/synth-model.ts';
import { buildEngine } from '../../scripts/build-engine.mjs';

const DEFAULT_MODEL = 'artifacts/models/tiny-clip-cifar10';
let tmp: string;

beforeAll(async () => {
  await buildEngine({ quiet: true }); // a no-op under npm test, which builds first
  tmp = mkdtempSync(join(tmpdir(), 'edge-vit-'));
}, 180_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function randomPixels(count: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(count).map(() => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 3.9 - 1.8;
  });
}

function cosine(a: Float32Array, b: Float32Array): number {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { d += a[i]! * b[i]!; na += a[i]! ** 2; nb += b[i]! ** 2; }
  return d / Math.sqrt(na * nb);
}

const fileBytes = (e: EdgeVitExport) => {
  const out = new Uint8Array(e.preamble.byteLength + e.data.byteLength);
  out.set(e.preamble);
  out.set(e.data, e.preamble.byteLength);
  return out;
};

function loadBytes(bytes: Uint8Array, chunk: number, plainSimd = false): EdgeVitEngine {
  const loader = createEdgeVitLoader(loadEdgeVitModules(), { plainSimd });
  for (let i = 0; i < bytes.byteLength; i += chunk) loader.write(bytes.subarray(i, Math.min(bytes.byteLength, i + chunk)));
  return loader.finish();
}

async function parity(engine: EdgeVitEngine, onnx: Uint8Array, images: number): Promise<number[]> {
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: 1 });
  try {
    const S = engine.imageSize;
    const out: number[] = [];
    for (let i = 0; i < images; i++) {
      const px = randomPixels(3 * S * S, 100 + i);
      const ref = (await session.run({ pixel_values: new ort.Tensor('float32', px, [1, 3, S, S]) })).image_embeds!.data as Float32Array;
      const got = engine.encode(px);
      expect(got.length).toBe(ref.length);
      out.push(cosine(got, ref));
    }
    return out;
  } finally {
    await session.release();
  }
}

describe('edge-vit on the default model (tiny-clip-cifar10)', () => {
  let ckpt: ClipCheckpoint;
  let exported: EdgeVitExport;
  beforeAll(() => {
    ckpt = loadCheckpoint(DEFAULT_MODEL);
    exported = exportEdgeVit(ckpt);
  });

  it('matches the fp32 ONNX model in onnxruntime-node (cosine > 0.999 per image)', async () => {
    const path = join(tmp, 'tiny.edge-vit');
    writeFileSync(path, fileBytes(exported));
    const engine = loadEdgeVitFile(path, { chunkBytes: 65536 });
    expect(engine.relaxed).toBe(true);
    expect(engine.dim).toBe(128);
    const cos = await parity(engine, readFileSync(ckpt.visionOnnxPath), 8);
    expect(Math.min(...cos)).toBeGreaterThan(0.999);
  });

  it('gives the same embeddings whatever the chunk sizes and GEMM tiles; the plain-SIMD build agrees', () => {
    const bytes = fileBytes(exported);
    const px = randomPixels(3 * 32 * 32, 5);
    const ref = loadBytes(bytes, bytes.byteLength).encode(px);
    for (const chunk of [1 + 2, 1000, 65536 + 5]) expect(loadBytes(bytes, chunk).encode(px)).toEqual(ref);
    // the GEMMs are exact integer arithmetic in every build and tile; the plain build's f32 parts
    // round differently (no fused multiply-add), so it is close rather than equal
    expect(cosine(loadBytes(bytes, 4096, true).encode(px), ref)).toBeGreaterThan(0.99999);
    for (const tile of ['4x8', '6x8'] as const) {
      const loader = createEdgeVitLoader(loadEdgeVitModules(), { tile });
      loader.write(bytes);
      expect(loader.finish().encode(px)).toEqual(ref);
    }
  });

  it('memory is weights + scratch, grown once; encode is repeatable', () => {
    const engine = loadBytes(fileBytes(exported), 1 << 20);
    const before = engine.memoryBytes;
    expect(before).toBeGreaterThan(exported.data.byteLength);
    expect(before).toBeLessThan(exported.data.byteLength + (1 << 20));
    const px = randomPixels(3 * 32 * 32, 9);
    const a = engine.encode(px);
    expect(engine.encode(px)).toEqual(a);
    expect(engine.memoryBytes).toBe(before);
    expect(() => engine.encode(new Float32Array(10))).toThrow(/expected 3072 pixel values/);
  });

  it('stores each Linear as packed per-channel int8 with column sums: unpacked, it reproduces the weights', () => {
    const h = exported.header;
    const t = new Map(h.tensors.map((x) => [x.name, x]));
    const W = h.config.width, I = h.config.intermediateSize;
    const names = linearTensorNames('layers.1.fc1');
    const w = new Int8Array(exported.data.buffer, t.get(names.w)!.offset, t.get(names.w)!.bytes);
    const scale = new Float32Array(exported.data.buffer, t.get(names.scale)!.offset, I);
    const colsum = new Int32Array(exported.data.buffer, t.get(names.colsum)!.offset, I);
    const orig = ckpt.weight('vision_model.encoder.layers.1.mlp.fc1.weight'); // [I, W]
    for (const n of [0, 17, I - 1]) {
      let sum = 0;
      for (let k = 0; k < W; k++) {
        // block n/16, group k/4, [column n%16][k%4]
        const q = w[Math.floor(n / 16) * W * 16 + Math.floor(k / 4) * 64 + (n % 16) * 4 + (k % 4)]!;
        sum += q;
        expect(Math.abs(q)).toBeLessThanOrEqual(127);
        expect(Math.abs(q * scale[n]! - orig[n * W + k]!)).toBeLessThanOrEqual(scale[n]! * 0.5 + 1e-7);
      }
      expect(colsum[n]).toBe(sum);
    }
    // the query rows carry head_dim^-0.5 in their scale
    const q = linearTensorNames('layers.0.qkv');
    const qs = new Float32Array(exported.data.buffer, t.get(q.scale)!.offset, 3 * W);
    const wq = ckpt.weight('vision_model.encoder.layers.0.self_attn.q_proj.weight');
    let amax = 0;
    for (let k = 0; k < W; k++) amax = Math.max(amax, Math.abs(wq[k]!));
    expect(qs[0]).toBeCloseTo((amax / 127) * edgeVitDims(h.config).headDim ** -0.5, 7);
  });
});

describe('edge-vit on a synthetic checkpoint with odd sizes (tiny-test: width 48, 3 heads, 17 tokens, projection 24)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(tmp, 'synth');
    await writeSynthModel({ arch: 'tiny-test', seed: 3, out: dir, skipWholeModel: true });
  });

  it('matches onnxruntime-node with quick_gelu, and with gelu when the config says so', async () => {
    const ckpt = loadCheckpoint(dir);
    const engine = loadBytes(fileBytes(exportEdgeVit(ckpt)), 4096);
    expect(engine.dim).toBe(24);
    expect(Math.min(...(await parity(engine, readFileSync(ckpt.visionOnnxPath), 6)))).toBeGreaterThan(0.999);

    const cfgPath = join(dir, 'config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    cfg.vision_config.hidden_act = 'gelu';
    writeFileSync(cfgPath, JSON.stringify(cfg));
    const geluCkpt = loadCheckpoint(dir);
    const geluExport = exportEdgeVit(geluCkpt);
    expect(geluExport.header.config.hiddenAct).toBe('gelu');
    const geluOnnx = buildVisionGraph(visionTowerConfig(geluCkpt.config), (n) => geluCkpt.weight(n));
    const geluEngine = loadBytes(fileBytes(geluExport), 4096);
    expect(Math.min(...(await parity(geluEngine, geluOnnx, 6)))).toBeGreaterThan(0.999);
    // and the activation matters: the quick_gelu engine is further from the gelu model
    const px = randomPixels(3 * 32 * 32, 1);
    expect(geluEngine.encode(px)).not.toEqual(engine.encode(px));
  });
});

describe('corrupt edge-vit files fail with EdgeVitWeightsError and say what to do', () => {
  let bytes: Uint8Array;
  beforeAll(() => {
    bytes = fileBytes(exportEdgeVit(loadCheckpoint(DEFAULT_MODEL)));
  });
  const load = (b: Uint8Array) => () => loadBytes(b, 7919);
  const headerEdit = (edit: (h: Record<string, unknown>) => void) => {
    const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + len)));
    edit(h);
    const json = new TextEncoder().encode(JSON.stringify(h));
    const start = Math.ceil((12 + len) / 64) * 64;
    const newStart = Math.ceil((12 + json.byteLength) / 64) * 64;
    const out = new Uint8Array(newStart + bytes.byteLength - start);
    out.set(bytes.subarray(0, 8));
    new DataView(out.buffer).setUint32(8, json.byteLength, true);
    out.set(json, 12);
    out.set(bytes.subarray(start), newStart);
    return out;
  };
  const cases: Array<[string, () => Uint8Array, RegExp]> = [
    ['not an edge-vit file', () => new TextEncoder().encode('{"this is": "json, not a weight file"}'), /bad magic.*export-vision --precision int8 --engine edge-vit/],
    ['empty', () => new Uint8Array(0), /truncated: got 0 bytes/],
    ['cut inside the header', () => bytes.subarray(0, 100), /truncated: got 100 bytes, expected at least a complete header/],
    ['cut inside the weights', () => bytes.subarray(0, bytes.byteLength - 1000), /truncated: got \d+ bytes, expected \d+ bytes/],
    ['a byte too many', () => { const b = new Uint8Array(bytes.byteLength + 1); b.set(bytes); return b; }, /more bytes than its header declares/],
    ['header not JSON', () => { const b = bytes.slice(); b[12] = 0x7b; b[13] = 0x7b; return b; }, /header is not valid JSON/],
    ['header length absurd', () => { const b = bytes.slice(); new DataView(b.buffer).setUint32(8, 0xffffffff, true); return b; }, /header length \d+ is out of range/],
    ['another format version', () => headerEdit((h) => { h.format = 'prompt-edge/edge-vit-weights@2'; }), /format is "prompt-edge\/edge-vit-weights@2"/],
    ['table does not match the config', () => headerEdit((h) => { (h.config as Record<string, number>).layers = 5; }), /data bytes, its config implies/],
    ['a tensor moved', () => headerEdit((h) => { const t = (h.tensors as Array<Record<string, number>>)[3]!; t.offset = t.offset! + 64; }), /tensor 3 is .*expected/],
    ['a bad config value', () => headerEdit((h) => { (h.config as Record<string, unknown>).hiddenAct = 'relu'; }), /hiddenAct must be quick_gelu or gelu/],
  ];
  for (const [name, make, message] of cases) {
    it(name, () => {
      const b = make();
      expect(load(b)).toThrow(EdgeVitWeightsError);
      expect(load(b)).toThrow(message);
    });
  }
  it('write after finish is refused', () => {
    const loader = createEdgeVitLoader(loadEdgeVitModules());
    loader.write(bytes);
    loader.finish();
    expect(() => loader.write(new Uint8Array(1))).toThrow(/after finish/);
  });
});

describe('prompt-edge export-vision --engine edge-vit', () => {
  const cli = (...args: string[]) =>
    promisify(execFile)('node', ['bin/prompt-edge.mjs', ...args], { maxBuffer: 16 << 20 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('writes <out>/vision_model.edge-vit that loads and equals the library export; refuses other precisions', async () => {
    const out = join(tmp, 'cli-out');
    const r = await cli('export-vision', '--precision', 'int8', '--engine', 'edge-vit', '--model', DEFAULT_MODEL, '--out', out, '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.out).toBe(join(out, 'vision_model.edge-vit'));
    expect(doc.format).toBe('prompt-edge/edge-vit-weights@1');
    const written = readFileSync(doc.out);
    expect(new Uint8Array(written)).toEqual(fileBytes(exportEdgeVit(loadCheckpoint(DEFAULT_MODEL))));
    const bad = await cli('export-vision', '--precision', 'fp16', '--engine', 'edge-vit', '--model', DEFAULT_MODEL, '--out', out);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--precision int8/);
  });
});
