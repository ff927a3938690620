import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { loadCheckpoint, type ClipCheckpoint } from '../../src/train/checkpoint.ts';
import { TextTower } from '../../src/train/text-tower.ts';

const MODEL_DIR = 'artifacts/models/tiny-clip-cifar10';
const P = 128;

let ckpt: ClipCheckpoint;
let tower: TextTower;
let reference: ort.InferenceSession;

beforeAll(async () => {
  ckpt = loadCheckpoint(MODEL_DIR);
  tower = await TextTower.create(ckpt, { intraOpThreads: 1 });
  reference = await ort.InferenceSession.create(readFileSync(`${MODEL_DIR}/onnx/text_model.onnx`), { intraOpNumThreads: 1 });
});

afterAll(async () => {
  await tower?.dispose();
  await reference?.release();
});

/** The exported model's text_embeds for ids padded with <|endoftext|> to `seq`, L2-normalised per row. */
async function referenceFeatures(ids: readonly (readonly number[])[], seq: number): Promise<Float32Array[]> {
  const eot = ckpt.tokenizer.eotId;
  const flat = new BigInt64Array(ids.length * seq).fill(BigInt(eot));
  ids.forEach((row, b) => row.forEach((v, t) => { flat[b * seq + t] = BigInt(v); }));
  const out = await reference.run({ input_ids: new ort.Tensor('int64', flat, [ids.length, seq]) });
  const data = out.text_embeds!.data as Float32Array;
  return ids.map((_, b) => normalize(data.slice(b * P, (b + 1) * P)));
}

