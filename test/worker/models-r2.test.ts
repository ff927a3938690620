/**
 * Vision models in R2 (docs/storage.md, "Vision models in R2"), on the real local R2 binding:
 * upload through the admin API, serving by VISION_MODEL_SHA256, one read for concurrent first
 * requests, corrupted objects refused with 503 and recovered from, label sets of other models refused.
 * Each `createDefaultApp()` is a fresh isolate's app (its own model choice and caches).
 */
import { describe, expect, it, vi } from 'vitest';
import { createDefaultApp } from '../../src/worker/default-app.ts';
import { lazy } from '../../src/worker/runtime/lazy.ts';
import { r2Keys } from '../../src/worker/store/keys.ts';
import { DEFAULT_MODEL } from '../../src/worker/vision/default-model.ts';
import { ort } from '../../src/worker/vision/ort-wasm.ts';
import { CIFAR10, makeLabelSetBytes, type ErrorJson } from './helpers/test-app.ts';
import { bindings, makeApi, type Api, type ClassifyJson } from './helpers/storage-app.ts';
import { countingBucket, defaultOnnx, externalDataModel, manifestFor, modelParts, projectGraph, publishModel, putFile, sha, variantOnnx } from './helpers/models.ts';

interface HealthJson {
  model: string;
  model_sha256: string;
  model_source: string;
  model_loaded: boolean;
  model_load_ms?: Record<'fetch' | 'verify' | 'session' | 'total', number>;
}

async function json<T>(res: Response, status: number): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function expectError(res: Response, status: number, code: string): Promise<string> {
  const body = await json<ErrorJson>(res, status);
  expect(body.error.code).toBe(code);
  return body.error.message;
}

const classifyOk = async (api: Api, key: string, labelset?: string) => json<ClassifyJson & { model: string }>(await api.classify(key, labelset), 200);
const health = async (api: Api) => json<HealthJson>(await api.call('GET', '/healthz', { token: null }), 200);
const labelSetFor = (modelSha256: string, labels: readonly string[] = CIFAR10) => makeLabelSetBytes({ labels, modelSha256, version: `for-${modelSha256.slice(0, 8)}` });

describe('the demo seed with a model from R2', () => {
  // First in the file: the demo tenant must not exist yet.
  it('skips the demo tenant (its bundled label set is for the bundled model) without failing requests', async () => {
    // Uploaded through an app without DEMO_API_KEY, so that nothing seeds the demo tenant first.
    const other = await publishModel(makeApi({ DEMO_API_KEY: undefined }), { onnx: variantOnnx('seed') }, 'seed-variant');
    const api = makeApi({ VISION_MODEL_SHA256: other });
    const listed = await api.admin<{ tenants: { tenant: string }[] }>('GET', '/v1/admin/tenants');
    expect(listed.tenants.map((t) => t.tenant)).not.toContain('demo');
    // The bundled model's app seeds it as before.
    const bundled = makeApi();
    const again = await bundled.admin<{ tenants: { tenant: string }[] }>('GET', '/v1/admin/tenants');
    expect(again.tenants.map((t) => t.tenant)).toContain('demo');
  });
});

