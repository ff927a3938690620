import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminApiError, AdminClient } from '../../src/train/publish/admin-client.ts';
import { compareLive, LiveCheckError, pickForLiveCheck, runLiveCheck } from '../../src/train/publish/live-check.ts';
import type { Target } from '../../src/train/publish/target.ts';
import { startFakeWorker, type FakeWorker } from './publish-fake-worker.ts';

const ADMIN = 'pe_admin_test_token';
const ARTIFACT = new TextEncoder().encode('ARTIFACT bytes');
const ARTIFACT2 = new TextEncoder().encode('ARTIFACT bytes, version 2');
const ARTIFACT3 = new TextEncoder().encode('ARTIFACT bytes, version 3');
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3]);

let w: FakeWorker;
let client: AdminClient;
const targetOf = (baseUrl: string, local = true, adminToken = ADMIN): Target => ({ baseUrl, adminToken, local, devVars: {} });

beforeAll(async () => {
  w = await startFakeWorker(ADMIN);
  client = new AdminClient(targetOf(w.baseUrl));
});
afterAll(async () => w.close());

async function rejection(p: Promise<unknown>): Promise<AdminApiError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AdminApiError);
  return err as AdminApiError;
}

describe('AdminClient against a contract-speaking HTTP server', () => {
  it('creates, lists and rotates tenants, sending the admin token', async () => {
    const created = await client.createTenant('acme');
    expect(created.tenant).toBe('acme');
    expect(created.key).toMatch(/^pe_key/);
    const req = w.requests.at(-1)!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v1/admin/tenants');
    expect(req.headers.authorization).toBe(`Bearer ${ADMIN}`);
    expect(JSON.parse(req.body.toString())).toEqual({ tenant: 'acme' });

    const list = await client.listTenants();
    expect(list.tenants.map((t) => t.tenant)).toContain('acme');

    const rotated = await client.rotateKey('acme');
    expect(rotated.key).not.toBe(created.key);
    // The old key no longer works on the tenant routes.
    const err = await rejection(client.ownLabelSets(created.key));
    expect(err.status).toBe(401);
    expect(err.code).toBe('unauthorized');
    expect(err.message).toContain('tenant key was refused');
    expect((await client.ownLabelSets(rotated.key)).tenant).toBe('acme');
  });

  it('reports a conflict with the server code and message and what was being done', async () => {
    await client.createTenant('dupe');
    const err = await rejection(client.createTenant('dupe'));
    expect(err.status).toBe(409);
    expect(err.code).toBe('conflict');
    expect(err.serverCode).toBe('conflict');
    expect(err.message).toBe('create tenant dupe failed: HTTP 409 conflict: tenant "dupe" already exists.');
  });

  it('uploads, lists, rolls back and deletes label sets', async () => {
    await client.createTenant('shop');
    const v1 = await client.putLabelSet('shop', 'default', ARTIFACT);
    const put = w.requests.at(-1)!;
    expect(put.method).toBe('PUT');
    expect(put.url).toBe('/v1/admin/tenants/shop/labelsets/default');
    expect(put.headers['content-type']).toBe('application/octet-stream');
    expect(new Uint8Array(put.body)).toEqual(ARTIFACT);
    expect(v1).toEqual({ tenant: 'shop', name: 'default', version: '1', labels: ['cat', 'dog'], method: 'coop', content_version: 'c1', created: true, made_current: true });
    expect((await client.putLabelSet('shop', 'default', ARTIFACT2)).version).toBe('2');
    expect((await client.putLabelSet('shop', 'default', ARTIFACT3)).version).toBe('3');
    // The same bytes again: the existing version, nothing new.
    expect(await client.putLabelSet('shop', 'default', ARTIFACT3)).toMatchObject({ version: '3', created: false, made_current: false });

    const listed = await client.listLabelSets('shop');
    expect(listed.labelsets).toHaveLength(1);
    expect(listed.labelsets[0]).toMatchObject({ name: 'default', version: '3', labels: ['cat', 'dog'], method: 'coop' });

    expect(await client.rollback('shop', 'default')).toEqual({ tenant: 'shop', name: 'default', version: '2' });
    expect(JSON.parse(w.requests.at(-1)!.body.toString())).toEqual({});
    expect(await client.rollback('shop', 'default', '1')).toEqual({ tenant: 'shop', name: 'default', version: '1' });
    expect(JSON.parse(w.requests.at(-1)!.body.toString())).toEqual({ version: '1' });

    expect(await client.deleteLabelSet('shop', 'default')).toEqual({ tenant: 'shop', name: 'default', deleted: true });
    const err = await rejection(client.rollback('shop', 'default'));
    expect(err.status).toBe(404);
    expect(err.serverCode).toBe('labelset_not_found');
    expect(err.code).toBe('not_found');
    expect(err.message).toContain('roll back label set shop/default failed: HTTP 404 labelset_not_found');
    expect(err.message).not.toContain('predates');
  });

  it('passes invalid_artifact and payload_too_large through with their codes', async () => {
    await client.createTenant('bad');
    const e1 = await rejection(client.putLabelSet('bad', 'x', new TextEncoder().encode('garbage')));
    expect(e1.status).toBe(422);
    expect(e1.code).toBe('invalid_artifact');
    expect(e1.message).toContain('not a prompt-edge/labelset@1 file');
    const e2 = await rejection(client.putLabelSet('bad', 'x', new Uint8Array(2000)));
    expect(e2.status).toBe(413);
    expect(e2.code).toBe('payload_too_large');
  });

  it('refuses invalid tenant ids and label set names before sending anything', async () => {
    const before = w.requests.length;
    await expect(client.createTenant('Acme Corp')).rejects.toThrow(/tenant id "Acme Corp" is not valid/);
    await expect(client.putLabelSet('acme', '../x', ARTIFACT)).rejects.toThrow(/label set name "..\/x" is not valid/);
    expect(w.requests.length).toBe(before);
  });

  it('a worker without the admin API (route-level 404) gets a hint to restart or redeploy', async () => {
    const s = createServer((_req, res) => { res.writeHead(404, { 'content-type': 'application/json' }); res.end('{"error":{"code":"not_found","message":"No route for GET /v1/admin/tenants."}}'); });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      expect((await rejection(new AdminClient(targetOf(base)).listTenants())).message).toBe(
        'list tenants failed: HTTP 404 not_found: No route for GET /v1/admin/tenants. (if every admin route answers 404, the running worker predates the admin API: restart `npm start` on the current code)');
      expect((await rejection(new AdminClient(targetOf(base, false)).listTenants())).message).toContain('deploy the current code');
    } finally {
      await new Promise<void>((r) => s.close(() => r()));
    }
  });

  it('says how to fix a wrong admin token, locally and remotely', async () => {
    const local = await rejection(new AdminClient(targetOf(w.baseUrl, true, 'wrong')).listTenants());
    expect(local.status).toBe(401);
    expect(local.message).toContain('list tenants failed: HTTP 401 unauthorized: Missing or invalid admin token.');
    expect(local.message).toContain('.dev.vars');
    const remote = await rejection(new AdminClient(targetOf(w.baseUrl, false, 'wrong')).listTenants());
    expect(remote.message).toContain('PROMPT_EDGE_ADMIN_TOKEN');
  });

  it('classifies with a tenant key, sending the image bytes, content type and label set', async () => {
    const { key } = await client.createTenant('cls');
    await client.putLabelSet('cls', 'pets', ARTIFACT);
    const r = await client.classify(key, JPEG, { labelset: 'pets', topK: 1, contentType: 'image/jpeg' });
    expect(r.labels[0]).toEqual({ label: 'cat', score: 0.9 });
    expect(r.labelset).toEqual({ tenant: 'cls', name: 'pets', version: '1' });
    const req = w.requests.at(-1)!;
    expect(req.url).toBe('/v1/classify?labelset=pets&top_k=1');
    expect(req.headers['content-type']).toBe('image/jpeg');
    expect(req.headers.authorization).toBe(`Bearer ${key}`);
    expect(new Uint8Array(req.body)).toEqual(JPEG);
    const missing = await rejection(client.classify(key, JPEG, { labelset: 'nope', contentType: 'image/jpeg' }));
    expect(missing.serverCode).toBe('labelset_not_found');
  });

  it('a refused connection to the local target asks whether `npm start` is running', async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const err = await rejection(new AdminClient(targetOf(`http://127.0.0.1:${port}`)).health());
    expect(err.code).toBe('unavailable');
    expect(err.status).toBe(0);
    expect(err.message).toContain(`cannot connect to the local worker at http://127.0.0.1:${port}`);
    expect(err.message).toContain('is `npm start` running?');
    // The hint says how to aim at a worker on another port.
    expect(err.message).toContain('run this command with PORT=<that port>');
    const fromEnv = await rejection(new AdminClient({ ...targetOf(`http://127.0.0.1:${port}`), portFrom: 'PORT' }).health());
    expect(fromEnv.message).toContain('the port comes from PORT');
    const remote = await rejection(new AdminClient(targetOf(`http://127.0.0.1:${port}`, false)).health());
    expect(remote.message).not.toContain('npm start');
    expect(remote.message).toContain('ECONNREFUSED');
  });

  it('turns non-JSON error pages, unexpected bodies and timeouts into clear errors', async () => {
    const s = createServer((req, res) => {
      if (req.url === '/healthz') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"ok":"yes"}'); return; }
      if (req.url === '/legacy/healthz') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"ok","model":"m"}'); return; }
      if (req.url === '/v1/admin/tenants') { res.writeHead(502, { 'content-type': 'text/html' }); res.end('<html><body>Bad gateway</body></html>'); return; }
      // /v1/labelsets: never answers
    });
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      const c = new AdminClient(targetOf(base, false), { timeoutMs: 300 });
      const bad = await rejection(c.listTenants());
      expect(bad.status).toBe(502);
      expect(bad.code).toBe('unavailable');
      expect(bad.message).toContain('Bad gateway');
      const odd = await rejection(c.health());
      expect(odd.message).toContain('unexpected body');
      // The pre-contract health body ({"status": "ok"}) still counts as up, without a model hash.
      expect(await new AdminClient(targetOf(`${base}/legacy`, false)).health()).toMatchObject({ status: 'ok', model: 'm' });
      const slow = await rejection(c.ownLabelSets('k'));
      expect(slow.code).toBe('unavailable');
      expect(slow.message).toContain('no answer from');
    } finally {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
  });
});

