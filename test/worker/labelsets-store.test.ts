/**
 * Versioned label sets on the real local R2 bucket and KV namespace: publish, classify, rollback,
 * delete, upload validation, concurrent publishes and how fast a new version reaches classify.
 */
import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors } from '../../src/core/safetensors.ts';
import { kvKeys, r2Keys } from '../../src/worker/store/keys.ts';
import { labelSetRecord, parseRecord } from '../../src/worker/store/records.ts';
import { sha256Hex } from '../../src/core/contract/sha256.ts';
import { makeLabelSetBytes } from './helpers/test-app.ts';
import { bindings, labelSet, makeApi, storedFor, withEmbeddings, type ClassifyJson } from './helpers/storage-app.ts';

const A = ['cat', 'dog'];
const B = ['ship', 'truck', 'airplane'];
const C = ['frog', 'deer', 'horse', 'bird'];

async function classifyOk(api: ReturnType<typeof makeApi>, key: string, labelset?: string): Promise<ClassifyJson> {
  const res = await api.classify(key, labelset);
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return JSON.parse(body) as ClassifyJson;
}

const labelsOf = (j: ClassifyJson) => j.labels.map((l) => l.label).sort();

async function r2Record(tenant: string, name: string) {
  const obj = await bindings().bucket.get(r2Keys.labelSet(tenant, name));
  return obj === null ? null : parseRecord(labelSetRecord, await obj.text(), 'test');
}

async function kvRecord(tenant: string, name: string) {
  const text = await bindings().kv.get(kvKeys.labelSet(tenant, name));
  return text === null ? null : parseRecord(labelSetRecord, text, 'test');
}

describe('publish and classify', () => {
  it('publishes versions 1, 2 and classify uses the current one; R2 and KV hold what docs/storage.md says', async () => {
    const api = makeApi();
    const key = await api.createTenant('pub1');
    const v1 = await api.publish('pub1', 'default', await labelSet(A));
    expect(v1).toMatchObject({ tenant: 'pub1', name: 'default', version: '1', labels: A, method: 'zeroshot' });
    let json = await classifyOk(api, key);
    expect(json.labelset).toEqual({ tenant: 'pub1', name: 'default', version: '1' });
    expect(labelsOf(json)).toEqual([...A].sort());

    const bytes2 = await labelSet(B);
    expect((await api.publish('pub1', 'default', bytes2)).version).toBe('2');
    json = await classifyOk(api, key);
    expect(json.labelset.version).toBe('2');
    expect(labelsOf(json)).toEqual([...B].sort());

    // The artifact is stored byte for byte under its version; the record and its KV mirror agree.
    const obj = await bindings().bucket.get('labelsets/pub1/default/2.safetensors');
    expect(new Uint8Array(await obj!.arrayBuffer())).toEqual(bytes2);
    const rec = await r2Record('pub1', 'default');
    expect(rec).toMatchObject({ current: '2', next_version: 3 });
    expect(rec!.versions.map((v) => v.version)).toEqual(['1', '2']);
    expect(rec!.versions[1]!.sha256).toBe(await sha256Hex(bytes2 as Uint8Array<ArrayBuffer>));
    expect(await kvRecord('pub1', 'default')).toEqual(rec);
  });

  it('GET /v1/labelsets (tenant key) and the admin listing show version, labels, method, metrics, created_at, model_id', async () => {
    const api = makeApi();
    const key = await api.createTenant('list1');
    await api.publish('list1', 'default', await labelSet(A));
    await api.publish('list1', 'animals', await labelSet(C));
    await api.publish('list1', 'animals', await labelSet(B));
    const res = await api.call('GET', '/v1/labelsets', { token: key });
    expect(res.status).toBe(200);
    const own = (await res.json()) as { tenant: string; labelsets: Record<string, unknown>[] };
    expect(own.tenant).toBe('list1');
    expect(own.labelsets.map((l) => [l['name'], l['version'], l['labels']])).toEqual([
      ['animals', '2', B],
      ['default', '1', A],
    ]);
    for (const l of own.labelsets) {
      expect(l).toMatchObject({ method: 'zeroshot', metrics: {}, model_id: 'tiny-clip-cifar10' });
      expect(Date.parse(String(l['created_at']))).not.toBeNaN();
    }
    const admin = await api.admin<typeof own>('GET', '/v1/admin/tenants/list1/labelsets');
    expect(admin).toEqual(own);
    const one = await api.admin<{ version: string; history: string[]; versions: unknown[] }>('GET', '/v1/admin/tenants/list1/labelsets/animals');
    expect([one.version, one.history, one.versions.length]).toEqual(['2', ['1', '2'], 2]);
  });

  it('rolls back to the previous version, then to an explicit one; refuses unknown versions and rolling back past the first', async () => {
    const api = makeApi();
    const key = await api.createTenant('roll1');
    for (const labels of [A, B, C]) await api.publish('roll1', 'default', await labelSet(labels));
    const rollback = (json: unknown) => api.call('POST', '/v1/admin/tenants/roll1/labelsets/default/rollback', { json });

    let res = await rollback({});
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ tenant: 'roll1', name: 'default', version: '2' });
    let json = await classifyOk(api, key);
    expect([json.labelset.version, labelsOf(json)]).toEqual(['2', [...B].sort()]);

    res = await rollback({});
    expect(((await res.json()) as { version: string }).version).toBe('1');
    res = await rollback({});
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ error: { code: 'conflict' } });

    res = await rollback({ version: '3' });
    expect(((await res.json()) as { version: string }).version).toBe('3');
    json = await classifyOk(api, key);
    expect([json.labelset.version, labelsOf(json)]).toEqual(['3', [...C].sort()]);
    // A number works as well as a string.
    expect(((await (await rollback({ version: 1 })).json()) as { version: string }).version).toBe('1');

    res = await rollback({ version: '9' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'version_not_found' } });
    expect((await rollback({ version: 'latest' })).status).toBe(400);
    // History is untouched by rollbacks; the mirror follows.
    expect((await r2Record('roll1', 'default'))!.versions.map((v) => v.version)).toEqual(['1', '2', '3']);
    expect((await kvRecord('roll1', 'default'))!.current).toBe('1');
  });

  it('deletes a label set: classify 404, gone from the lists, R2 and KV; a new publish never reuses a version number', async () => {
    const api = makeApi();
    const key = await api.createTenant('del1');
    await api.publish('del1', 'default', await labelSet(A));
    await api.publish('del1', 'default', await labelSet(B));
    await api.publish('del1', 'keep', await labelSet(C));
    const res = await api.call('DELETE', '/v1/admin/tenants/del1/labelsets/default');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ tenant: 'del1', name: 'default', deleted: true });

    const gone = await api.classify(key);
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'labelset_not_found' } });
    const own = (await (await api.call('GET', '/v1/labelsets', { token: key })).json()) as { labelsets: { name: string }[] };
    expect(own.labelsets.map((l) => l.name)).toEqual(['keep']);
    expect((await bindings().bucket.list({ prefix: 'labelsets/del1/default/' })).objects).toEqual([]);
    expect(await kvRecord('del1', 'default')).toBeNull();
    expect((await api.call('DELETE', '/v1/admin/tenants/del1/labelsets/default')).status).toBe(404);
    expect((await api.call('POST', '/v1/admin/tenants/del1/labelsets/default/rollback', { json: {} })).status).toBe(404);

    // Isolates may still hold version 1 or 2 of the deleted label set decoded: the next one is 3.
    expect((await api.publish('del1', 'default', await labelSet(C))).version).toBe('3');
    const json = await classifyOk(api, key);
    expect([json.labelset.version, labelsOf(json)]).toEqual(['3', [...C].sort()]);
  });
});