describe('uploading a model (admin API)', () => {
  it('streams files into R2 under the model sha256, publishes the manifest last, lists and shows it', async () => {
    const api = makeApi();
    const onnx = variantOnnx('upload');
    const modelSha = await sha(onnx);
    // Before the file is there the manifest is refused.
    const manifest = manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength } }, 'upload-variant');
    expect(await expectError(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: manifest }), 409, 'conflict')).toMatch(/not in R2 yet/);

    const put = await json<{ stored: string; bytes: number }>(await putFile(api, modelSha, 'vision_model.onnx', onnx), 201);
    expect(put).toMatchObject({ stored: 'created', bytes: onnx.byteLength });
    const obj = await bindings().bucket.get(r2Keys.modelFile(modelSha, 'vision_model.onnx'));
    expect(new Uint8Array(await obj!.arrayBuffer())).toEqual(onnx);
    // The same file again is not rewritten.
    expect((await json<{ stored: string }>(await putFile(api, modelSha, 'vision_model.onnx', onnx), 200)).stored).toBe('exists');

    const published = await json<Record<string, unknown>>(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: manifest }), 201);
    expect(published).toMatchObject({ format: 'prompt-edge/vision-model@1', sha256: modelSha, id: 'upload-variant', dim: DEFAULT_MODEL.dim, created: true });
    // Idempotent; a different manifest for a published model is a conflict.
    expect((await json<{ created: boolean }>(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: manifest }), 200)).created).toBe(false);
    await expectError(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: { ...manifest, id: 'renamed' } }), 409, 'conflict');

    const one = await api.admin<{ sha256: string; files: Record<string, { sha256: string; bytes: number }> }>('GET', `/v1/admin/models/${modelSha}`);
    expect(one.files['vision_model.onnx']).toEqual({ sha256: modelSha, bytes: onnx.byteLength });
    const list = await api.admin<{ serving: string | null; models: { sha256: string; id: string; external_data: boolean }[] }>('GET', '/v1/admin/models');
    expect(list.serving).toBeNull();
    expect(list.models).toContainEqual(expect.objectContaining({ sha256: modelSha, id: 'upload-variant', external_data: false }));
    await expectError(await api.call('GET', `/v1/admin/models/${'0'.repeat(64)}`), 404, 'model_not_found');
  });

  it('publishes files put into R2 directly (wrangler r2 object put: no verified sha256) by hashing them, and refuses a wrong one', async () => {
    const api = makeApi();
    const onnx = variantOnnx('direct');
    const modelSha = await sha(onnx);
    const manifest = manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength } }, 'direct-variant');
    const altered = onnx.slice();
    altered[7]! ^= 0x10;
    await bindings().bucket.put(r2Keys.modelFile(modelSha, 'vision_model.onnx'), altered);
    expect(await expectError(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: manifest }), 409, 'conflict')).toMatch(/has sha256 [0-9a-f]{64}, the manifest says/);
    await bindings().bucket.put(r2Keys.modelFile(modelSha, 'vision_model.onnx'), onnx);
    await json(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: manifest }), 201);
  });

  it('refuses a body whose sha256 is not the declared one (R2 checks it) and stores nothing', async () => {
    const api = makeApi();
    const onnx = variantOnnx('bad-digest');
    const modelSha = await sha(onnx);
    const altered = onnx.slice();
    altered[100]! ^= 0xff;
    expect(await expectError(await putFile(api, modelSha, 'vision_model.onnx', altered), 422, 'invalid_artifact')).toMatch(/sha256/);
    expect(await bindings().bucket.head(r2Keys.modelFile(modelSha, 'vision_model.onnx'))).toBeNull();
    // A weights file with a wrong ?sha256= likewise.
    const { data } = externalDataModel();
    await expectError(await putFile(api, modelSha, 'vision_model.onnx.data', data, `?sha256=${'a'.repeat(64)}`), 422, 'invalid_artifact');
    expect(await bindings().bucket.head(r2Keys.modelFile(modelSha, 'vision_model.onnx.data'))).toBeNull();
  });

  it('checks the request: admin token, sha256 form, file name, Content-Length, content type, manifest fields', async () => {
    const api = makeApi();
    const onnx = variantOnnx('checks');
    const modelSha = await sha(onnx);
    const noAuth = await api.app.request(`/v1/admin/models/${modelSha}/vision_model.onnx`, { method: 'PUT', body: onnx, headers: { 'content-length': String(onnx.byteLength) } }, api.env);
    await expectError(noAuth, 401, 'unauthorized');
    await expectError(await putFile(api, 'not-a-sha', 'vision_model.onnx', onnx), 400, 'invalid_argument');
    await expectError(await putFile(api, modelSha, 'weights.bin', onnx), 404, 'not_found');
    await expectError(await putFile(api, modelSha, 'vision_model.onnx', onnx, '', { 'content-type': 'image/png' }), 415, 'unsupported_media_type');
    await expectError(await putFile(api, modelSha, 'vision_model.onnx.data', onnx), 400, 'invalid_argument'); // no ?sha256=
    const noLength = await api.app.request(`/v1/admin/models/${modelSha}/vision_model.onnx`, { method: 'PUT', body: new Blob([onnx]).stream(), headers: { authorization: `Bearer ${api.env.ADMIN_TOKEN}` } }, api.env);
    expect(noLength.status).toBe(411);
    await expectError(await api.call('POST', `/v1/admin/models/${modelSha}/vision_model.onnx`), 405, 'method_not_allowed');
    // A body shorter than its Content-Length (a cut connection) fails the put: nothing is stored.
    const short = await putFile(api, modelSha, 'vision_model.onnx', onnx.slice(0, 1000), '', { 'content-length': String(onnx.byteLength) });
    await expectError(short, 400, 'invalid_argument');
    expect(await bindings().bucket.head(r2Keys.modelFile(modelSha, 'vision_model.onnx'))).toBeNull();

    await json(await putFile(api, modelSha, 'vision_model.onnx', onnx), 201);
    const good = manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength } });
    const bad = async (manifest: Record<string, unknown>, status: number, code: string, pattern: RegExp) =>
      expect(await expectError(await api.call('PUT', `/v1/admin/models/${modelSha}`, { json: manifest }), status, code)).toMatch(pattern);
    await bad({ ...good, dim: 0 }, 422, 'invalid_argument', /dim/);
    await bad({ ...good, extra: 1 }, 422, 'invalid_argument', /extra|Unrecognized/i);
    await bad({ ...good, image_size: 224 }, 422, 'invalid_argument', /crops to 32x32/);
    await bad({ ...good, preprocessor_config: { image_std: [0, 1, 1] } }, 422, 'invalid_argument', /image_std|preprocessor/);
    await bad(manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength + 1 } }), 409, 'conflict', /holds \d+ bytes/);
    await bad(manifestFor({ onnx: { sha256: 'b'.repeat(64), bytes: onnx.byteLength } }), 400, 'invalid_argument', /must be the model's sha256/);
    await bad(manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength }, data: { sha256: 'c'.repeat(64), bytes: 10 } }), 409, 'conflict', /vision_model\.onnx\.data is not in R2/);
  });
});

