/**
 * GET /openapi.json against the app that serves it: every route the app serves is in the document
 * (and nothing else), and real responses, successes and errors, validate against the document's
 * JSON Schemas (draft 2020-12, @cfworker/json-schema: no code generation, so it runs in workerd).
 */
import { Validator, type Schema } from '@cfworker/json-schema';
import { describe, expect, it } from 'vitest';
import { openApiPath } from '../../src/worker/http/openapi.ts';
import { makePng } from './helpers/images.ts';
import { manifestFor, putFile, sha, variantOnnx } from './helpers/models.ts';
import { labelSet, makeApi, type Api } from './helpers/storage-app.ts';

type Json = { [k: string]: unknown };
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: Json }>; headers?: Record<string, unknown> }>; security: unknown[] }>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
  'x-limits': Json;
}

async function fetchDoc(api: Api): Promise<Doc> {
  const res = await api.call('GET', '/openapi.json', { token: null });
  expect(res.status).toBe(200);
  return (await res.json()) as Doc;
}

/** Checks one real response against the operation's declared response for its status. */
async function conforms(doc: Doc, method: string, template: string, res: Response): Promise<unknown> {
  const op = doc.paths[openApiPath(template)]?.[method.toLowerCase()];
  expect(op, `${method} ${template} is not in the document`).toBeDefined();
  const text = await res.text();
  const declared = op!.responses[String(res.status)];
  expect(declared, `${method} ${template} answered ${res.status}, which the document does not declare: ${text.slice(0, 300)}`).toBeDefined();
  if (declared!.headers?.['x-request-id']) expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f]{32}$/);
  const json = declared!.content?.['application/json'];
  if (!json) return text;
  const schema = typeof json.schema['$ref'] === 'string' ? doc.components.schemas[(json.schema['$ref'] as string).split('/').at(-1)!]! : json.schema;
  const body = JSON.parse(text) as unknown;
  const result = new Validator(schema as Schema, '2020-12', false).validate(body);
  expect(result.valid ? [] : result.errors.map((e) => `${e.instanceLocation}: ${e.error}`), `${method} ${template} ${res.status}: ${text.slice(0, 300)}`).toEqual([]);
  return body;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with both auth schemes and the deployment\'s limits, and lists exactly the routes the app serves', async () => {
    const api = makeApi();
    const doc = await fetchDoc(api);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['adminToken', 'tenantKey']);
    expect(doc['x-limits']).toMatchObject({ max_body_bytes: 10485760, max_image_pixels: 6000000, max_top_k: 1000, rate_limit: { period_seconds: 60, tiers: ['default', 'free', 'pro'] } });

    // Hono's own route table: every method+path registered (app.use middleware and the 405
    // catch-alls are method ALL).
    const served = new Set(api.app.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`));
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`)));
    expect([...served].filter((r) => !documented.has(r))).toEqual([]);
    expect([...documented].filter((r) => !served.has(r))).toEqual([]);
    expect(served.size).toBeGreaterThanOrEqual(17);

    // Auth per route: admin routes need the admin token, tenant routes a key, the rest nothing.
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const op of Object.values(ops)) {
        const want = path.startsWith('/v1/admin/') ? [{ adminToken: [] }] : path.startsWith('/v1/') ? [{ tenantKey: [] }] : [];
        expect(op.security, path).toEqual(want);
      }
    }
  });

  it('real answers of every route, and their errors, validate against the document', async () => {
    const api = makeApi();
    const doc = await fetchDoc(api);
    const seen = new Set<string>();
    const call = async (method: string, template: string, concrete: string, opts: Parameters<typeof api.call>[2] = {}, status?: number) => {
      seen.add(`${method.toLowerCase()} ${openApiPath(template)}`);
      const res = await api.call(method, concrete, opts);
      if (status !== undefined) expect(res.status, `${method} ${concrete}`).toBe(status);
      return conforms(doc, method, template, res);
    };
    const ls = '/v1/admin/tenants/:tenant/labelsets/:name';

    await call('GET', '/', '/', { token: null }, 200);
    await call('GET', '/openapi.json', '/openapi.json', { token: null }, 200);
    await call('GET', '/healthz', '/healthz', { token: null }, 200);
    const { key } = (await call('POST', '/v1/admin/tenants', '/v1/admin/tenants', { json: { tenant: 'oa' } }, 201)) as { key: string };
    await call('POST', '/v1/admin/tenants', '/v1/admin/tenants', { json: { tenant: 'oa' } }, 409);
    await call('PUT', ls, '/v1/admin/tenants/oa/labelsets/pets', { bytes: await labelSet(['cat', 'dog']) }, 201);
    await call('PUT', ls, '/v1/admin/tenants/oa/labelsets/pets', { bytes: new Uint8Array(10) }, 422);
    await call('PUT', ls, '/v1/admin/tenants/oa/labelsets/pets', { bytes: await labelSet(['cat', 'dog', 'bird']) }, 201);
    await call('GET', '/v1/admin/tenants', '/v1/admin/tenants', {}, 200);
    await call('GET', '/v1/admin/tenants/:tenant/labelsets', '/v1/admin/tenants/oa/labelsets', {}, 200);
    await call('GET', '/v1/admin/tenants/:tenant/labelsets', '/v1/admin/tenants/nobody/labelsets', {}, 404);
    await call('GET', ls, '/v1/admin/tenants/oa/labelsets/pets', {}, 200);
    await call('POST', `${ls}/rollback`, '/v1/admin/tenants/oa/labelsets/pets/rollback', { json: {} }, 200);
    await call('GET', '/v1/labelsets', '/v1/labelsets', { token: key }, 200);
    await call('GET', '/v1/labelsets', '/v1/labelsets', { token: 'pe_not_a_key' }, 401);
    await call('POST', '/v1/classify', '/v1/classify?labelset=pets&top_k=2', { token: key, bytes: makePng(), contentType: 'image/png' }, 200);
    await call('POST', '/v1/classify', '/v1/classify?top_k=0', { token: key, bytes: makePng(), contentType: 'image/png' }, 400);
    await call('POST', '/v1/classify', '/v1/classify?labelset=nope', { token: key, bytes: makePng(), contentType: 'image/png' }, 404);
    await call('POST', '/v1/classify', '/v1/classify?labelset=pets', { token: key, bytes: makePng(), contentType: 'text/plain' }, 415);
    await call('DELETE', ls, '/v1/admin/tenants/oa/labelsets/pets', {}, 200);
    await call('PUT', '/v1/admin/tenants/:tenant/rate-limit', '/v1/admin/tenants/oa/rate-limit', { json: { tier: 'nope' } }, 400);
    await call('PUT', '/v1/admin/tenants/:tenant/rate-limit', '/v1/admin/tenants/oa/rate-limit', { json: { tier: 'free' } }, 200);
    const { key: rotated } = (await call('POST', '/v1/admin/tenants/:tenant/keys', '/v1/admin/tenants/oa/keys', {}, 200)) as { key: string };

    // Over the free tier's rate: the 429 and its Retry-After are in the document too.
    let limited: Response | null = null;
    for (let i = 0; i < 130 && limited === null; i++) {
      const res = await api.call('GET', '/v1/labelsets', { token: rotated });
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(limited).not.toBeNull();
    await conforms(doc, 'GET', '/v1/labelsets', limited!);
    expect(Object.keys(doc.paths['/v1/labelsets']!['get']!.responses['429']!.headers!)).toContain('retry-after');

    const onnx = variantOnnx('openapi');
    const modelSha = await sha(onnx);
    seen.add(`put ${openApiPath('/v1/admin/models/:sha256/:file')}`);
    await conforms(doc, 'PUT', '/v1/admin/models/:sha256/:file', await putFile(api, modelSha, 'vision_model.onnx', onnx));
    await call('PUT', '/v1/admin/models/:sha256', `/v1/admin/models/${modelSha}`, { json: manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength } }, 'openapi-model') }, 201);
    await call('GET', '/v1/admin/models', '/v1/admin/models', {}, 200);
    await call('GET', '/v1/admin/models/:sha256', `/v1/admin/models/${modelSha}`, {}, 200);
    await call('GET', '/v1/admin/models/:sha256', `/v1/admin/models/${'b'.repeat(64)}`, {}, 404);

    const all = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(all.filter((r) => !seen.has(r))).toEqual([]);
  });
});
