/**
 * Models of the edge-vit engine served from R2 (manifest `engine: "edge-vit"`), on the real local
 * R2 binding: the weight file is streamed from the R2 body into the engine's WASM memory and hashed
 * on the way; onnxruntime-web is not used for such a model; a corrupted file is refused (503) and
 * the engine instance dropped; /healthz reports the engine, its SIMD build and its WASM memory.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeLabelSet, encodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { BUNDLED_LABEL_SETS } from '../../src/worker/labelsets/catalog.ts';
import { r2Keys } from '../../src/worker/store/keys.ts';
import { ort } from '../../src/worker/vision/ort-wasm.ts';
import { PARITY_IMAGES } from './helpers/images.ts';
import { defaultEdgeVit, publishEdgeVit, sha } from './helpers/models.ts';
import { bindings, makeApi, type Api } from './helpers/storage-app.ts';
import type { ErrorJson } from './helpers/test-app.ts';

interface Scored { label: string; score: number }
interface Health { engine: string; model_loaded: boolean; model_source: string; model_sha256: string; engine_relaxed_simd?: boolean | null; wasm_memory_bytes?: number | null; image_decoder_wasm_bytes?: number; model_load_ms?: Record<string, number> }

const weights = defaultEdgeVit();

/** The bundled CIFAR-10 zero-shot label set (built with the default model's text tower), for another model sha256. */
function demoLabelSetFor(modelSha256: string): Uint8Array {
  const demo = BUNDLED_LABEL_SETS.find((s) => s.tenant === 'demo')!;
  return encodeLabelSet({ ...decodeLabelSet(new Uint8Array(demo.bytes)), modelSha256 });
}

async function classify(api: Api, key: string, labelset: string, image: Uint8Array): Promise<Scored[]> {
  const res = await api.call('POST', `/v1/classify?top_k=10&labelset=${labelset}`, { token: key, bytes: image, contentType: image[0] === 0xff ? 'image/jpeg' : 'image/png' });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return (JSON.parse(text) as { labels: Scored[] }).labels;
}