describe('serving a model from R2 (VISION_MODEL_SHA256)', () => {
  it('the default model file from R2 answers exactly as the bundled model; /healthz says where it came from', async () => {
    const modelSha = await publishModel(makeApi(), { onnx: defaultOnnx() });
    const bundled = makeApi();
    const key = await bundled.createTenant('r2same');
    await bundled.publish('r2same', 'default', await labelSetFor(modelSha));
    const fromBundle = await classifyOk(bundled, key);

    const api = makeApi({ VISION_MODEL_SHA256: modelSha.toUpperCase() });
    const before = await health(api);
    expect(before).toMatchObject({ model: 'tiny-from-r2', model_sha256: modelSha, model_source: 'r2', engine: 'onnxruntime', model_loaded: false });
    const fromR2 = await classifyOk(api, key);
    expect(fromR2.model).toBe('tiny-from-r2');
    expect(fromBundle.model).toBe('tiny-clip-cifar10');
    expect(fromR2.labels).toHaveLength(CIFAR10.length);
    expect(fromR2.labels).toEqual(fromBundle.labels);

    const after = await health(api);
    expect(after.model_loaded).toBe(true);
    // Reading, hashing and the session are disjoint parts of the load (each rounded to 0.01 ms).
    const load = after.model_load_ms!;
    expect(load.fetch + load.verify + load.session).toBeLessThanOrEqual(load.total + 0.05);
    expect(load.total).toBeGreaterThanOrEqual(load.session);
    expect((await health(bundled)).model_source).toBe('bundled');
  });

  it('a model exported with external data (graph + weights file) gives the same scores as the bundled one', async () => {
    const files = externalDataModel();
    const modelSha = await publishModel(makeApi(), files, 'tiny-external');
    const list = await makeApi().admin<{ models: { sha256: string; external_data: boolean; bytes: number }[] }>('GET', '/v1/admin/models');
    expect(list.models.find((m) => m.sha256 === modelSha)).toMatchObject({ external_data: true, bytes: files.onnx.byteLength + files.data.byteLength });

    const bundled = makeApi();
    const key = await bundled.createTenant('r2ext');
    await bundled.publish('r2ext', 'bundled', await labelSetFor(await sha(defaultOnnx())));
    const expected = await classifyOk(bundled, key, 'bundled');

    const api = makeApi({ VISION_MODEL_SHA256: modelSha });
    await api.publish('r2ext', 'external', await labelSetFor(modelSha));
    const got = await classifyOk(api, key, 'external');
    expect(got.model).toBe('tiny-external');
    expect(got.labels.map((l) => l.label)).toEqual(expected.labels.map((l) => l.label));
    got.labels.forEach((l, i) => expect(l.score).toBeCloseTo(expected.labels[i]!.score, 6));
  });

  it('concurrent first requests of an isolate read the model from R2 exactly once', async () => {
    const onnx = variantOnnx('concurrent');
    const modelSha = await publishModel(makeApi(), { onnx }, 'concurrent-variant');
    const counting = countingBucket(bindings().bucket);
    const api = makeApi({ VISION_MODEL_SHA256: modelSha, LABELSETS: counting.bucket });
    const key = await api.createTenant('r2conc');
    await api.publish('r2conc', 'default', await labelSetFor(modelSha));
    const modelReads = () => counting.gets.filter((k) => k.startsWith(`models/${modelSha}/`));
    expect(modelReads()).toEqual([r2Keys.modelManifest(modelSha)]); // the upload check described the model once

    const answers = await Promise.all(Array.from({ length: 8 }, () => api.classify(key)));
    for (const res of answers) expect(res.status, await res.clone().text()).toBe(200);
    expect(modelReads()).toEqual([r2Keys.modelManifest(modelSha), r2Keys.modelFile(modelSha, 'vision_model.onnx')]);

    // Kept for the isolate's life: later requests read nothing more.
    await classifyOk(api, key);
    expect(modelReads()).toHaveLength(2);
    // A fresh isolate (a new app) loads it again, once.
    const fresh = makeApi({ VISION_MODEL_SHA256: modelSha, LABELSETS: counting.bucket }, createDefaultApp());
    await Promise.all([classifyOk(fresh, key), classifyOk(fresh, key), classifyOk(fresh, key)]);
    expect(modelReads().filter((k) => k.endsWith('vision_model.onnx'))).toHaveLength(2);
  });

  it('a corrupted object is refused with 503 (never served), retried after the window, and a good object recovers', async () => {
    const onnx = variantOnnx('corrupt');
    const modelSha = await publishModel(makeApi(), { onnx }, 'corrupt-variant');
    const key = r2Keys.modelFile(modelSha, 'vision_model.onnx');
    const altered = onnx.slice();
    altered[onnx.length >> 1]! ^= 0x01;
    await bindings().bucket.put(key, altered);

    let now = 0;
    const counting = countingBucket(bindings().bucket);
    const api = makeApi({ VISION_MODEL_SHA256: modelSha, LABELSETS: counting.bucket }, createDefaultApp({ models: { retryAfterMs: 5000, now: () => now } }));
    const tenantKey = await api.createTenant('r2corrupt');
    await api.publish('r2corrupt', 'default', await labelSetFor(modelSha));
    const reads = () => counting.gets.filter((k) => k === key).length;

    const first = await api.classify(tenantKey);
    expect(first.headers.get('retry-after')).toBe('5');
    expect(await expectError(first, 503, 'unavailable')).toMatch(new RegExp(`${key} is corrupted: its sha256 is [0-9a-f]{64}, expected ${modelSha}`));
    expect(reads()).toBe(1);
    // Within the window the failure is answered from memory; /healthz still works (the manifest is fine).
    now = 4000;
    await expectError(await api.classify(tenantKey), 503, 'unavailable');
    expect(reads()).toBe(1);
    expect(await health(api)).toMatchObject({ model_source: 'r2', model_loaded: false });
    // Past the window it is read again: still corrupted.
    now = 5000;
    await expectError(await api.classify(tenantKey), 503, 'unavailable');
    expect(reads()).toBe(2);

    // The good file, uploaded again, replaces the corrupted object (which had no verified sha256).
    expect((await json<{ stored: string }>(await putFile(api, modelSha, 'vision_model.onnx', onnx), 201)).stored).toBe('created');
    now = 10_000;
    const ok = await classifyOk(api, tenantKey);
    expect(ok.model).toBe('corrupt-variant');
    expect(reads()).toBe(3);
    expect((await health(api)).model_loaded).toBe(true);
  });

  it('a truncated weights file and a missing model are 503 with what to do', async () => {
    const files = externalDataModel();
    const graph = variantOnnx('unused'); // only to get a distinct sha for the missing case
    const missing = await sha(graph);
    const api = makeApi({ VISION_MODEL_SHA256: missing });
    const key = await makeApi().createTenant('r2missing');
    expect(await expectError(await api.classify(key), 503, 'unavailable')).toMatch(/not in R2.*model publish/);
    expect(await expectError(await api.call('GET', '/healthz', { token: null }), 503, 'unavailable')).toMatch(/VISION_MODEL_SHA256/);

    // External data: the weights object cut short after publishing.
    const external = await publishModel(makeApi(), files, 'tiny-external');
    await bindings().bucket.put(r2Keys.modelFile(external, 'vision_model.onnx.data'), files.data.slice(0, 1000));
    const broken = makeApi({ VISION_MODEL_SHA256: external });
    await broken.publish('r2missing', 'default', await labelSetFor(external));
    expect(await expectError(await broken.classify(key), 503, 'unavailable')).toMatch(/vision_model\.onnx\.data is corrupted: it holds 1000 bytes/);
    // The published model's weights can only be the file its manifest names.
    await expectError(await putFile(broken, external, 'vision_model.onnx.data', variantOnnx('x'), `?sha256=${await sha(variantOnnx('x'))}`), 409, 'conflict');
    await json(await putFile(broken, external, 'vision_model.onnx.data', files.data, `?sha256=${await sha(files.data)}`), 201);
  });

  it('a malformed VISION_MODEL_SHA256 is a clear 500; an empty one means the bundled model', async () => {
    const api = makeApi({ VISION_MODEL_SHA256: 'abc123' });
    expect(await expectError(await api.call('GET', '/healthz', { token: null }), 500, 'internal')).toMatch(/VISION_MODEL_SHA256 is "abc123", not a sha256/);
    expect((await health(makeApi({ VISION_MODEL_SHA256: '  ' }))).model_source).toBe('bundled');
  });
});

