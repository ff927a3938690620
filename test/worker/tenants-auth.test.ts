/**
 * Tenants, keys and isolation on the real local R2 bucket and KV namespace: the admin token gates
 * every admin route, keys are stored only as hashes, rotation revokes, and a key of one tenant
 * reaches nothing of another.
 */
import { describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/core/contract/ids.ts';
import { makePng } from './helpers/images.ts';
import { ADMIN_TOKEN, bindings, labelSet, makeApi, type ClassifyJson } from './helpers/storage-app.ts';

interface ErrorJson {
  error: { code: string; message: string };
}

/** Every admin route with a body that would be valid, so only the token decides. */
const ADMIN_CALLS: [string, string, { json?: unknown; bytes?: Uint8Array }][] = [
  ['POST', '/v1/admin/tenants', { json: { tenant: 'intruder' } }],
  ['GET', '/v1/admin/tenants', {}],
  ['POST', '/v1/admin/tenants/victim/keys', {}],
  ['GET', '/v1/admin/tenants/victim/labelsets', {}],
  ['GET', '/v1/admin/tenants/victim/labelsets/default', {}],
  ['PUT', '/v1/admin/tenants/victim/labelsets/default', { bytes: new Uint8Array(16) }],
  ['POST', '/v1/admin/tenants/victim/labelsets/default/rollback', { json: { version: '1' } }],
  ['DELETE', '/v1/admin/tenants/victim/labelsets/default', {}],
];

describe('admin token', () => {
  it('every admin route answers 401 without a token, with a wrong one, and with a tenant key; nothing changes', async () => {
    const api = makeApi();
    const victimKey = await api.createTenant('victim');
    await api.publish('victim', 'default', await labelSet(['cat', 'dog']));
    const otherKey = await api.createTenant('other');
    for (const [method, path, body] of ADMIN_CALLS) {
      for (const token of [null, 'wrong-token', `${ADMIN_TOKEN}x`, otherKey, victimKey]) {
        const res = await api.call(method, path, { ...body, token });
        expect(res.status, `${method} ${path} with ${token === null ? 'no token' : 'a wrong token'}`).toBe(401);
        expect(((await res.json()) as ErrorJson).error.code).toBe('unauthorized');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
    }
    const tenants = await api.admin<{ tenants: { tenant: string }[] }>('GET', '/v1/admin/tenants');
    expect(tenants.tenants.map((t) => t.tenant)).not.toContain('intruder');
    expect((await api.classify(victimKey)).status).toBe(200);
    const rec = await api.admin<{ version: string; history: string[] }>('GET', '/v1/admin/tenants/victim/labelsets/default');
    expect([rec.version, rec.history]).toEqual(['1', ['1']]);
  });

  it('known admin paths with another method are 405 with Allow; unknown ones 404 (both only after the token)', async () => {
    const api = makeApi();
    for (const [method, path, allow] of [
      ['PATCH', '/v1/admin/tenants', 'GET, HEAD, POST'],
      ['GET', '/v1/admin/tenants/victim/keys', 'POST'],
      ['POST', '/v1/admin/tenants/victim/labelsets/default', 'GET, HEAD, PUT, DELETE'],
      ['GET', '/v1/admin/tenants/victim/labelsets/default/rollback', 'POST'],
      ['POST', '/v1/labelsets', 'GET, HEAD'],
    ] as const) {
      const res = await api.call(method, path);
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
    }
    expect((await api.call('GET', '/v1/admin/nothing')).status).toBe(404);
    expect((await api.call('GET', '/v1/admin/nothing', { token: null })).status).toBe(401);
  });

  it('without an ADMIN_TOKEN secret the admin API is closed, and says how to open it', async () => {
    const api = makeApi({ ADMIN_TOKEN: '' });
    const res = await api.call('GET', '/v1/admin/tenants', { token: '' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as ErrorJson).error.message).toMatch(/ADMIN_TOKEN/);
  });
});

describe('tenants and keys', () => {
  it('creates a tenant with a random key shown once and stored only as its SHA-256; a second create is 409', async () => {
    const api = makeApi();
    const res = await api.call('POST', '/v1/admin/tenants', { json: { tenant: 'acme' } });
    expect(res.status).toBe(201);
    const { tenant, key } = (await res.json()) as { tenant: string; key: string };
    expect(tenant).toBe('acme');
    expect(key).toMatch(/^pe_[0-9a-f]{48}$/);

    const again = await api.call('POST', '/v1/admin/tenants', { json: { tenant: 'acme' } });
    expect(again.status).toBe(409);
    expect(((await again.json()) as ErrorJson).error.code).toBe('conflict');

    // The key is nowhere in storage; its hash is, mapping to the tenant.
    const { bucket, kv } = bindings();
    const hash = await hashApiKey(key);
    expect(JSON.parse((await kv.get(`keyhash:${hash}`))!)).toMatchObject({ tenant: 'acme', sha256: hash });
    for (const o of (await bucket.list({ prefix: 'registry/' })).objects) expect(await (await bucket.get(o.key))!.text()).not.toContain(key);
    for (const k of (await kv.list()).keys) {
      expect(k.name).not.toContain(key);
      expect((await kv.get(k.name)) ?? '').not.toContain(key);
    }
    const rec = JSON.parse(await (await bucket.get('registry/tenants/acme.json'))!.text()) as { keys: { sha256: string }[] };
    expect(rec.keys.map((k) => k.sha256)).toEqual([hash]);

    const list = await api.admin<{ tenants: { tenant: string; created_at: string; labelsets: string[] }[] }>('GET', '/v1/admin/tenants');
    expect(list.tenants.find((t) => t.tenant === 'acme')).toMatchObject({ tenant: 'acme', labelsets: [] });
  });

  it('refuses bad tenant ids and bodies with 400', async () => {
    const api = makeApi();
    for (const json of [{ tenant: 'Acme' }, { tenant: '' }, { tenant: 'a/b' }, { tenant: 'a:b' }, { tenant: 7 }, {}]) {
      const res = await api.call('POST', '/v1/admin/tenants', { json });
      expect(res.status, JSON.stringify(json)).toBe(400);
    }
    const notJson = await api.call('POST', '/v1/admin/tenants', { bytes: new TextEncoder().encode('{tenant'), contentType: 'application/json' });
    expect(notJson.status).toBe(400);
    expect((await api.call('GET', '/v1/admin/tenants/UPPER/labelsets')).status).toBe(400);
  });

  it('a key rotation invalidates the old key at once (locally) and the new one works', async () => {
    const api = makeApi();
    const oldKey = await api.createTenant('rot1');
    await api.publish('rot1', 'default', await labelSet(['cat', 'dog']));
    expect((await api.classify(oldKey)).status).toBe(200);

    const res = await api.call('POST', '/v1/admin/tenants/rot1/keys');
    expect(res.status).toBe(200);
    const { tenant, key: newKey } = (await res.json()) as { tenant: string; key: string };
    expect(tenant).toBe('rot1');
    expect(newKey).not.toBe(oldKey);

    for (const r of [await api.classify(oldKey), await api.call('GET', '/v1/labelsets', { token: oldKey })]) {
      expect(r.status).toBe(401);
      expect(((await r.json()) as ErrorJson).error.code).toBe('unauthorized');
    }
    expect((await api.classify(newKey)).status).toBe(200);
    expect(await bindings().kv.get(`keyhash:${await hashApiKey(oldKey)}`)).toBeNull();

    // Two rotations at once: exactly one of the issued keys survives, and the first key stays dead.
    const [a, b] = await Promise.all([api.admin<{ key: string }>('POST', '/v1/admin/tenants/rot1/keys'), api.admin<{ key: string }>('POST', '/v1/admin/tenants/rot1/keys')]);
    const alive = await Promise.all([newKey, a.key, b.key].map(async (k) => (await api.call('GET', '/v1/labelsets', { token: k })).status === 200));
    expect(alive.filter(Boolean)).toHaveLength(1);
    expect(alive[0]).toBe(false);

    const unknown = await api.call('POST', '/v1/admin/tenants/nobody/keys');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as ErrorJson).error.code).toBe('tenant_not_found');
  });

  it('label-set admin routes on an unknown tenant are 404 tenant_not_found, and store nothing', async () => {
    const api = makeApi();
    for (const [method, path, body] of ADMIN_CALLS.slice(3)) {
      const res = await api.call(method, path.replace('victim', 'ghost'), body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as ErrorJson).error.code).toBe('tenant_not_found');
    }
    expect((await bindings().bucket.list({ prefix: 'labelsets/ghost/' })).objects).toEqual([]);
  });
});

