import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { decodeLabelSet } from '../../src/core/labelset/artifact.ts';
import { BUNDLED_LABEL_SETS } from '../../src/worker/labelsets/catalog.ts';
import { DEFAULT_MODEL } from '../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../src/worker/vision/model.ts';
import worker from '../../src/worker/index.ts';
import { makePng } from './helpers/images.ts';

// The real entry (src/worker/index.ts) as wrangler bundles it, with wrangler.toml's vars.
describe('worker entry', () => {
  it('serves /healthz', async () => {
    const res = await SELF.fetch('https://prompt-edge.test/healthz');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', model: 'tiny-clip-cifar10' });
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

  it('bundles the demo tenant\'s default label set, built for the bundled model', async () => {
    // Decoding with the model's expectations is exactly what the worker does on first use.
    const bytes = new Uint8Array(BUNDLED_LABEL_SETS.find((s) => s.tenant === 'demo' && s.name === 'default')!.bytes);
    const labelSet = decodeLabelSet(bytes, { dim: DEFAULT_MODEL.dim, modelSha256: await sha256Hex(DEFAULT_MODEL.onnx) });
    expect(labelSet.labels).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  });

  it('classifies with the demo key from DEMO_API_KEY against the bundled label set', async () => {
    const env = { DEMO_API_KEY: 'entry-test-key' };
    const res = await worker.request('/v1/classify?top_k=10', { method: 'POST', body: makePng(), headers: { authorization: 'Bearer entry-test-key', 'content-type': 'image/png' } }, env);
    expect(res.status).toBe(200);
    const json = (await res.json()) as { labels: { label: string; score: number }[]; labelset: { tenant: string; name: string } };
    expect(json.labelset).toMatchObject({ tenant: 'demo', name: 'default' });
    expect(json.labels.map((l) => l.label).sort()).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
    expect(json.labels.reduce((a, l) => a + l.score, 0)).toBeCloseTo(1, 6);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await SELF.fetch('https://prompt-edge.test/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