describe('upload validation: refused before anything is stored', () => {
  it('refuses wrong-model, wrong-dimension, truncated, NaN, garbage, empty, wrong-type and oversized uploads', async () => {
    const api = makeApi({ MAX_ARTIFACT_BYTES: '4096' });
    await api.createTenant('bad1');
    const put = (bytes: Uint8Array, contentType?: string) => api.call('PUT', '/v1/admin/tenants/bad1/labelsets/default', { bytes, ...(contentType ? { contentType } : {}) });
    const expectRefused = async (res: Response, status: number, code: string, message: RegExp) => {
      const json = (await res.json()) as { error: { code: string; message: string } };
      expect({ status: res.status, code: json.error.code }).toEqual({ status, code });
      expect(json.error.message).toMatch(message);
    };

    await expectRefused(await put(await makeLabelSetBytes({ labels: A, modelSha256: 'ab'.repeat(32) })), 422, 'model_mismatch', /deployed model/);
    const valid = await labelSet(A);
    await expectRefused(await put(valid.subarray(0, valid.byteLength - 7)), 422, 'invalid_artifact', /truncated/);
    await expectRefused(await put(valid.subarray(0, 5)), 422, 'invalid_artifact', /truncated/);
    await expectRefused(await put(await withEmbeddings(A, (rows) => (rows[3] = NaN))), 422, 'invalid_artifact', /non-finite/);
    await expectRefused(await put(await withEmbeddings(A, (rows) => (rows[0] = Infinity))), 422, 'invalid_artifact', /non-finite/);
    await expectRefused(await put(new TextEncoder().encode('definitely not safetensors')), 422, 'invalid_artifact', /./);
    await expectRefused(await put(new Uint8Array(0)), 422, 'invalid_artifact', /empty/);
    await expectRefused(await put(valid, 'application/json'), 415, 'unsupported_media_type', /octet-stream/);
    // 2 labels x 64 dims in F32 is ~1.5 KB: 40 labels is over the 4096-byte test limit.
    const big = await labelSet(Array.from({ length: 40 }, (_, i) => `class-${i}`));
    expect(big.byteLength).toBeGreaterThan(4096);
    await expectRefused(await put(big), 413, 'payload_too_large', /4096 bytes \(MAX_ARTIFACT_BYTES\)/);
    // Without Content-Length (a stream): counted while reading, refused all the same.
    const streamed = await api.app.request(
      '/v1/admin/tenants/bad1/labelsets/default',
      { method: 'PUT', headers: { authorization: `Bearer ${api.env.ADMIN_TOKEN}`, 'content-type': 'application/octet-stream' }, body: new Blob([big as Uint8Array<ArrayBuffer>]).stream(), duplex: 'half' } as RequestInit,
      api.env,
    );
    await expectRefused(streamed, 413, 'payload_too_large', /MAX_ARTIFACT_BYTES/);

    expect(await storedFor('bad1')).toEqual({ r2: [], kv: [] });
    // The same tenant can still publish a valid one, as version 1.
    expect((await api.publish('bad1', 'default', valid)).version).toBe('1');
  });

  it('refuses an embedding dimension other than the model\'s', async () => {
    const api = makeApi();
    await api.createTenant('bad2');
    const file = parseSafetensors(await labelSet(A), 'test');
    const rows = new Float32Array(2 * 8).fill(0);
    rows[0] = 1;
    rows[9] = 1;
    const bytes = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [2, 8], data: rows } }, file.metadata);
    const res = await api.call('PUT', '/v1/admin/tenants/bad2/labelsets/default', { bytes });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: 'model_mismatch' } });
    expect(await storedFor('bad2')).toEqual({ r2: [], kv: [] });
  });
});

