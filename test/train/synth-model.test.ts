import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { AutoTokenizer, env as transformersEnv, pipeline, RawImage } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors, tensorToFloat32 } from '../../src/core/safetensors.ts';
import { classifyEmbedding, l2Normalize } from '../../src/core/scoring.ts';
import { ClipTokenizer } from '../../src/core/tokenizer/clip-tokenizer.ts';
import { loadOpenAiBpe } from '../../src/core/tokenizer/vocabulary.ts';
import { loadCheckpoint } from '../../src/train/checkpoint.ts';
import { parseSynthArch, synthConfig } from '../../src/train/synth/architectures.ts';
import { clipWeightInits, fillNormal, inverseNormalCdf } from '../../src/train/synth/random-weights.ts';
import { writeSynthModel } from '../../src/train/synth/synth-model.ts';
import { syntheticVocabulary, tokenizerFiles } from '../../src/train/synth/tokenizer-files.ts';
import { TextTower } from '../../src/train/text-tower.ts';
import { SHARED, sharedPath } from '../helpers/shared.ts';

let root: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'pe-synth-'));
  for (const [name, seed] of [['a', 7], ['b', 7], ['c', 8]] as const) {
    await writeSynthModel({ arch: 'tiny-test', seed, out: join(root, name), openAiBpePath: null });
  }
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

const read = (model: string, file: string) => readFileSync(join(root, model, file));