describe('a model stored in parts (model publish --parts)', () => {
  it('loads the parts one session each, in order, and answers as the same model in one file', async () => {
    const whole = projectGraph();
    const parts = modelParts(whole, 3);
    // The same encoder twice: in one file (reference) and, re-addressed by a doc_string, in parts.
    const single = await publishModel(makeApi(), { onnx: whole }, 'tiny-one-file');
    const partedGraph = new Uint8Array([...whole, 0x32, 5, ...new TextEncoder().encode('parts')]);
    const parted = await publishModel(makeApi(), { onnx: partedGraph, parts }, 'tiny-in-parts');
    const listed = await makeApi().admin<{ models: { sha256: string; parts: number; bytes: number }[] }>('GET', '/v1/admin/models');
    const partBytes = parts.reduce((n, p) => n + p.onnx.byteLength + p.data.byteLength, 0);
    expect(listed.models.find((m) => m.sha256 === parted)).toMatchObject({ parts: 3, bytes: partedGraph.byteLength + partBytes });
    const shown = await makeApi().admin<{ parts: unknown[] }>('GET', `/v1/admin/models/${parted}`);
    expect(shown.parts).toHaveLength(3);

    const tenant = makeApi();
    const key = await tenant.createTenant('r2parts');
    const oneFile = makeApi({ VISION_MODEL_SHA256: single });
    await oneFile.publish('r2parts', 'one', await labelSetFor(single));
    const expected = await classifyOk(oneFile, key, 'one');

    const counting = countingBucket(bindings().bucket);
    const api = makeApi({ VISION_MODEL_SHA256: parted, LABELSETS: counting.bucket });
    await api.publish('r2parts', 'parts', await labelSetFor(parted));
    const got = await classifyOk(api, key, 'parts');
    expect(got.model).toBe('tiny-in-parts');
    expect(got.labels.map((l) => l.label)).toEqual(expected.labels.map((l) => l.label));
    got.labels.forEach((l, i) => expect(l.score).toBeCloseTo(expected.labels[i]!.score, 6));
    // The parts, each graph with its weights, part by part; the whole graph is never read.
    const reads = counting.gets.filter((k) => k.startsWith(`models/${parted}/`) && !k.endsWith('manifest.json'));
    expect(reads).toEqual([0, 1, 2].flatMap((k) => [r2Keys.modelFile(parted, `vision_model.part${k}.onnx`), r2Keys.modelFile(parted, `vision_model.part${k}.onnx.data`)]));
    const h = await health(api);
    expect(h).toMatchObject({ model_source: 'r2', model_loaded: true });
    expect(h.model_load_ms!.total).toBeGreaterThanOrEqual(h.model_load_ms!.session);

    // And the project's graph answers as the bundled checkpoint export within its parity tolerance.
    const bundled = makeApi();
    await bundled.publish('r2parts', 'bundled', await labelSetFor(await sha(defaultOnnx())));
    const fromBundle = await classifyOk(bundled, key, 'bundled');
    expect(got.labels.map((l) => l.label)).toEqual(fromBundle.labels.map((l) => l.label));
    got.labels.forEach((l, i) => expect(Math.abs(l.score - fromBundle.labels[i]!.score)).toBeLessThan(1e-3));
  });

  it('a corrupted part is 503 naming it; part files are checked like the others; a manifest needs 2+ parts', async () => {
    const whole = projectGraph();
    const parts = modelParts(whole, 2);
    const graph = new Uint8Array([...whole, 0x32, 7, ...new TextEncoder().encode('corrupt')]);
    const modelSha = await publishModel(makeApi(), { onnx: graph, parts }, 'tiny-parts-corrupt');
    const partKey = r2Keys.modelFile(modelSha, 'vision_model.part1.onnx.data');
    const altered = parts[1]!.data.slice();
    altered[10]! ^= 0x01;
    await bindings().bucket.put(partKey, altered);
    const api = makeApi({ VISION_MODEL_SHA256: modelSha });
    const key = await api.createTenant('r2partsbad');
    await api.publish('r2partsbad', 'default', await labelSetFor(modelSha));
    // ort types InferenceSession as a factory; at run time it is the session class.
    const sessionClass = ort.InferenceSession as unknown as { prototype: { release(): Promise<void> } };
    const release = vi.spyOn(sessionClass.prototype, 'release');
    try {
      expect(await expectError(await api.classify(key), 503, 'unavailable')).toMatch(new RegExp(`${partKey} is corrupted: its sha256 is [0-9a-f]{64}, expected`));
      // Part 0's session was created before part 1 was found corrupted: it is released, not leaked.
      expect(release).toHaveBeenCalledTimes(1);
    } finally {
      release.mockRestore();
    }
    // Once published, a part can only be the file its manifest names; the right one repairs it.
    await expectError(await putFile(api, modelSha, 'vision_model.part1.onnx.data', parts[0]!.data, `?sha256=${await sha(parts[0]!.data)}`), 409, 'conflict');
    await expectError(await putFile(api, modelSha, 'vision_model.part2.onnx', parts[0]!.onnx, `?sha256=${await sha(parts[0]!.onnx)}`), 409, 'conflict');
    await json(await putFile(api, modelSha, 'vision_model.part1.onnx.data', parts[1]!.data, `?sha256=${await sha(parts[1]!.data)}`), 201);
    const fresh = makeApi({ VISION_MODEL_SHA256: modelSha }, createDefaultApp());
    expect((await classifyOk(fresh, key)).model).toBe('tiny-parts-corrupt');

    // File names and manifests.
    await expectError(await putFile(api, modelSha, 'vision_model.part64.onnx', parts[0]!.onnx, `?sha256=${await sha(parts[0]!.onnx)}`), 404, 'not_found');
    await expectError(await putFile(api, modelSha, 'vision_model.part01.onnx', parts[0]!.onnx, `?sha256=${await sha(parts[0]!.onnx)}`), 404, 'not_found');
    await expectError(await putFile(api, modelSha, 'vision_model.part0.onnx', parts[0]!.onnx), 400, 'invalid_argument'); // no ?sha256=
    const other = variantOnnx('parts-manifest');
    const otherSha = await sha(other);
    await json(await putFile(api, otherSha, 'vision_model.onnx', other), 201);
    const base = { onnx: { sha256: otherSha, bytes: other.byteLength } };
    const one = { onnx: { sha256: await sha(parts[0]!.onnx), bytes: parts[0]!.onnx.byteLength } };
    expect(await expectError(await api.call('PUT', `/v1/admin/models/${otherSha}`, { json: manifestFor({ ...base, parts: [one] }) }), 422, 'invalid_argument')).toMatch(/at least 2 parts/);
    expect(await expectError(await api.call('PUT', `/v1/admin/models/${otherSha}`, { json: manifestFor({ ...base, parts: [one, one] }) }), 409, 'conflict')).toMatch(/vision_model\.part0\.onnx is not in R2 yet/);
  });
});