describe('publishing identical bytes again', () => {
  const put = (api: ReturnType<typeof makeApi>, tenant: string, name: string, bytes: Uint8Array) =>
    api.call('PUT', `/v1/admin/tenants/${tenant}/labelsets/${name}`, { bytes });
  const artifactKeys = async (tenant: string, name: string) =>
    (await bindings().bucket.list({ prefix: `labelsets/${tenant}/${name}/` })).objects.map((o) => o.key).sort();

  it('returns the existing version (200, created: false) and stores nothing new; bytes of an older version make it current again', async () => {
    const api = makeApi();
    const key = await api.createTenant('same1');
    const a = await labelSet(A);
    expect(await api.publish('same1', 'default', a)).toMatchObject({ version: '1', created: true, made_current: true });
    const rec1 = await r2Record('same1', 'default');

    const again = await put(api, 'same1', 'default', a);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ tenant: 'same1', name: 'default', version: '1', labels: A, method: 'zeroshot', content_version: 'content-cat-dog-1', created: false, made_current: false });
    // Nothing was written: same record (revision included), one artifact.
    expect(await r2Record('same1', 'default')).toEqual(rec1);
    expect(await artifactKeys('same1', 'default')).toEqual(['labelsets/same1/default/1.safetensors']);

    expect(await api.publish('same1', 'default', await labelSet(B))).toMatchObject({ version: '2', created: true });
    const back = await put(api, 'same1', 'default', a);
    expect(back.status).toBe(200);
    expect(await back.json()).toMatchObject({ version: '1', created: false, made_current: true, labels: A });
    const rec = (await r2Record('same1', 'default'))!;
    expect(rec).toMatchObject({ current: '1', next_version: 3 });
    expect(rec.versions.map((v) => v.version)).toEqual(['1', '2']);
    expect(await kvRecord('same1', 'default')).toEqual(rec);
    expect(await artifactKeys('same1', 'default')).toEqual(['labelsets/same1/default/1.safetensors', 'labelsets/same1/default/2.safetensors']);
    const json = await classifyOk(api, key);
    expect([json.labelset.version, labelsOf(json)]).toEqual(['1', [...A].sort()]);

    // The same bytes under another name, or after a delete, are a new label set: a new version.
    expect(await api.publish('same1', 'other', a)).toMatchObject({ version: '1', created: true });
    expect((await api.call('DELETE', '/v1/admin/tenants/same1/labelsets/other')).status).toBe(200);
    expect(await api.publish('same1', 'other', a)).toMatchObject({ version: '2', created: true });
  });

  it('concurrent identical publishes end as one version: one 201, the others 200 with that version, no orphaned artifact', async () => {
    const api = makeApi();
    await api.createTenant('same2');
    const c = await labelSet(C);
    const answers = await Promise.all([1, 2, 3, 4].map(async () => {
      const res = await put(api, 'same2', 'default', c);
      return { status: res.status, body: (await res.json()) as { version: string; created: boolean } };
    }));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 201]);
    const created = answers.find((a) => a.status === 201)!.body.version;
    for (const a of answers) expect(a.body).toMatchObject({ version: created, created: a.status === 201 });
    const rec = (await r2Record('same2', 'default'))!;
    expect(rec.versions.map((v) => v.version)).toEqual([created]);
    expect(rec.current).toBe(created);
    expect(await artifactKeys('same2', 'default')).toEqual([`labelsets/same2/default/${created}.safetensors`]);
  });
});