describe('synth-model (tiny-test arch)', () => {
  it('writes a Hugging Face CLIP folder that loadCheckpoint accepts', () => {
    const ckpt = loadCheckpoint(join(root, 'a'));
    expect(ckpt.config.projection_dim).toBe(24);
    expect(ckpt.tokenizer.vocabSize).toBe(ckpt.config.text_config.vocab_size);
    expect(ckpt.imageProcessor.cropSize).toEqual({ height: 32, width: 32 });
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'onnx/model.onnx', 'README.md']) expect(existsSync(join(root, 'a', f)), f).toBe(true);
    // every tensor HF's CLIPModel has, and nothing else
    expect(new Set(ckpt.weights.tensors.keys())).toEqual(new Set(clipWeightInits(synthConfig('tiny-test')).map((t) => t.name)));
  });

  it('is deterministic per seed and differs between seeds', () => {
    for (const f of ['model.safetensors', 'onnx/vision_model.onnx', 'onnx/model.onnx', 'tokenizer.json']) {
      expect(read('a', f).equals(read('b', f)), f).toBe(true);
    }
    expect(read('a', 'model.safetensors').equals(read('c', 'model.safetensors'))).toBe(false);
  });

  it('uses Hugging Face init scales: N(0, std) matrices, zero biases, unit LayerNorm gains', () => {
    const st = parseSafetensors(new Uint8Array(read('a', 'model.safetensors')));
    const get = (n: string) => tensorToFloat32(st.tensors.get(n)!);
    const std = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(std(get('text_model.embeddings.token_embedding.weight'))).toBeCloseTo(0.02, 3);
    // fc1: (2 * width)^-0.5 with vision width 48
    expect(std(get('vision_model.encoder.layers.0.mlp.fc1.weight')) / (96 ** -0.5)).toBeGreaterThan(0.95);
    expect(std(get('vision_model.encoder.layers.0.mlp.fc1.weight')) / (96 ** -0.5)).toBeLessThan(1.05);
    expect(Array.from(get('vision_model.encoder.layers.1.self_attn.q_proj.bias')).every((x) => x === 0)).toBe(true);
    expect(Array.from(get('text_model.final_layer_norm.weight')).every((x) => x === 1)).toBe(true);
    expect(get('logit_scale')[0]).toBeCloseTo(2.6592, 4);
  });

  it('fillNormal draws N(0, std) with mean ~0 and the requested spread, odd lengths included', () => {
    const v = new Float32Array(100_001);
    fillNormal(v, 0.5, 1, 'x');
    let mean = 0;
    for (const x of v) mean += x;
    mean /= v.length;
    const sd = Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(sd).toBeCloseTo(0.5, 2);
    expect(v[100_000]).not.toBe(0);
    expect(v.every(Number.isFinite)).toBe(true);
    expect(inverseNormalCdf(0.975)).toBeCloseTo(1.959964, 5);
    expect(inverseNormalCdf(0.001)).toBeCloseTo(-3.090232, 5);
    expect(inverseNormalCdf(0.5)).toBe(0);
  });

  it('onnx/model.onnx agrees with onnx/vision_model.onnx and with the project\'s TextTower', async () => {
    const dir = join(root, 'a');
    const ckpt = loadCheckpoint(dir);
    const whole = await ort.InferenceSession.create(join(dir, 'onnx/model.onnx'), { intraOpNumThreads: 1 });
    const vision = await ort.InferenceSession.create(join(dir, 'onnx/vision_model.onnx'), { intraOpNumThreads: 1 });
    const tower = await TextTower.create(ckpt, { intraOpThreads: 1 });
    try {
      expect(whole.inputNames).toEqual(['input_ids', 'attention_mask', 'pixel_values']);
      const ids = ckpt.tokenizer.encode('a photo of a cat.');
      const pixels = new Float32Array(2 * 3 * 32 * 32).map((_, i) => Math.sin(i * 0.37));
      const out = await whole.run({
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
        pixel_values: new ort.Tensor('float32', pixels, [2, 3, 32, 32]),
      });
      const img = (await vision.run({ pixel_values: new ort.Tensor('float32', pixels, [2, 3, 32, 32]) })).image_embeds!.data as Float32Array;
      const imgWhole = out.image_embeds!.data as Float32Array;
      expect(imgWhole.length).toBe(48);
      for (let i = 0; i < img.length; i++) expect(Math.abs(img[i]! - imgWhole[i]!)).toBeLessThan(1e-5);
      const txt = await tower.encodeIds([ids]);
      const txtWhole = out.text_embeds!.data as Float32Array;
      const norm = (v: ArrayLike<number>) => Math.sqrt(Array.from(v).reduce((s, x) => s + x * x, 0));
      const n = norm(txtWhole);
      expect(n).toBeGreaterThan(0);
      // TextTower returns L2-normalised features
      const t0 = txt[0]!;
      for (let i = 0; i < 24; i++) expect(Math.abs(txtWhole[i]! / n - t0[i]!)).toBeLessThan(1e-4);
      expect(out.logits_per_image!.dims).toEqual([2, 1]);
    } finally {
      await whole.release();
      await vision.release();
      await tower.dispose();
    }
  });

  it('only advertises the real architectures', () => {
    expect(parseSynthArch('vit-b-32')).toBe('vit-b-32');
    expect(() => parseSynthArch('vit-l-14')).toThrow(/vit-b-32, vit-b-16/);
  });
});