describe('label sets and the served model', () => {
  it('label sets of another model are refused at upload (422) and at classify (500), those of the served model work', async () => {
    const bundledSha = await sha(defaultOnnx());
    const otherSha = await publishModel(makeApi(), { onnx: variantOnnx('other') }, 'other-variant');
    const bundled = makeApi();
    const key = await bundled.createTenant('r2other');
    await bundled.publish('r2other', 'for-bundled', await labelSetFor(bundledSha));
    // The bundled model refuses a label set built for the R2 model.
    expect(await expectError(await bundled.call('PUT', '/v1/admin/tenants/r2other/labelsets/x', { bytes: await labelSetFor(otherSha) }), 422, 'model_mismatch')).toMatch(/Rebuild the label set/);

    const api = makeApi({ VISION_MODEL_SHA256: otherSha });
    expect(await expectError(await api.call('PUT', '/v1/admin/tenants/r2other/labelsets/y', { bytes: await labelSetFor(bundledSha) }), 422, 'model_mismatch')).toContain(otherSha.slice(0, 12));
    // Stored before the switch, for the bundled model: refused when classifying with the R2 model.
    await expectError(await api.classify(key, 'for-bundled'), 500, 'model_mismatch');
    await api.publish('r2other', 'for-other', await labelSetFor(otherSha));
    expect((await classifyOk(api, key, 'for-other')).model).toBe('other-variant');
  });
});

