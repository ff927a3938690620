/**
 * A small node:http server that speaks the admin/tenant contract (src/core/contract/api.ts), in
 * memory, for client tests. It is not the worker (that one is tested inside workerd); it only
 * answers as the contract says (its bodies are typed by it), and records the requests it received so tests can check what the client sent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClassifyBody, HealthBody, LabelSetDeletedBody, LabelSetListBody, LabelSetPublishedBody, RolledBackBody, TenantKeyBody, TenantListBody } from '../../src/core/contract/api.ts';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

interface LabelSetState {
  versions: { version: string; labels: string[]; method: string; body: Buffer }[];
  current: number;
}

export interface FakeWorker {
  baseUrl: string;
  port: number;
  requests: RecordedRequest[];
  tenants: Map<string, { keys: Set<string>; labelsets: Map<string, LabelSetState> }>;
  /** What the classify route answers for an image body (default: "cat" from the current version). */
  classifyAnswer: (body: Buffer, tenant: string, name: string, artifact: Buffer) => { label: string; version?: string } | Promise<{ label: string; version?: string }>;
  /** Checks an uploaded artifact; returns an error message to refuse it with 422. Default: must start with "ARTIFACT". */
  validateArtifact: (body: Buffer) => string | null;
  /** What GET /healthz names as the model's sha256. */
  modelSha256: string;
  /** Upload size limit (413 above it). */
  maxArtifactBytes: number;
  close(): Promise<void>;
}