describe('Transformers.js loads a synthetic checkpoint (as the bench runs it)', () => {
  const useLocal = () => {
    transformersEnv.allowRemoteModels = false;
    transformersEnv.allowLocalModels = true;
    transformersEnv.localModelPath = `${root}/`;
  };

  it('its tokenizer.json gives the project tokenizer\'s ids', async () => {
    useLocal();
    const tok = await AutoTokenizer.from_pretrained('a');
    const ours = loadCheckpoint(join(root, 'a')).tokenizer;
    for (const text of ['a photo of a cat.', "A  Photo of the Dog's toy!! 3D", 'naïve café über', 'object 303']) {
      const ids = Array.from((tok(text) as { input_ids: { data: BigInt64Array } }).input_ids.data, Number);
      expect(ids, text).toEqual(ours.encode(text));
    }
  });

  it('its zero-shot-image-classification pipeline gives the probabilities the project computes from the same files', async () => {
    useLocal();
    const dir = join(root, 'a');
    const ckpt = loadCheckpoint(dir);
    // 32x32 = the crop size, so neither side resizes or crops and the pixels are the same.
    const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 37 + (i >> 5) * 11) % 256);
    const labels = ['cat', 'dog', 'airplane', 'object 7'];
    const classify = await pipeline('zero-shot-image-classification', 'a', { dtype: 'fp32', device: 'cpu' });
    const theirs = (await classify(new RawImage(new Uint8ClampedArray(rgb), 32, 32, 3), labels, { hypothesis_template: 'a photo of a {}.' })) as Array<{ label: string; score: number }>;
    await classify.dispose();

    const vision = await ort.InferenceSession.create(join(dir, 'onnx/vision_model.onnx'), { intraOpNumThreads: 1 });
    const tower = await TextTower.create(ckpt, { intraOpThreads: 1 });
    try {
      const pixels = ckpt.imageProcessor.preprocess({ width: 32, height: 32, data: rgb });
      const image = (await vision.run({ pixel_values: new ort.Tensor('float32', pixels, [1, 3, 32, 32]) })).image_embeds!.data as Float32Array;
      const text = await tower.encodeIds(labels.map((l) => ckpt.tokenizer.encode(`a photo of a ${l}.`)));
      const classes = new Float32Array(labels.length * 24);
      text.forEach((t, i) => classes.set(l2Normalize(Float32Array.from(t)), i * 24));
      const ours = classifyEmbedding(image, classes, labels, ckpt.logitScale, labels.length).top;
      expect(theirs.map((r) => r.label)).toEqual(ours.map((r) => r.label));
      theirs.forEach((r, i) => expect(Math.abs(r.score - ours[i]!.score), r.label).toBeLessThan(1e-4));
      expect(ours[0]!.score - ours.at(-1)!.score).toBeGreaterThan(0.1); // the labels are told apart, so the match means something
    } finally {
      await vision.release();
      await tower.dispose();
    }
  });
});

describe('tokenizer files', () => {
  it('a synthetic vocabulary of any size loads in the project tokenizer', () => {
    const files = tokenizerFiles(syntheticVocabulary(1000));
    const tok = ClipTokenizer.fromHuggingFace(files['vocab.json']!, files['merges.txt']!);
    expect(tok.vocabSize).toBe(1000);
    expect(tok.sotId).toBe(998);
    expect(tok.eotId).toBe(999);
    const ids = tok.encode('a photo of a cat.');
    expect(ids[0]).toBe(998);
    expect(ids.at(-1)).toBe(999);
    const json = JSON.parse(files['tokenizer.json']!) as { model: { vocab: Record<string, number>; merges: string[] }; added_tokens: Array<{ id: number }>; post_processor: { cls: [string, number] } };
    expect(Object.keys(json.model.vocab)).toHaveLength(1000);
    expect(json.model.merges).toHaveLength(1000 - 514);
    expect(json.added_tokens.map((t) => t.id)).toEqual([998, 999]);
    expect(json.post_processor.cls).toEqual(['<|startoftext|>', 998]);
  });

  it('has the layout of the default model\'s tokenizer.json', () => {
    const ours = JSON.parse(tokenizerFiles(syntheticVocabulary(2014))['tokenizer.json']!) as Record<string, unknown>;
    const theirs = JSON.parse(readFileSync('artifacts/models/tiny-clip-cifar10/tokenizer.json', 'utf8')) as Record<string, unknown>;
    for (const key of ['version', 'truncation', 'padding', 'normalizer', 'pre_tokenizer', 'decoder']) expect(ours[key], key).toEqual(theirs[key]);
    const strip = (m: unknown) => ({ ...(m as object), vocab: undefined, merges: undefined });
    expect(strip(ours.model)).toEqual(strip(theirs.model));
  });

  it('written from OpenAI\'s BPE file, the HF files give CLIP\'s real ids', async () => {
    const files = tokenizerFiles(await loadOpenAiBpe(new Uint8Array(readFileSync(sharedPath(SHARED.openAiBpe)))));
    const tok = ClipTokenizer.fromHuggingFace(files['vocab.json']!, files['merges.txt']!);
    expect(tok.vocabSize).toBe(49408);
    expect(tok.encode('a photo of a cat.')).toEqual([49406, 320, 1125, 539, 320, 2368, 269, 49407]);
  });
});