describe('lazy with a retry window', () => {
  it('shares one load, answers a failure from memory for retryAfterMs, then retries; a success is kept', async () => {
    let now = 0;
    let calls = 0;
    let fail = true;
    const value = lazy(
      async () => {
        calls++;
        await Promise.resolve();
        if (fail) throw new Error(`attempt ${calls}`);
        return calls;
      },
      { retryAfterMs: 1000, now: () => now },
    );
    const [a, b] = await Promise.allSettled([value.get(), value.get()]);
    expect([a.status, b.status, calls]).toEqual(['rejected', 'rejected', 1]);
    now = 999;
    await expect(value.get()).rejects.toThrow('attempt 1');
    fail = false;
    now = 1000;
    expect(await value.get()).toBe(2);
    expect(value.loaded).toBe(true);
    now = 1_000_000;
    expect(await value.get()).toBe(2);
    expect(calls).toBe(2);
  });
});

describe('edge-vit models (manifest engine "edge-vit")', () => {
  it('uploads vision_model.edge-vit under its own sha256 and publishes a manifest that names the engine', async () => {
    const api = makeApi();
    // Upload and publish check sizes and sha256s only; what the engine makes of the bytes is tested where it serves them.
    const weights = new TextEncoder().encode('edge-vit weights stand-in for the admin routes');
    const weightsSha = await sha(weights);
    const manifest = { engine: 'edge-vit', ...manifestFor({ onnx: { sha256: weightsSha, bytes: weights.byteLength } }, 'edge-vit-upload'), files: { 'vision_model.edge-vit': { sha256: weightsSha, bytes: weights.byteLength } } };
    expect(await expectError(await api.call('PUT', `/v1/admin/models/${weightsSha}`, { json: manifest }), 409, 'conflict')).toMatch(/vision_model\.edge-vit is not in R2 yet; upload it first: PUT \/v1\/admin\/models\/[0-9a-f]+\/vision_model\.edge-vit\./);
    // The identity file is stored under its own sha256 only.
    expect(await expectError(await putFile(api, 'a'.repeat(64), 'vision_model.edge-vit', weights), 422, 'invalid_artifact')).toMatch(/does not have the sha256/);
    expect(await expectError(await putFile(api, weightsSha, 'vision_model.edge-vit', weights, `?sha256=${'b'.repeat(64)}`), 400, 'invalid_argument')).toMatch(/stored under its own sha256/);
    expect((await json<{ stored: string }>(await putFile(api, weightsSha, 'vision_model.edge-vit', weights), 201)).stored).toBe('created');

    const bad = async (m: Record<string, unknown>, pattern: RegExp) => expect(await expectError(await api.call('PUT', `/v1/admin/models/${weightsSha}`, { json: m }), 422, 'invalid_argument')).toMatch(pattern);
    await bad({ ...manifest, engine: 'tensorflow' }, /engine/);
    await bad({ ...manifest, files: { 'vision_model.onnx': manifest.files['vision_model.edge-vit'] } }, /vision_model\.edge-vit|vision_model\.onnx/);
    await bad({ ...manifest, parts: [{ onnx: manifest.files['vision_model.edge-vit'] }, { onnx: manifest.files['vision_model.edge-vit'] }] }, /parts|Unrecognized/i);

    const published = await json<Record<string, unknown>>(await api.call('PUT', `/v1/admin/models/${weightsSha}`, { json: manifest }), 201);
    expect(published).toMatchObject({ format: 'prompt-edge/vision-model@1', engine: 'edge-vit', sha256: weightsSha, files: { 'vision_model.edge-vit': { sha256: weightsSha, bytes: weights.byteLength } } });
    expect((await json<{ created: boolean }>(await api.call('PUT', `/v1/admin/models/${weightsSha}`, { json: manifest }), 200)).created).toBe(false);
    const list = await api.admin<{ models: { sha256: string; engine: string; bytes: number; parts: number }[] }>('GET', '/v1/admin/models');
    expect(list.models.find((m) => m.sha256 === weightsSha)).toMatchObject({ engine: 'edge-vit', bytes: weights.byteLength, parts: 0 });
    // An ONNX model lists as onnxruntime, with or without the field in its manifest.
    const onnx = variantOnnx('engine-field');
    const onnxSha = await publishModel(api, { onnx }, 'engine-field');
    expect(list.models.every((m) => m.engine === 'edge-vit' || m.engine === 'onnxruntime')).toBe(true);
    const again = await api.admin<{ models: { sha256: string; engine: string }[] }>('GET', '/v1/admin/models');
    expect(again.models.find((m) => m.sha256 === onnxSha)?.engine).toBe('onnxruntime');
    // Publishing it again with "engine": "onnxruntime" spelled out is the same manifest.
    const explicit = { engine: 'onnxruntime', ...manifestFor({ onnx: { sha256: onnxSha, bytes: onnx.byteLength } }, 'engine-field') };
    expect((await json<{ created: boolean }>(await api.call('PUT', `/v1/admin/models/${onnxSha}`, { json: explicit }), 200)).created).toBe(false);
  });
});
