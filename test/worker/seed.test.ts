/**
 * The embedded default: the first /v1 request of an isolate seeds the demo tenant (DEMO_API_KEY,
 * stored as its hash) with the bundled default label set, once, into the real local storage.
 */
import { describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/core/contract/ids.ts';
import { createDefaultApp } from '../../src/worker/default-app.ts';
import { BUNDLED_LABEL_SETS } from '../../src/worker/labelsets/catalog.ts';
import { DEMO_KEY, bindings, makeApi, type ClassifyJson } from './helpers/storage-app.ts';

const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

describe('demo seed', () => {
  it('seeds demo/default on the first request, idempotently across isolates, and respects a later key rotation', async () => {
    const { bucket, kv } = bindings();
    expect(await bucket.head('registry/tenants/demo.json')).toBeNull();

    // First isolate: /healthz does not seed; the first /v1 request does, before authenticating.
    const first = makeApi();
    expect((await first.call('GET', '/healthz', { token: null })).status).toBe(200);
    expect(await bucket.head('registry/tenants/demo.json')).toBeNull();
    const res = await first.classify(DEMO_KEY);
    expect(res.status).toBe(200);
    const json = (await res.json()) as ClassifyJson;
    expect(json.labelset).toEqual({ tenant: 'demo', name: 'default', version: '1' });
    expect(json.labels.map((l) => l.label).sort()).toEqual(CIFAR10);

    // Stored: the bundled artifact as version 1, and only the key's hash.
    const stored = await bucket.get('labelsets/demo/default/1.safetensors');
    const bundled = new Uint8Array(BUNDLED_LABEL_SETS.find((s) => s.tenant === 'demo')!.bytes);
    expect(new Uint8Array(await stored!.arrayBuffer())).toEqual(bundled);
    expect(JSON.parse((await kv.get(`keyhash:${await hashApiKey(DEMO_KEY)}`))!)).toMatchObject({ tenant: 'demo' });

    // More isolates (fresh apps) starting at once: nothing is seeded twice.
    const more = [makeApi({}, createDefaultApp()), makeApi({}, createDefaultApp()), makeApi({}, createDefaultApp())];
    const listed = await Promise.all(more.map(async (api) => (await (await api.call('GET', '/v1/labelsets', { token: DEMO_KEY })).json()) as { labelsets: { name: string; history: string[] }[] }));
    for (const l of listed) expect(l.labelsets.map((s) => [s.name, s.history])).toEqual([['default', ['1']]]);

    // A rotated demo key is not brought back by the next isolate's seed.
    await first.admin('POST', '/v1/admin/tenants/demo/keys');
    const later = makeApi({}, createDefaultApp());
    expect((await later.classify(DEMO_KEY)).status).toBe(401);
  });
});
