import { beforeAll, describe, expect, it } from 'vitest';
import { decodeImage } from '../../src/core/image/decode.ts';
import { l2Normalize } from '../../src/core/scoring.ts';
import { DEFAULT_MODEL, DEFAULT_RUNTIME_OPTIONS } from '../../src/worker/vision/default-model.ts';
import { loadVisionRuntime, type VisionRuntime } from '../../src/worker/vision/runtime.ts';
import parity from './fixtures/embedding-parity.json';
import { makePng, PARITY_IMAGES } from './helpers/images.ts';
import { auth, CIFAR10, makeLabelSetBytes, makeTestApp, randomUnitRows } from './helpers/test-app.ts';
import { headLogits, softmax } from '../../src/core/scoring.ts';
import type { ClassifierHead } from '../../src/core/labelset/head.ts';

let runtime: VisionRuntime;
beforeAll(async () => {
  runtime = await loadVisionRuntime(DEFAULT_MODEL, DEFAULT_RUNTIME_OPTIONS);
});

async function embed(bytes: Uint8Array): Promise<Float32Array> {
  return l2Normalize(await runtime.encoder.encode(runtime.preprocessor.preprocess(await decodeImage(bytes))), runtime.encoder.dim);
}

describe('worker image pipeline (decode + preprocess + onnxruntime-web)', () => {
  it('gives the same normalised embedding as the Node side (onnxruntime-node) within 1e-4, image by image', async () => {
    expect(Object.keys(PARITY_IMAGES)).toEqual(parity.images.map((c) => c.name));
    for (const c of parity.images) {
      const got = await embed(PARITY_IMAGES[c.name]!());
      let maxDiff = 0;
      for (let j = 0; j < c.embedding.length; j++) maxDiff = Math.max(maxDiff, Math.abs(got[j]! - c.embedding[j]!));
      expect(got.length).toBe(c.embedding.length);
      expect(maxDiff, `${c.name}: max |worker - node|`).toBeLessThan(1e-4);
    }
  });

  it('scores = softmax(logit_scale * cosine) over all labels: a class embedded as the image itself wins', async () => {
    const png = makePng(64, 48);
    const image = await embed(png);
    const rows = randomUnitRows(CIFAR10.length, DEFAULT_MODEL.dim, 7);
    const cat = CIFAR10.indexOf('cat');
    rows.set(image, cat * DEFAULT_MODEL.dim);
    const app = await makeTestApp([{ tenant: 'demo', name: 'cat-is-this', bytes: await makeLabelSetBytes({ classEmbeddings: rows, version: 'v-cat' }), version: 'v-cat' }]);
    const res = await app.request('/v1/classify?labelset=cat-is-this&top_k=10', { method: 'POST', body: png, headers: { ...auth(), 'content-type': 'image/png' } }, {});
    expect(res.status).toBe(200);
    const json = (await res.json()) as { labels: { label: string; score: number }[]; labelset: { version: string } };
    expect(json.labelset.version).toBe('v-cat');
    expect(json.labels[0]!.label).toBe('cat');

    // Expected probabilities computed independently from the embeddings.
    const cos = CIFAR10.map((_, r) => {
      let s = 0;
      for (let i = 0; i < DEFAULT_MODEL.dim; i++) s += image[i]! * rows[r * DEFAULT_MODEL.dim + i]!;
      return s;
    });
    const exps = cos.map((c) => Math.exp(14.33 * c));
    const sum = exps.reduce((a, b) => a + b, 0);
    for (const { label, score } of json.labels) expect(score).toBeCloseTo(exps[CIFAR10.indexOf(label)]! / sum, 5);
  });

  it('linear and Tip-Adapter heads: the worker\'s scores match the Node evaluation (onnxruntime-node embeddings + headLogits), image by image', async () => {
    const D = DEFAULT_MODEL.dim;
    const nodeEmbeddings = parity.images.map((c) => Float32Array.from(c.embedding));
    const rows = randomUnitRows(CIFAR10.length, D, 11);
    const weight = rows.map((v, i) => v * (1 + (i % 7) / 10)); // not unit length
    // Cache: the three parity images plus random keys, one class each; and soft values for a second cache.
    const keys = new Float32Array(6 * D);
    nodeEmbeddings.forEach((e, i) => keys.set(e, i * D));
    keys.set(randomUnitRows(3, D, 12), 3 * D);
    const heads: { method: 'linear-zs' | 'tip-adapter' | 'tip-adapter-f'; rows: Float32Array; head: ClassifierHead }[] = [
      { method: 'linear-zs', rows: weight, head: { kind: 'linear', bias: Float32Array.from(CIFAR10, (_, c) => (c - 5) / 20) } },
      { method: 'tip-adapter', rows, head: { kind: 'tip-adapter', keys, values: { kind: 'one-hot', classOf: Int32Array.from([3, 5, 1, 0, 2, 9]) }, size: 6, alpha: 4, beta: 5.5 } },
      { method: 'tip-adapter-f', rows, head: { kind: 'tip-adapter', keys, values: { kind: 'dense', data: randomUnitRows(6, CIFAR10.length, 13).map(Math.abs) }, size: 6, alpha: 2, beta: 3 } },
    ];
    const app = await makeTestApp(await Promise.all(heads.map(async (h) => ({ tenant: 'demo', name: h.method, bytes: await makeLabelSetBytes({ classEmbeddings: h.rows, method: h.method, head: h.head, version: h.method }), version: h.method }))));
    for (const h of heads) {
      for (const [i, c] of parity.images.entries()) {
        const res = await app.request(`/v1/classify?labelset=${h.method}&top_k=10`, { method: 'POST', body: PARITY_IMAGES[c.name]!(), headers: { ...auth(), 'content-type': c.name.startsWith('png') ? 'image/png' : 'image/jpeg' } }, {});
        expect(res.status, `${h.method} ${c.name}`).toBe(200);
        const json = (await res.json()) as { labels: { label: string; score: number }[] };
        const expected = softmax(headLogits(nodeEmbeddings[i]!, { classEmbeddings: h.rows, dim: D, logitScale: 14.33, head: h.head }), 1);
        expect(json.labels).toHaveLength(10);
        for (const { label, score } of json.labels) expect(Math.abs(score - expected[CIFAR10.indexOf(label)]!), `${h.method} ${c.name} ${label}`).toBeLessThan(1e-4);
      }
    }
  });
});
