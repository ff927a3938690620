import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { exportVision, exportVisionParts } from '../../src/train/export/export-vision.ts';
import { partDataName } from '../../src/core/model-files.ts';
import { readModelFolder } from '../../src/train/publish/model-folder.ts';
import { externalizeInitializers, inlineExternalData, parseModel } from '../../src/train/onnx/onnx-model-io.ts';
import { readFields } from '../../src/train/onnx/protobuf.ts';
import { cutPoints, splitEncoder, splitModel } from '../../src/train/export/split-model.ts';

const MODEL_DIR = 'artifacts/models/tiny-clip-cifar10';
const BATCH = 2;
const pixels = new Float32Array(BATCH * 3 * 32 * 32).map((_, i) => Math.cos(i * 0.21) * 1.4);

/** Runs the parts one after another, each fed the previous one's output. */
async function runChain(parts: ReadonlyArray<{ model: Uint8Array; externalData?: Uint8Array; externalDataName?: string }>): Promise<Float32Array> {
  let feed: ort.Tensor = new ort.Tensor('float32', pixels, [BATCH, 3, 32, 32]);
  for (const p of parts) {
    const s = await ort.InferenceSession.create(p.model, {
      intraOpNumThreads: 1,
      ...(p.externalData ? { externalData: [{ path: p.externalDataName!, data: p.externalData }] } : {}),
    });
    try {
      expect(s.inputNames).toHaveLength(1);
      expect(s.outputNames).toHaveLength(1);
      feed = (await s.run({ [s.inputNames[0]!]: feed }))[s.outputNames[0]!]!;
    } finally {
      await s.release();
    }
  }
  return feed.data as Float32Array;
}

async function runWhole(model: Uint8Array): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    return (await s.run({ pixel_values: new ort.Tensor('float32', pixels, [BATCH, 3, 32, 32]) })).image_embeds!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('splitting an encoder into consecutive parts', () => {
  // The project's own graph (rebuilt from model.safetensors) can be cut between every layer.
  const projectGraph = exportVision({ modelDir: MODEL_DIR, precision: 'fp32', source: 'safetensors' }).model;

  it('finds a cut between every pair of transformer layers of the project graph', () => {
    const cuts = cutPoints(parseModel(projectGraph));
    const layers = (JSON.parse(readFileSync(`${MODEL_DIR}/config.json`, 'utf8')) as { vision_config: { num_hidden_layers: number } }).vision_config.num_hidden_layers;
    expect(cuts.length).toBeGreaterThanOrEqual(layers - 1);
  });

  it('the parts, run in a chain, compute exactly what the whole model does', async () => {
    const whole = await runWhole(projectGraph);
    const parts = splitModel(projectGraph, 3);
    expect(parts).toHaveLength(3);
    expect(parts[0]!.input).toBeUndefined();
    expect(parts[2]!.output).toBeUndefined();
    expect(parts[1]!.input).toBe(parts[0]!.output);
    // balanced by weight: no part holds more than half of them
    const total = parts.reduce((n, p) => n + p.weightBytes, 0);
    for (const p of parts) expect(p.weightBytes).toBeLessThan(total / 2);
    const chained = await runChain(parts.map((p) => ({ model: p.bytes })));
    expect(Array.from(chained)).toEqual(Array.from(whole));
  });

  it('q4 with external data per part: same embeddings as the unsplit q4 encoder', async () => {
    const q4 = exportVision({ modelDir: MODEL_DIR, precision: 'q4', source: 'safetensors' }).model;
    const { parts } = exportVisionParts({ modelDir: MODEL_DIR, precision: 'q4', source: 'safetensors', parts: 2, externalDataName: (k) => `enc.part${k}.onnx.data` });
    expect(parts.map((p) => p.externalDataName)).toEqual(['enc.part0.onnx.data', 'enc.part1.onnx.data']);
    for (const p of parts) expect(p.model.byteLength).toBeLessThan(p.externalData!.byteLength);
    expect(Array.from(await runChain(parts))).toEqual(Array.from(await runWhole(q4)));
  });

  it('says how many parts a model allows when asked for more', () => {
    // torch's export of the default model shares shape computations between layers: few cuts
    const exported = new Uint8Array(readFileSync(`${MODEL_DIR}/onnx/vision_model.onnx`));
    const n = cutPoints(parseModel(exported)).length;
    expect(() => splitModel(exported, n + 2)).toThrow(InvalidArgumentError);
    expect(() => splitModel(exported, n + 2)).toThrow(/--source safetensors/);
    expect(splitModel(exported, 1)[0]!.bytes).toBe(exported);
  });

  it('inlineExternalData undoes externalizeInitializers: same initializers, same outputs', async () => {
    const { model, data } = externalizeInitializers(projectGraph, 'vision_model.onnx.data');
    const inlined = inlineExternalData(model, data);
    const tensors = (b: Uint8Array) => parseModel(b).initializers.map((t) => ({ name: t.name, dims: t.dims, type: t.dataType, raw: readFields(t.raw).find((f) => f.field === 9)?.bytes }));
    expect(tensors(inlined)).toEqual(tensors(projectGraph));
    expect(Array.from(await runWhole(inlined))).toEqual(Array.from(await runWhole(projectGraph)));
    expect(() => inlineExternalData(model, data.subarray(0, 100))).toThrow(/wrong \.data file/);
  });

  it('splitEncoder cuts an encoder exported with external data as it cuts the self-contained one', async () => {
    const { model, data } = externalizeInitializers(projectGraph, 'vision_model.onnx.data');
    const parts = splitEncoder(model, data, 3, partDataName);
    expect(parts.map((p) => p.externalDataName)).toEqual(['vision_model.part0.onnx.data', 'vision_model.part1.onnx.data', 'vision_model.part2.onnx.data']);
    expect(Array.from(await runChain(parts))).toEqual(Array.from(await runWhole(projectGraph)));
  });

  it('model publish --parts: the manifest keeps the whole graph as identity and lists each part with its sha256', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prompt-edge-parts-'));
    mkdirSync(join(dir, 'onnx'));
    for (const f of ['config.json', 'preprocessor_config.json']) copyFileSync(join(MODEL_DIR, f), join(dir, f));
    const { model, data } = externalizeInitializers(projectGraph, 'vision_model.onnx.data');
    writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), model);
    writeFileSync(join(dir, 'onnx', 'vision_model.onnx.data'), data);

    const plain = readModelFolder(dir);
    expect(plain.uploads.map((u) => u.name)).toEqual(['vision_model.onnx', 'vision_model.onnx.data']);
    expect(plain.manifest.parts).toBeUndefined();

    const parted = readModelFolder(dir, { parts: 2 });
    expect(parted.sha256).toBe(plain.sha256);
    // The whole graph (identity) but not its weights: the worker reads the parts.
    expect(parted.uploads.map((u) => u.name)).toEqual(['vision_model.onnx', 'vision_model.part0.onnx', 'vision_model.part0.onnx.data', 'vision_model.part1.onnx', 'vision_model.part1.onnx.data']);
    expect(Object.keys(parted.manifest.files)).toEqual(['vision_model.onnx']);
    expect(parted.manifest.parts).toHaveLength(2);
    for (const [k, p] of parted.manifest.parts!.entries()) {
      const g = parted.uploads.find((u) => u.name === `vision_model.part${k}.onnx`)!;
      expect(p.onnx).toEqual(g.entry);
      expect(g.entry.bytes).toBe(g.bytes().byteLength);
    }
  });
});