function normalize(v: Float32Array): Float32Array {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** `n` BPE ids between sot and eot, deterministic, from the ordinary vocabulary. */
function syntheticPrompt(n: number, seed: number): number[] {
  const ids = [ckpt.tokenizer.sotId];
  for (let i = 0; i < n; i++) ids.push((seed * 7919 + i * 104729) % 2000);
  ids.push(ckpt.tokenizer.eotId);
  return ids;
}

describe('TextTower (tiny-clip-cifar10)', () => {
  it('exposes the checkpoint dimensions', () => {
    expect(tower.width).toBe(128);
    expect(tower.projectionDim).toBe(P);
    expect(tower.contextLength).toBe(77);
  });

  it('matches the exported text_model.onnx for [1,8], [5,15] (mixed lengths) and [3,77]', async () => {
    const tok = ckpt.tokenizer;
    const mixed = ['a blurry photo of the airplane.', 'dog', 'an image of a red truck, a kind of vehicle.', 'itap of a frog.', 'a close-up photo of a ship'].map((t) => tok.encode(t));
    const cases: { ids: number[][]; seq: number }[] = [
      { ids: [tok.encode('a photo of a cat.')], seq: 8 },
      { ids: mixed, seq: Math.max(...mixed.map((r) => r.length)) },
      { ids: [syntheticPrompt(75, 1), tok.encode('a low resolution photo of a deer.'), syntheticPrompt(40, 2)], seq: 77 },
    ];
    expect(cases[0]!.ids[0]!.length).toBe(8);
    expect(cases[1]!.seq).toBeGreaterThanOrEqual(13);
    expect(Math.min(...mixed.map((r) => r.length))).toBeLessThan(5);
    expect(cases[2]!.ids[0]!.length).toBe(77);
    for (const { ids, seq } of cases) {
      const want = await referenceFeatures(ids, seq);
      const got = await tower.encodeIds(ids);
      expect(got).toHaveLength(ids.length);
      got.forEach((g, b) => {
        expect(g).toBeInstanceOf(Float32Array);
        expect(maxAbsDiff(g, want[b]!)).toBeLessThan(1e-4);
      });
    }
  });

  it('gives the same features whether a prompt runs truncated after its end token or at the full 77 positions', async () => {
    const prompt = ckpt.tokenizer.encode('a photo of a horse.');
    const eot = prompt.length - 1;
    const W = tower.width;
    // Alone: the tower runs eot+1 positions.
    const alone = await tower.encodeEmbeddings(tower.tokenEmbeddings(prompt), 1, prompt.length, [eot]);
    // Next to a 77-token prompt the batch runs all 77 positions; fill the tail with unrelated tokens.
    const tail = Array.from({ length: 77 - prompt.length }, (_, i) => (i * 37) % 2000);
    const long = syntheticPrompt(75, 3);
    const embeds = new Float32Array(2 * 77 * W);
    embeds.set(tower.tokenEmbeddings([...prompt, ...tail]), 0);
    embeds.set(tower.tokenEmbeddings(long), 77 * W);
    const full = await tower.encodeEmbeddings(embeds, 2, 77, [eot, 76]);
    expect(maxAbsDiff(full.subarray(0, P), alone)).toBeLessThan(1e-5);
    // And padding a short batch to 77 changes nothing: encodeEmbeddings truncates it itself.
    const padded = new Float32Array(77 * W);
    padded.set(tower.tokenEmbeddings([...prompt, ...tail]));
    expect(Array.from(await tower.encodeEmbeddings(padded, 1, 77, [eot]))).toEqual(Array.from(alone));
  });

  it('encodeIds keeps the input order, batches mixed lengths, and returns unit vectors', async () => {
    const texts = ['ship', 'a photo of a small dog.', 'truck', 'a very blurry photo of the big green frog, a type of animal.'];
    const ids = texts.map((t) => ckpt.tokenizer.encode(t));
    const together = await tower.encodeIds(ids);
    for (let i = 0; i < ids.length; i++) {
      const [alone] = await tower.encodeIds([ids[i]!]);
      expect(maxAbsDiff(together[i]!, alone!)).toBeLessThan(1e-5);
      expect(Math.hypot(...together[i]!)).toBeCloseTo(1, 5);
    }
    // Padding after the end token (as a fixed 77-token context would have) is ignored.
    const padded = ids.map((r) => [...r, ...new Array<number>(77 - r.length).fill(0)]);
    const fromPadded = await tower.encodeIds(padded);
    fromPadded.forEach((f, i) => expect(maxAbsDiff(f, together[i]!)).toBeLessThan(1e-5));
  });

  it('tokenEmbeddings returns rows of token_embedding', () => {
    const table = ckpt.weight('text_model.embeddings.token_embedding.weight');
    const W = tower.width;
    const rows = tower.tokenEmbeddings([5, 2013, 5]);
    expect(rows).toHaveLength(3 * W);
    expect(Array.from(rows.subarray(0, W))).toEqual(Array.from(table.subarray(5 * W, 6 * W)));
    expect(Array.from(rows.subarray(W, 2 * W))).toEqual(Array.from(table.subarray(2013 * W, 2014 * W)));
    expect(() => tower.tokenEmbeddings([2014])).toThrow(InvalidArgumentError);
  });

  it('rejects malformed requests with InvalidArgumentError', async () => {
    const W = tower.width;
    await expect(tower.encodeIds([[2012, 5, 6]])).rejects.toThrow(/no end-of-text token/);
    await expect(tower.encodeEmbeddings(new Float32Array(2 * 4 * W - 1), 2, 4, [3, 3])).rejects.toThrow(InvalidArgumentError);
    await expect(tower.encodeEmbeddings(new Float32Array(2 * 4 * W), 2, 4, [3, 4])).rejects.toThrow(/outside 0..3/);
    await expect(tower.encodeEmbeddings(new Float32Array(2 * 4 * W), 2, 4, [3])).rejects.toThrow(/2/);
    await expect(tower.encodeEmbeddings(new Float32Array(78 * W), 1, 78, [77])).rejects.toThrow(/77-token context/);
  });
});

describe('TextTower device selection', () => {
  it('explains how to install the CUDA execution provider when --device cuda cannot load it', async () => {
    // onnxruntime-node's install script run with ONNXRUNTIME_NODE_INSTALL=cuda12 puts the provider library next to the binding.
    const bindingDir = join(dirname(createRequire(import.meta.url).resolve('onnxruntime-node')), '..', 'bin', 'napi-v6', process.platform, process.arch);
    const cudaInstalled = existsSync(join(bindingDir, 'libonnxruntime_providers_cuda.so')) || existsSync(join(bindingDir, 'onnxruntime_providers_cuda.dll'));
    const attempt = TextTower.create(ckpt, { device: 'cuda' });
    if (cudaInstalled) {
      const cudaTower = await attempt;
      expect(cudaTower.projectionDim).toBe(P);
      await cudaTower.dispose();
    } else {
      const err = await attempt.then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as Error).message).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install');
    }
  });
});