describe('concurrency', () => {
  it('concurrent publishes get distinct increasing versions, all in the history; the current one is one of them and exists in R2', async () => {
    const api = makeApi();
    const key = await api.createTenant('race1');
    const sets = [A, B, C, ['bird', 'cat'], ['deer', 'dog', 'frog']];
    const results = await Promise.all(sets.map(async (labels) => api.publish('race1', 'default', await labelSet(labels))));
    const versions = results.map((r) => r.version);
    expect(new Set(versions).size).toBe(sets.length);
    for (const v of versions) expect(v).toMatch(/^[1-9]\d*$/);

    const rec = (await r2Record('race1', 'default'))!;
    const history = rec.versions.map((v) => v.version);
    // A publish that lost a race takes a fresh, higher number: versions may skip, never repeat.
    expect([...history].sort()).toEqual([...versions].sort());
    // History order is publish order, and numbers only go up along it.
    expect(history.map(Number)).toEqual([...history.map(Number)].sort((a, b) => a - b));
    expect(history).toContain(rec.current);
    expect(rec.current).toBe(history[history.length - 1]);
    expect(await bindings().bucket.head(`labelsets/race1/default/${rec.current}.safetensors`)).not.toBeNull();
    // No orphaned artifacts: exactly one object per version.
    expect((await bindings().bucket.list({ prefix: 'labelsets/race1/default/' })).objects.map((o) => o.key).sort()).toEqual(history.map((v) => `labelsets/race1/default/${v}.safetensors`).sort());
    expect(await kvRecord('race1', 'default')).toEqual(rec);
    // Classify serves the current version with the labels published under it.
    const json = await classifyOk(api, key);
    const published = results.find((r) => r.version === rec.current)!;
    expect([json.labelset.version, labelsOf(json)]).toEqual([rec.current, [...published.labels].sort()]);
  });

  it('a rollback racing a publish leaves a consistent record', async () => {
    const api = makeApi();
    await api.createTenant('race2');
    await api.publish('race2', 'default', await labelSet(A));
    await api.publish('race2', 'default', await labelSet(B));
    const [pub, rb] = await Promise.all([
      api.publish('race2', 'default', await labelSet(C)),
      api.call('POST', '/v1/admin/tenants/race2/labelsets/default/rollback', { json: { version: '1' } }),
    ]);
    expect(pub.version).toBe('3');
    expect(rb.status).toBe(200);
    const rec = (await r2Record('race2', 'default'))!;
    expect(rec.versions.map((v) => v.version)).toEqual(['1', '2', '3']);
    expect(['1', '3']).toContain(rec.current);
    expect(await kvRecord('race2', 'default')).toEqual(rec);
  });
});

describe('propagation bound', () => {
  it('a publish reaches classify within CURRENT_VERSION_TTL_MS (locally KV is immediate); before that the isolate may serve the cached version', async () => {
    const ttl = 1500;
    const api = makeApi({ CURRENT_VERSION_TTL_MS: String(ttl) });
    const key = await api.createTenant('ttl1');
    await api.publish('ttl1', 'default', await labelSet(A));
    // The isolate caches the pointer at some moment after this one.
    const cachedAt = Date.now();
    expect((await classifyOk(api, key)).labelset.version).toBe('1');
    await api.publish('ttl1', 'default', await labelSet(B));
    const publishedAt = Date.now();

    const early = await classifyOk(api, key);
    if (Date.now() - cachedAt < ttl) expect(early.labelset.version).toBe('1');
    // Wait out the bound, measured from the publish: the new version must be served.
    await new Promise((r) => setTimeout(r, Math.max(0, publishedAt + ttl + 10 - Date.now())));
    const late = await classifyOk(api, key);
    expect([late.labelset.version, labelsOf(late)]).toEqual(['2', [...B].sort()]);

    // A rollback takes effect within the same bound.
    await api.admin('POST', '/v1/admin/tenants/ttl1/labelsets/default/rollback', { json: {} });
    const rolledAt = Date.now();
    await new Promise((r) => setTimeout(r, Math.max(0, rolledAt + ttl + 10 - Date.now())));
    expect((await classifyOk(api, key)).labelset.version).toBe('1');
  });
});