describe('tenant isolation', () => {
  it('a key of tenant A never classifies with, lists or reaches a label set of tenant B', async () => {
    const api = makeApi();
    const keyA = await api.createTenant('tenant-a');
    const keyB = await api.createTenant('tenant-b');
    await api.publish('tenant-a', 'default', await labelSet(['cat', 'dog']));
    await api.publish('tenant-b', 'default', await labelSet(['ship', 'truck']));
    await api.publish('tenant-b', 'secret', await labelSet(['frog', 'deer']));

    // Same name in both tenants: each key gets its own.
    const a = (await (await api.classify(keyA)).json()) as ClassifyJson;
    expect(a.labelset).toEqual({ tenant: 'tenant-a', name: 'default', version: '1' });
    expect(a.labels.map((l) => l.label).sort()).toEqual(['cat', 'dog']);
    const b = (await (await api.classify(keyB)).json()) as ClassifyJson;
    expect(b.labels.map((l) => l.label).sort()).toEqual(['ship', 'truck']);

    // B's label set is invisible to A: the same 404 as a name nobody has.
    const secret = await api.classify(keyA, 'secret');
    const nothing = await api.classify(keyA, 'nothing');
    expect([secret.status, nothing.status]).toEqual([404, 404]);
    const se = (await secret.json()) as ErrorJson;
    const ne = (await nothing.json()) as ErrorJson;
    expect(se.error.code).toBe('labelset_not_found');
    expect(se.error.message.replace('secret', 'X')).toBe(ne.error.message.replace('nothing', 'X'));
    expect(se.error.message).not.toContain('tenant-b');

    // Query parameters cannot pick another tenant.
    const forged = await api.call('POST', '/v1/classify?labelset=secret&tenant=tenant-b', { token: keyA, bytes: makePng(), contentType: 'image/png' });
    expect(forged.status).toBe(404);

    const listA = (await (await api.call('GET', '/v1/labelsets', { token: keyA })).json()) as { tenant: string; labelsets: { name: string }[] };
    expect(listA).toMatchObject({ tenant: 'tenant-a' });
    expect(listA.labelsets.map((l) => l.name)).toEqual(['default']);
    const listB = (await (await api.call('GET', '/v1/labelsets', { token: keyB })).json()) as { tenant: string; labelsets: { name: string }[] };
    expect(listB.labelsets.map((l) => l.name)).toEqual(['default', 'secret']);

    // Publish, roll back, delete are admin-only: A's key is refused on B's label sets (and its own).
    for (const [method, path, body] of ADMIN_CALLS.slice(5)) {
      for (const t of ['tenant-b', 'tenant-a']) {
        const res = await api.call(method, path.replace('victim', t), { ...body, token: keyA });
        expect(res.status).toBe(401);
      }
    }
    expect((await api.admin<{ history: string[] }>('GET', '/v1/admin/tenants/tenant-b/labelsets/secret')).history).toEqual(['1']);
  });
});
