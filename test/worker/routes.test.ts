import { describe, expect, it } from 'vitest';
import { DEFAULT_MODEL } from '../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../src/core/contract/sha256.ts';
import { makePng, pngHeaderOnly } from './helpers/images.ts';
import { auth, makeTestApp, type ErrorJson } from './helpers/test-app.ts';

describe('routes', () => {
  it('GET /healthz answers without loading the model; a header-only rejection does not load it either', async () => {
    const app = await makeTestApp();
    const health = async () => (await (await app.request('/healthz', {}, {})).json()) as { ok: boolean; model: string; model_sha256: string; model_loaded: boolean };
    expect(await health()).toEqual({ ok: true, status: 'ok', model: 'tiny-clip-cifar10', model_sha256: await sha256Hex(DEFAULT_MODEL.onnx), model_source: 'bundled', engine: 'onnxruntime', model_loaded: false });

    const tooBig = await app.request('/v1/classify', { method: 'POST', body: pngHeaderOnly(30000, 30000), headers: { ...auth(), 'content-type': 'image/png' } }, {});
    expect(tooBig.status).toBe(422);
    expect((await health()).model_loaded).toBe(false);

    const ok = await app.request('/v1/classify', { method: 'POST', body: makePng(), headers: { ...auth(), 'content-type': 'image/png' } }, {});
    expect(ok.status).toBe(200);
    // Once loaded: onnxruntime-web's WASM memory as the isolate sees it.
    expect(await health()).toMatchObject({ model_loaded: true, engine: 'onnxruntime', engine_relaxed_simd: null, wasm_memory_bytes: expect.any(Number) });
    expect(((await health()) as unknown as { wasm_memory_bytes: number }).wasm_memory_bytes).toBeGreaterThan(2 ** 20);
  });

  it('HEAD /healthz works, POST /healthz is 405', async () => {
    const app = await makeTestApp();
    expect((await app.request('/healthz', { method: 'HEAD' }, {})).status).toBe(200);
    const res = await app.request('/healthz', { method: 'POST' }, {});
    expect(res.status).toBe(405);
    expect(((await res.json()) as ErrorJson).error.code).toBe('method_not_allowed');
  });

  it('unknown routes are 404 with the JSON error shape', async () => {
    const app = await makeTestApp();
    for (const path of ['/v1/classify/extra', '/v2/classify', '/index.html']) {
      const res = await app.request(path, { method: 'POST' }, {});
      expect(res.status).toBe(404);
      expect(((await res.json()) as ErrorJson).error.code).toBe('not_found');
    }
  });
});
