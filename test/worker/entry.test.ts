import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
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

  it('answers unknown routes with a JSON 404', async () => {
    const res = await SELF.fetch('https://prompt-edge.test/nope');
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