export async function startFakeWorker(adminToken: string): Promise<FakeWorker> {
  const requests: RecordedRequest[] = [];
  const tenants: FakeWorker['tenants'] = new Map();
  let keyCounter = 0;
  const fake: Partial<FakeWorker> = {
    requests,
    tenants,
    classifyAnswer: () => ({ label: 'cat' }),
    validateArtifact: (b) => (b.toString('utf8').startsWith('ARTIFACT') ? null : 'not a prompt-edge/labelset@1 file.'),
    modelSha256: 'abc',
    maxArtifactBytes: 1000,
  };

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });
  const bearer = (req: IncomingMessage) => /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  const listOf = (t: string): LabelSetListBody => ({
    tenant: t,
    labelsets: [...tenants.get(t)!.labelsets].map(([name, s]) => {
      const v = s.versions[s.current]!;
      return {
        name, version: v.version, labels: v.labels, method: v.method, metrics: {}, created_at: '2026-01-01T00:00:00Z', model_id: 'tiny',
        content_version: `c${v.version}`, trained_at: '2026-01-01T00:00:00Z', history: s.versions.map((x) => x.version),
      };
    }),
  });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const url = new URL(req.url ?? '/', 'http://x');
      const path = url.pathname;
      if (path === '/healthz') return send(res, 200, { ok: true, status: 'ok', model: 'tiny', model_sha256: fake.modelSha256!, model_source: 'bundled', engine: 'onnxruntime', model_loaded: false } satisfies HealthBody);
      if (path.startsWith('/v1/admin/')) {
        if (bearer(req) !== adminToken) return fail(res, 401, 'unauthorized', 'Missing or invalid admin token.');
        if (path === '/v1/admin/tenants' && req.method === 'POST') {
          const t = (JSON.parse(body.toString('utf8')) as { tenant: string }).tenant;
          if (tenants.has(t)) return fail(res, 409, 'conflict', `tenant "${t}" already exists.`);
          const key = `pe_key${++keyCounter}`;
          tenants.set(t, { keys: new Set([key]), labelsets: new Map() });
          return send(res, 201, { tenant: t, key } satisfies TenantKeyBody);
        }
        if (path === '/v1/admin/tenants' && req.method === 'GET') {
          const list: TenantListBody = { tenants: [...tenants].map(([t, s]) => ({ tenant: t, created_at: '2026-01-01T00:00:00Z', keys: [...s.keys].map(() => ({ created_at: '2026-01-01T00:00:00Z' })), labelsets: [...s.labelsets.keys()], rate_limit_tier: 'default' })) };
          return send(res, 200, list);
        }
        const m = /^\/v1\/admin\/tenants\/([^/]+)(\/keys|\/labelsets(?:\/([^/]+)(\/rollback)?)?)$/.exec(path);
        const t = m ? decodeURIComponent(m[1]!) : '';
        const state = tenants.get(t);
        if (!m || !state) return fail(res, 404, 'tenant_not_found', `no tenant "${t}".`);
        if (m[2] === '/keys' && req.method === 'POST') {
          const key = `pe_key${++keyCounter}`;
          state.keys = new Set([key]);
          return send(res, 200, { tenant: t, key } satisfies TenantKeyBody);
        }
        if (m[2] === '/labelsets' && req.method === 'GET') return send(res, 200, listOf(t));
        const name = m[3] ? decodeURIComponent(m[3]) : '';
        const ls = state.labelsets.get(name);
        if (!m[4] && req.method === 'PUT') {
          if (body.length > fake.maxArtifactBytes!) return fail(res, 413, 'payload_too_large', `artifact over ${fake.maxArtifactBytes} bytes.`);
          const invalid = fake.validateArtifact!(body);
          if (invalid) return fail(res, 422, 'invalid_artifact', invalid);
          const s = ls ?? { versions: [], current: -1 };
          // As the worker does: the same bytes again are the existing version, made current.
          const same = s.versions.findIndex((v) => v.body.equals(body));
          if (same >= 0) {
            const madeCurrent = s.current !== same;
            s.current = same;
            const version = s.versions[same]!.version;
            return send(res, 200, { tenant: t, name, version, labels: ['cat', 'dog'], method: 'coop', content_version: `c${version}`, created: false, made_current: madeCurrent } satisfies LabelSetPublishedBody);
          }
          s.versions.push({ version: String(s.versions.length + 1), labels: ['cat', 'dog'], method: 'coop', body });
          s.current = s.versions.length - 1;
          state.labelsets.set(name, s);
          const version = s.versions[s.current]!.version;
          return send(res, 201, { tenant: t, name, version, labels: ['cat', 'dog'], method: 'coop', content_version: `c${version}`, created: true, made_current: true } satisfies LabelSetPublishedBody);
        }
        if (!ls) return fail(res, 404, 'labelset_not_found', `no label set "${name}".`);
        if (m[4] && req.method === 'POST') {
          const want = (JSON.parse(body.toString('utf8') || '{}') as { version?: string }).version;
          const idx = want === undefined ? ls.current - 1 : ls.versions.findIndex((v) => v.version === want);
          if (idx < 0) return fail(res, 409, 'conflict', 'no version to roll back to.');
          ls.current = idx;
          return send(res, 200, { tenant: t, name, version: ls.versions[idx]!.version } satisfies RolledBackBody);
        }
        if (!m[4] && req.method === 'DELETE') {
          state.labelsets.delete(name);
          return send(res, 200, { tenant: t, name, deleted: true } satisfies LabelSetDeletedBody);
        }
        return fail(res, 405, 'method_not_allowed', 'method not allowed');
      }
      // Tenant routes.
      const key = bearer(req);
      const tenant = [...tenants].find(([, s]) => key !== undefined && s.keys.has(key))?.[0];
      if (!tenant) return fail(res, 401, 'unauthorized', 'Missing or invalid API key.');
      if (path === '/v1/labelsets' && req.method === 'GET') return send(res, 200, listOf(tenant));
      if (path === '/v1/classify' && req.method === 'POST') {
        const name = url.searchParams.get('labelset') ?? 'default';
        const ls = tenants.get(tenant)!.labelsets.get(name);
        if (!ls) return fail(res, 404, 'labelset_not_found', `no label set "${name}" for this key.`);
        const cur = ls.versions[ls.current]!;
        void Promise.resolve(fake.classifyAnswer!(body, tenant, name, cur.body)).then(
          (a) => send(res, 200, { labels: [{ label: a.label, score: 0.9 }], labelset: { tenant, name, version: a.version ?? cur.version }, model: 'tiny', timings_ms: { decode: 0.25, preprocess: 0.25, encode: 0.25, score: 0.25, total: 1 } } satisfies ClassifyBody),
          (e: unknown) => fail(res, 500, 'internal', String(e)),
        );
        return;
      }
      return fail(res, 404, 'not_found', 'no such route');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${port}`,
    port,
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  }) as FakeWorker;
}

/**
 * The worker's classification done in Node (the real image tower + the uploaded artifact), for
 * fake-worker tests whose live check must compare real predictions.
 */
export async function startReferenceClassifier(): Promise<{
  classify: (image: Buffer, artifact: Buffer) => Promise<{ label: string }>;
  visionSha256: string;
  dispose: () => Promise<void>;
}> {
  const { loadCheckpoint } = await import('../../src/train/checkpoint.ts');
  const { DEFAULT_MODEL_DIR } = await import('../../src/train/cli/common.ts');
  const { ImageTower } = await import('../../src/train/image-tower.ts');
  const { initNodeImageCodecs } = await import('../../src/train/image-codecs-node.ts');
  const { decodeImage } = await import('../../src/core/image/decode.ts');
  const { decodeLabelSet } = await import('../../src/core/labelset/artifact.ts');
  const { argmax, headLogits } = await import('../../src/core/scoring.ts');
  await initNodeImageCodecs();
  const ckpt = loadCheckpoint(DEFAULT_MODEL_DIR);
  const tower = await ImageTower.create(ckpt);
  return {
    visionSha256: ckpt.visionSha256,
    classify: async (image, artifact) => {
      const a = decodeLabelSet(new Uint8Array(artifact));
      const [e] = await tower.embedImages([await decodeImage(new Uint8Array(image))]);
      return { label: a.labels[argmax(headLogits(e!, a))]! };
    },
    dispose: () => tower.dispose(),
  };
}
