/**
 * The worker against the wire contract (src/core/contract/api.ts): every route of ROUTES is called
 * on the storage-backed app, and each success body must parse with the schema the contract gives
 * for its status (what the CLI's client parses it with), and each failure with the error shape.
 * TypeScript checks the route handlers' literals; this checks what actually goes over the wire.
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { ROUTES, type RouteSpec } from '../../src/core/contract/api.ts';
import { errorBody, STATUS_BY_CODE, WIRE_ERROR_CODES, type WireErrorCode } from '../../src/core/contract/errors.ts';
import { makePng } from './helpers/images.ts';
import { manifestFor, putFile, sha, variantOnnx } from './helpers/models.ts';
import { labelSet, makeApi } from './helpers/storage-app.ts';

function routeOf(method: string, path: string): RouteSpec {
  const r = ROUTES.find((x) => x.method === method && x.path === path);
  if (!r) throw new Error(`no route ${method} ${path} in ROUTES`);
  return r;
}

async function expectContract(res: Response, route: RouteSpec): Promise<unknown> {
  const text = await res.text();
  if (route.produces === 'text/html') {
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    return text;
  }
  const schema: z.ZodType | undefined = route.responses[res.status];
  expect(schema, `${route.method} ${route.path} answered ${res.status}, which the contract does not list: ${text}`).toBeDefined();
  const parsed = schema!.safeParse(JSON.parse(text));
  expect(parsed.success ? [] : parsed.error.issues, `${route.method} ${route.path}: ${text}`).toEqual([]);
  return JSON.parse(text);
}

describe('the worker speaks the contract', () => {
  it('every route answers bodies that parse with its contract schema', async () => {
    const api = makeApi();
    const seen = new Set<RouteSpec>();
    const call = async (method: RouteSpec['method'], path: string, concrete: string, opts: Parameters<typeof api.call>[2] = {}) => {
      const route = routeOf(method, path);
      seen.add(route);
      return expectContract(await api.call(method, concrete, opts), route);
    };
    const ls = '/v1/admin/tenants/:tenant/labelsets/:name';

    await call('GET', '/healthz', '/healthz', { token: null });
    await call('GET', '/', '/', { token: null });
    await call('GET', '/openapi.json', '/openapi.json', { token: null });
    const { key } = (await call('POST', '/v1/admin/tenants', '/v1/admin/tenants', { json: { tenant: 'contract' } })) as { key: string };
    await call('PUT', ls, '/v1/admin/tenants/contract/labelsets/pets', { bytes: await labelSet(['cat', 'dog']) });
    await call('PUT', ls, '/v1/admin/tenants/contract/labelsets/pets', { bytes: await labelSet(['cat', 'dog', 'bird']) });
    await call('PUT', '/v1/admin/tenants/:tenant/rate-limit', '/v1/admin/tenants/contract/rate-limit', { json: { tier: null } });
    await call('GET', '/v1/admin/tenants', '/v1/admin/tenants');
    await call('GET', '/v1/admin/tenants/:tenant/labelsets', '/v1/admin/tenants/contract/labelsets');
    await call('GET', ls, '/v1/admin/tenants/contract/labelsets/pets');
    await call('POST', `${ls}/rollback`, '/v1/admin/tenants/contract/labelsets/pets/rollback', { json: {} });
    await call('GET', '/v1/labelsets', '/v1/labelsets', { token: key });
    await call('POST', '/v1/classify', '/v1/classify?labelset=pets&top_k=2', { token: key, bytes: makePng(), contentType: 'image/png' });
    await call('DELETE', ls, '/v1/admin/tenants/contract/labelsets/pets');
    await call('PUT', '/v1/admin/tenants/:tenant/rate-limit', '/v1/admin/tenants/contract/rate-limit', { json: { tier: 'pro' } });
    const rotated = (await call('POST', '/v1/admin/tenants/:tenant/keys', '/v1/admin/tenants/contract/keys')) as { key: string };
    expect(rotated.key).not.toBe(key);

    const onnx = variantOnnx('contract');
    const modelSha = await sha(onnx);
    const fileRoute = routeOf('PUT', '/v1/admin/models/:sha256/:file');
    seen.add(fileRoute);
    await expectContract(await putFile(api, modelSha, 'vision_model.onnx', onnx), fileRoute);
    await call('PUT', '/v1/admin/models/:sha256', `/v1/admin/models/${modelSha}`, { json: manifestFor({ onnx: { sha256: modelSha, bytes: onnx.byteLength } }, 'contract-model') });
    await call('GET', '/v1/admin/models', '/v1/admin/models');
    await call('GET', '/v1/admin/models/:sha256', `/v1/admin/models/${modelSha}`);

    expect(ROUTES.filter((r) => !seen.has(r)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });

  it('failures take the error shape, with a contract code and the status the contract gives it', async () => {
    const api = makeApi();
    const cases: Array<[string, string, Parameters<typeof api.call>[2]]> = [
      ['POST', '/v1/admin/tenants', { json: { tenant: 'Not Valid' } }],
      ['GET', '/v1/admin/tenants/nobody/labelsets', {}],
      ['GET', '/v1/admin/models/' + 'a'.repeat(64), {}],
      ['POST', '/v1/classify', { token: 'not-a-key' }],
      ['PATCH', '/v1/labelsets', {}],
      ['GET', '/v1/nothing-here', {}],
    ];
    const codes: string[] = [];
    for (const [method, path, opts] of cases) {
      const res = await api.call(method, path, opts);
      const body = errorBody.parse(await res.json());
      expect(WIRE_ERROR_CODES as readonly string[]).toContain(body.error.code);
      expect(res.status, `${method} ${path}`).toBe(STATUS_BY_CODE[body.error.code as WireErrorCode]);
      codes.push(body.error.code);
    }
    expect(codes).toEqual(['invalid_argument', 'tenant_not_found', 'model_not_found', 'unauthorized', 'method_not_allowed', 'not_found']);
  });
});