describe('live check', () => {
  it('picks a capped sample round-robin over the classes', () => {
    const preds = [
      ...['a1', 'a2', 'a3', 'a4'].map((f) => ({ file: f, truth: 'a', predicted: 'a' })),
      ...['b1', 'b2'].map((f) => ({ file: f, truth: 'b', predicted: 'b' })),
      ...['c1', 'c2', 'c3'].map((f) => ({ file: f, truth: 'c', predicted: 'c' })),
    ];
    expect(pickForLiveCheck(preds, 5).map((p) => p.file)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2']);
    expect(pickForLiveCheck(preds, 8).map((p) => p.file)).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'c2', 'a3', 'c3']);
    expect(pickForLiveCheck(preds, 100)).toHaveLength(9);
  });

  it('compares top-1 labels file by file and flags stale versions', () => {
    const offline = [{ file: 'x', truth: 'a', predicted: 'a' }, { file: 'y', truth: 'b', predicted: 'b' }, { file: 'z', truth: 'b', predicted: 'a' }];
    const live = [{ label: 'a', version: '3' }, { label: 'a', version: '3' }, { label: 'a', version: '2' }];
    expect(compareLive(offline, live, ['3'])).toEqual([
      { file: 'y', offline: 'b', live: 'a' },
      { file: 'z', offline: 'a', live: 'a', servedVersion: '2' },
    ]);
    // A worker that names versions by the artifact's content hash is accepted too.
    expect(compareLive(offline.slice(0, 1), [{ label: 'a', version: '9df640b9c972' }], ['3', '9df640b9c972'])).toEqual([]);
  });

  it('retries a stale version until the published one is served, then passes', async () => {
    const { key } = await client.createTenant('live');
    await client.putLabelSet('live', 'default', ARTIFACT);
    await client.putLabelSet('live', 'default', ARTIFACT);
    let calls = 0;
    w.classifyAnswer = (body) => ({ label: body[6] === 1 ? 'cat' : 'dog', version: ++calls <= 2 ? '1' : '2' });
    const files: Record<string, Uint8Array> = { '/p/cat.jpg': new Uint8Array([0xff, 0xd8, 0xff, 0, 0, 0, 1]), '/p/dog.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) };
    const slept: number[] = [];
    const r = await runLiveCheck(client, [{ file: '/p/cat.jpg', truth: 'cat', predicted: 'cat' }, { file: '/p/dog.png', truth: 'dog', predicted: 'dog' }], {
      labelset: 'default', tenantKey: key, expectedVersion: '2', readFile: (p) => files[p]!, max: 200, concurrency: 1, pollMs: 5,
      sleep: async (ms) => { slept.push(ms); },
    });
    expect(r).toMatchObject({ checked: 2, agreed: 2, mismatches: [], notSent: 0, version: '2' });
    expect(slept).toEqual([5, 5]);
    const types = w.requests.filter((q) => q.url.startsWith('/v1/classify')).slice(-2).map((q) => q.headers['content-type']);
    expect(types).toEqual(['image/jpeg', 'image/png']);
  });

  it('fails with the list of mismatching files', async () => {
    const { key } = await client.createTenant('live2');
    await client.putLabelSet('live2', 'default', ARTIFACT);
    w.classifyAnswer = () => ({ label: 'dog' });
    const r = await runLiveCheck(client, [{ file: '/a.jpg', truth: 'cat', predicted: 'cat' }, { file: '/b.jpg', truth: 'dog', predicted: 'dog' }], {
      labelset: 'default', tenantKey: key, expectedVersion: '1', readFile: () => JPEG, max: 200, waitMs: 0,
    });
    expect(r.agreed).toBe(1);
    expect(r.mismatches).toEqual([{ file: '/a.jpg', offline: 'cat', live: 'dog' }]);
    const err = new LiveCheckError(r);
    expect(err.code).toBe('conflict');
    expect(err.message).toContain('1 of 2 images');
    expect(err.message).toContain('/a.jpg: offline cat, live dog');
  });
});
