import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { RequestLogLine } from '../../src/worker/http/request-log.ts';
import { makePng, pngHeaderOnly } from './helpers/images.ts';
import { ADMIN_TOKEN, makeApi } from './helpers/storage-app.ts';
import { auth, makeTestApp, TEST_KEY, type ErrorJson } from './helpers/test-app.ts';

const ID = /^[0-9a-f]{32}$/;

/** The request lines console.log received (other console output is ignored). */
function requestLines(spy: MockInstance): RequestLogLine[] {
  return spy.mock.calls.flatMap((args) => {
    if (typeof args[0] !== 'string' || !args[0].startsWith('{')) return [];
    const v = JSON.parse(args[0]) as { type?: string };
    return v.type === 'request' ? [v as RequestLogLine] : [];
  });
}

describe('request logs', () => {
  let log: MockInstance;
  beforeEach(() => {
    log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => log.mockRestore());

  it('a classify request logs one line with tenant, label set and version, stage timings and the image; its id is in x-request-id', async () => {
    const app = await makeTestApp();
    const png = makePng(40, 30);
    const res = await app.request('/v1/classify?top_k=3', { method: 'POST', body: png, headers: { ...auth(), 'content-type': 'image/png' } }, {});
    expect(res.status).toBe(200);
    const body = (await res.json()) as { timings_ms: Record<string, number> };
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(ID);

    const lines = requestLines(log);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line).toMatchObject({
      request_id: id,
      method: 'POST',
      path: '/v1/classify',
      status: 200,
      error: null,
      tenant: 'demo',
      labelset: { name: 'default', version: 'test-v1' },
      image: { bytes: png.byteLength, format: 'png', width: 40, height: 30 },
    });
    expect(line.timings_ms).toEqual(body.timings_ms);
    // The line times the whole request, which contains the classification (both rounded to 0.01 ms).
    expect(line.duration_ms).toBeGreaterThanOrEqual(body.timings_ms['total']! - 0.01);
    // Never the key, never the image: the whole line is small and has neither.
    const text = String(log.mock.calls.at(-1)![0]);
    expect(text).not.toContain(TEST_KEY);
    expect(text.length).toBeLessThan(1000);
  });

  it('every error body carries the request id of its x-request-id header, and the line its code', async () => {
    const app = await makeTestApp();
    const cases: Array<[string, RequestInit, number, string]> = [
      ['/v1/classify', { method: 'POST', body: makePng(), headers: { authorization: 'Bearer wrong-key-123', 'content-type': 'image/png' } }, 401, 'unauthorized'],
      ['/nope', { method: 'GET' }, 404, 'not_found'],
      ['/healthz', { method: 'POST' }, 405, 'method_not_allowed'],
      ['/v1/classify?top_k=0', { method: 'POST', body: makePng(), headers: { ...auth(), 'content-type': 'image/png' } }, 400, 'invalid_argument'],
      ['/v1/classify', { method: 'POST', body: pngHeaderOnly(30000, 30000), headers: { ...auth(), 'content-type': 'image/png' } }, 422, 'image_too_large'],
    ];
    const ids = new Set<string>();
    for (const [path, init, status, code] of cases) {
      const res = await app.request(path, init, {});
      expect(res.status, path).toBe(status);
      const id = res.headers.get('x-request-id')!;
      expect(id).toMatch(ID);
      ids.add(id);
      const json = (await res.json()) as ErrorJson & { error: { request_id: string } };
      expect(json.error).toMatchObject({ code, request_id: id });
      const line = requestLines(log).at(-1)!;
      expect(line).toMatchObject({ request_id: id, status, error: code });
    }
    expect(ids.size).toBe(cases.length);
    const all = requestLines(log);
    expect(JSON.stringify(all)).not.toContain('wrong-key-123');
    // The bomb header was read (format and size logged) and refused before decoding.
    expect(all.at(-1)).toMatchObject({ tenant: 'demo', image: { format: 'png', width: 30000, height: 30000 } });
  });

  it('admin requests are logged without the admin token', async () => {
    const api = makeApi();
    await api.createTenant('logged');
    const line = requestLines(log).find((l) => l.path === '/v1/admin/tenants')!;
    expect(line).toMatchObject({ method: 'POST', status: 201, error: null });
    expect(JSON.stringify(requestLines(log))).not.toContain(ADMIN_TOKEN);
  });
});
