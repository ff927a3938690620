import { SELF, env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import type { Env } from '../../src/worker/env.ts';
import { BUNDLED_LABEL_SETS } from '../../src/worker/labelsets/catalog.ts';
import { DEFAULT_MODEL } from '../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../src/core/contract/sha256.ts';
import worker from '../../src/worker/index.ts';
import { makePng } from './helpers/images.ts';

// The real entry (src/worker/index.ts) as wrangler bundles it, with wrangler.toml's vars and bindings.
describe('worker entry', () => {
  it('serves /healthz with the model\'s sha256 (what uploads must match)', async () => {
    const res = await SELF.fetch('https://prompt-edge.test/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, model: 'tiny-clip-cifar10', model_sha256: await sha256Hex(DEFAULT_MODEL.onnx) });
  });

  it('bundles the demo tenant\'s default label set, built for the bundled model', async () => {
    // Decoding with the model's expectations is exactly what the worker does on first use.
    const bytes = new Uint8Array(BUNDLED_LABEL_SETS.find((s) => s.tenant === 'demo' && s.name === 'default')!.bytes);
    const labelSet = decodeLabelSet(bytes, { dim: DEFAULT_MODEL.dim, modelSha256: await sha256Hex(DEFAULT_MODEL.onnx) });
    expect(labelSet.labels).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  });

  it('seeds storage with the demo tenant on its first /v1 request and classifies with DEMO_API_KEY', async () => {
    // The first /v1 request of this isolate, so the seed uses this env's DEMO_API_KEY.
    const testEnv = { ...(env as unknown as Env), DEMO_API_KEY: 'entry-test-key' };
    const res = await worker.request('/v1/classify?top_k=10', { method: 'POST', body: makePng(), headers: { authorization: 'Bearer entry-test-key', 'content-type': 'image/png' } }, testEnv);
    expect(res.status).toBe(200);
    const json = (await res.json()) as { labels: { label: string; score: number }[]; labelset: { tenant: string; name: string; version: string } };
    expect(json.labelset).toEqual({ tenant: 'demo', name: 'default', version: '1' });
    expect(json.labels.map((l) => l.label).sort()).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(json.labels.reduce((a, l) => a + l.score, 0)).toBeCloseTo(1, 6);
  });

  it('refuses /v1/classify without a valid key', async () => {
    const res = await SELF.fetch('https://prompt-edge.test/v1/classify', {
      method: 'POST',
      body: makePng(),
      headers: { authorization: 'Bearer definitely-not-a-key', 'content-type': 'image/png' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await SELF.fetch('https://prompt-edge.test/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