const health = async (api: Api): Promise<Health> => (await (await api.call('GET', '/healthz', { token: null })).json()) as Health;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('an edge-vit model from R2', () => {
  it('classifies like the onnxruntime path on the default model, without creating an onnxruntime session; /healthz reports the engine', async () => {
    const admin = makeApi();
    const modelSha = await publishEdgeVit(admin, weights);
    expect(modelSha).toBe(await sha(weights));
    const key = await admin.createTenant('edgevit');
    // The same class embeddings under both models' sha256s: only the image encoder differs.
    const bundledSha = (await health(admin)).model_sha256;
    await admin.publish('edgevit', 'onnx', demoLabelSetFor(bundledSha));

    const create = vi.spyOn(ort.InferenceSession, 'create');
    const api = makeApi({ VISION_MODEL_SHA256: modelSha });
    const before = await health(api);
    expect(before).toMatchObject({ model_source: 'r2', model_sha256: modelSha, engine: 'edge-vit', model_loaded: false });
    expect(before.wasm_memory_bytes).toBeUndefined();
    await api.publish('edgevit', 'engine', demoLabelSetFor(modelSha));

    const images = Object.entries(PARITY_IMAGES).map(([name, make]) => ({ name, bytes: make() }));
    const fromEngine: Scored[][] = [];
    for (const image of images) fromEngine.push(await classify(api, key, 'engine', image.bytes));
    expect(create, 'the edge-vit model needs no onnxruntime session').not.toHaveBeenCalled();
    const onnxApi = makeApi();
    for (const [i, image] of images.entries()) {
      const got = fromEngine[i]!;
      const want = await classify(onnxApi, key, 'onnx', image.bytes);
      // int8 weights and per-token int8 activations against the fp32 ONNX encoder: the embeddings
      // agree to a cosine of ~0.9998 (test/train/edge-vit.test.ts), i.e. each cosine score moves by
      // ~1e-3 at most; through softmax(logit_scale 100 x cosine) that moves a probability by at
      // most 100 x 1e-3 x p(1-p) <= 0.025. Top-1 must agree, and every label's score within 0.03.
      expect(got[0]!.label, image.name).toBe(want[0]!.label);
      const byLabel = new Map(want.map((s) => [s.label, s.score]));
      for (const s of got) expect(Math.abs(s.score - byLabel.get(s.label)!), `${image.name} ${s.label}`).toBeLessThan(0.03);
    }
    create.mockRestore();

    const after = await health(api);
    expect(after).toMatchObject({ engine: 'edge-vit', model_loaded: true, engine_relaxed_simd: true });
    // The weights (streamed in, never held in JS) plus activation scratch, measured inside the isolate.
    expect(after.wasm_memory_bytes).toBeGreaterThanOrEqual(weights.byteLength);
    expect(after.wasm_memory_bytes).toBeLessThan(weights.byteLength + 16 * 2 ** 20);
    expect(after.model_load_ms!.total).toBeGreaterThan(0);
    // The bundled JPEG decoder is build/codecs' (128 KiB initial memory), not the package's 16 MiB one.
    expect(after.image_decoder_wasm_bytes).toBeGreaterThan(0);
    expect(after.image_decoder_wasm_bytes).toBeLessThan(2 ** 20);
  });

  it('EDGE_VIT_SIMD = "plain" runs the plain-SIMD build with the same answer; another value is a clear 500', async () => {
    const admin = makeApi();
    const modelSha = await publishEdgeVit(admin, weights);
    const key = await admin.createTenant('edgevit-plain');
    const relaxed = makeApi({ VISION_MODEL_SHA256: modelSha });
    await relaxed.publish('edgevit-plain', 'engine', demoLabelSetFor(modelSha));
    const plain = makeApi({ VISION_MODEL_SHA256: modelSha, EDGE_VIT_SIMD: 'plain' });
    const image = PARITY_IMAGES['png-97x64']!();
    const a = await classify(relaxed, key, 'engine', image);
    const b = await classify(plain, key, 'engine', image);
    expect(b.map((s) => s.label)).toEqual(a.map((s) => s.label));
    // Both builds compute the same integer GEMMs (u7 x i8: no lowering-dependent rounding).
    for (const [i, s] of b.entries()) expect(s.score).toBeCloseTo(a[i]!.score, 6);
    expect(await health(plain)).toMatchObject({ engine: 'edge-vit', engine_relaxed_simd: false });
    const bad = await makeApi({ VISION_MODEL_SHA256: modelSha, EDGE_VIT_SIMD: 'fast' }).call('GET', '/healthz', { token: null });
    expect(bad.status).toBe(500);
    expect(((await bad.json()) as ErrorJson).error.message).toMatch(/EDGE_VIT_SIMD is "fast"/);
  });

  it('a corrupted or truncated weight file is 503 naming the key, never served; a file the engine cannot read is 503 too', async () => {
    const admin = makeApi();
    const modelSha = await publishEdgeVit(admin, weights);
    const key = await admin.createTenant('edgevit-bad');
    await makeApi({ VISION_MODEL_SHA256: modelSha }).publish('edgevit-bad', 'engine', demoLabelSetFor(modelSha));
    const { bucket } = bindings();
    const objectKey = r2Keys.modelFile(modelSha, 'vision_model.edge-vit');
    const expect503 = async (api: Api, pattern: RegExp, labelset = 'engine') => {
      const res = await api.call('POST', `/v1/classify?labelset=${labelset}`, { token: key, bytes: PARITY_IMAGES['png-40x30']!(), contentType: 'image/png' });
      const text = await res.text();
      expect(res.status, text).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect((JSON.parse(text) as ErrorJson).error.message).toMatch(pattern);
      expect(await health(api)).toMatchObject({ model_loaded: false, engine: 'edge-vit' });
    };
    const silence = vi.spyOn(console, 'error').mockImplementation(() => undefined);

    // One weight byte flipped (same size): only the sha256 can tell, after the whole stream.
    const flipped = weights.slice();
    flipped[flipped.byteLength - 100]! ^= 0x40;
    await bucket.put(objectKey, flipped);
    await expect503(makeApi({ VISION_MODEL_SHA256: modelSha }), new RegExp(`${objectKey} is corrupted: its sha256 is [0-9a-f]{64}, expected ${modelSha}`));
    // A flipped header byte breaks the engine's parse first; still reported as the corrupted file it is.
    const header = weights.slice();
    header[20]! ^= 0x01;
    await bucket.put(objectKey, header);
    await expect503(makeApi({ VISION_MODEL_SHA256: modelSha }), /is corrupted: its sha256 is/);
    await bucket.put(objectKey, weights.slice(0, 5000));
    await expect503(makeApi({ VISION_MODEL_SHA256: modelSha }), /is corrupted: it holds 5000 bytes, its manifest says/);

    // The right bytes again: served.
    await bucket.put(objectKey, weights);
    const api = makeApi({ VISION_MODEL_SHA256: modelSha });
    expect((await api.call('POST', '/v1/classify?labelset=engine', { token: key, bytes: PARITY_IMAGES['png-40x30']!(), contentType: 'image/png' })).status).toBe(200);

    // Published bytes that are not an edge-vit file (their sha256 is right): the engine refuses them.
    const junk = new TextEncoder().encode('not an edge-vit weight file, but published as one');
    const junkSha = await publishEdgeVit(admin, junk, 'junk-edge-vit');
    const junkApi = makeApi({ VISION_MODEL_SHA256: junkSha });
    await junkApi.publish('edgevit-bad', 'junk', demoLabelSetFor(junkSha));
    await expect503(junkApi, /edge-vit engine refused .*bad magic/, 'junk');
    expect(silence).toHaveBeenCalled();
  });
});
