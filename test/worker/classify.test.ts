import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import type { Env } from '../../src/worker/env.ts';
import { makePng, pngHeaderOnly, tinyJpeg } from './helpers/images.ts';
import { auth, CIFAR10, makeTestApp, type ErrorJson } from './helpers/test-app.ts';

interface ClassifyJson {
  labels: { label: string; score: number }[];
  labelset: { tenant: string; name: string; version: string };
  model: string;
  timings_ms: Record<'decode' | 'preprocess' | 'encode' | 'score' | 'total', number>;
}

const ENV: Env = { MAX_BODY_BYTES: '200000', MAX_IMAGE_PIXELS: '1000000' };
let app: Hono<{ Bindings: Env }>;

beforeAll(async () => {
  app = await makeTestApp();
});

function post(body: BodyInit | null, headers: Record<string, string>, query = '', env: Env = ENV): Promise<Response> {
  return Promise.resolve(app.request(`/v1/classify${query}`, { method: 'POST', body, headers }, env));
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  const json = (await res.json()) as ErrorJson;
  expect({ status: res.status, code: json.error?.code }).toEqual({ status, code });
  expect(json.error.message.length).toBeGreaterThan(10);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return json;
}

function expectWellFormed(json: ClassifyJson, k: number): void {
  expect(json.labels).toHaveLength(k);
  for (const l of json.labels) {
    expect(CIFAR10).toContain(l.label);
    expect(l.score).toBeGreaterThanOrEqual(0);
    expect(l.score).toBeLessThanOrEqual(1);
  }
  for (let i = 1; i < json.labels.length; i++) expect(json.labels[i - 1]!.score).toBeGreaterThanOrEqual(json.labels[i]!.score);
  expect(json.labelset).toEqual({ tenant: 'demo', name: 'default', version: 'test-v1' });
  expect(json.model).toBe('tiny-clip-cifar10');
  // The stages are disjoint parts of the request's classification, so they add up to at most the
  // total (each is rounded to 0.01 ms). workerd's clock only advances on I/O, so a stage may read 0.
  const t: Record<string, number> = json.timings_ms;
  for (const stage of ['decode', 'preprocess', 'encode', 'score', 'total']) expect(t[stage], stage).toEqual(expect.any(Number));
  const stages = Object.entries(t).filter(([k]) => k !== 'total');
  expect(stages.reduce((sum, [, v]) => sum + v, 0)).toBeLessThanOrEqual(t['total']! + 0.01 * stages.length);
}

describe('POST /v1/classify', () => {
  it('classifies a PNG: all labels with top_k=10, scores summing to 1', async () => {
    const res = await post(makePng(), { ...auth(), 'content-type': 'image/png' }, '?top_k=10');
    expect(res.status).toBe(200);
    const json = (await res.json()) as ClassifyJson;
    expectWellFormed(json, 10);
    expect(new Set(json.labels.map((l) => l.label)).size).toBe(10);
    expect(json.labels.reduce((s, l) => s + l.score, 0)).toBeCloseTo(1, 6);
  });

  it('returns the default 5 labels, and top_k picks the same best labels', async () => {
    const png = makePng();
    const five = (await (await post(png, { ...auth(), 'content-type': 'image/png' })).json()) as ClassifyJson;
    expectWellFormed(five, 5);
    const two = (await (await post(png, { ...auth(), 'content-type': 'image/png' }, '?top_k=2')).json()) as ClassifyJson;
    expectWellFormed(two, 2);
    expect(two.labels).toEqual(five.labels.slice(0, 2));
  });

  it('caps top_k above the number of labels at the number of labels', async () => {
    const res = await post(makePng(), { ...auth(), 'content-type': 'image/png' }, '?top_k=50');
    expectWellFormed((await res.json()) as ClassifyJson, 10);
  });

  it('classifies a JPEG sent as a raw body', async () => {
    const res = await post(tinyJpeg(), { ...auth(), 'content-type': 'image/jpeg' }, '?top_k=3');
    expect(res.status).toBe(200);
    expectWellFormed((await res.json()) as ClassifyJson, 3);
  });

  it('accepts application/octet-stream and a missing content type, sniffing the format', async () => {
    for (const headers of [{ 'content-type': 'application/octet-stream' }, {}] as Record<string, string>[]) {
      const res = await post(makePng(), { ...auth(), ...headers });
      expect(res.status).toBe(200);
    }
  });

  it('accepts a multipart/form-data upload in the field "image", same result as the raw body', async () => {
    const jpeg = tinyJpeg();
    const form = new FormData();
    form.append('note', 'ignored');
    form.append('image', new File([jpeg], 'tiny.jpg', { type: 'image/jpeg' }));
    const res = await app.request('/v1/classify?top_k=4', { method: 'POST', body: form, headers: auth() }, ENV);
    expect(res.status).toBe(200);
    const viaForm = (await res.json()) as ClassifyJson;
    expectWellFormed(viaForm, 4);
    const raw = (await (await post(jpeg, { ...auth(), 'content-type': 'image/jpeg' }, '?top_k=4')).json()) as ClassifyJson;
    expect(viaForm.labels).toEqual(raw.labels);
  });

  describe('errors', () => {
    it('401 without a key, with a wrong key, with a malformed header', async () => {
      const png = makePng();
      for (const headers of [{}, auth('wrong-key'), { authorization: 'Basic dXNlcjpwYXNz' }, { authorization: 'Bearer' }]) {
        const res = await post(png, { ...headers, 'content-type': 'image/png' });
        const json = await expectError(res, 401, 'unauthorized');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(json.error.message).not.toContain('wrong-key');
      }
    });

    it('404 for a label set the tenant does not have (another tenant\'s key sees nothing of demo)', async () => {
      await expectError(await post(makePng(), { ...auth(), 'content-type': 'image/png' }, '?labelset=nope'), 404, 'labelset_not_found');
      await expectError(await post(makePng(), { ...auth('test-key-acme-9876543210'), 'content-type': 'image/png' }), 404, 'labelset_not_found');
    });

    it('400 for an invalid top_k or labelset', async () => {
      for (const q of ['?top_k=0', '?top_k=-1', '?top_k=abc', '?top_k=2.5', '?top_k=1001', '?top_k=', '?labelset=../x']) {
        await expectError(await post(makePng(), { ...auth(), 'content-type': 'image/png' }, q), 400, 'invalid_argument');
      }
    });

    it('400 for an empty body', async () => {
      await expectError(await post(new Uint8Array(0), { ...auth(), 'content-type': 'image/png' }), 400, 'invalid_image');
      await expectError(await post(null, auth()), 400, 'invalid_image');
    });

    it('400 for bytes that are not an image, and for a truncated image', async () => {
      await expectError(await post(new TextEncoder().encode('hello, this is not an image'), { ...auth(), 'content-type': 'application/octet-stream' }), 400, 'invalid_image');
      const png = makePng();
      await expectError(await post(png.subarray(0, 60), { ...auth(), 'content-type': 'image/png' }), 400, 'invalid_image');
      const jpeg = tinyJpeg();
      await expectError(await post(jpeg.subarray(0, jpeg.length - 200), { ...auth(), 'content-type': 'image/jpeg' }), 400, 'invalid_image');
    });

    it('400 for multipart without an "image" file', async () => {
      const form = new FormData();
      form.append('picture', new File([makePng()], 'a.png', { type: 'image/png' }));
      await expectError(await app.request('/v1/classify', { method: 'POST', body: form, headers: auth() }, ENV), 400, 'invalid_argument');
      const text = new FormData();
      text.append('image', 'not a file');
      await expectError(await app.request('/v1/classify', { method: 'POST', body: text, headers: auth() }, ENV), 400, 'invalid_argument');
    });

    it('415 for an unsupported content type or image format', async () => {
      await expectError(await post(makePng(), { ...auth(), 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
      await expectError(await post(makePng(), { ...auth(), 'content-type': 'image/tiff' }), 415, 'unsupported_media_type');
      // What curl --data-binary sends by default: the message says how to fix it.
      const curlDefault = await expectError(await post(makePng(), { ...auth(), 'content-type': 'application/x-www-form-urlencoded' }), 415, 'unsupported_media_type');
      expect(curlDefault.error.message).toContain('Content-Type: image/jpeg');
      const tiff = new Uint8Array([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 0, 0]);
      await expectError(await post(tiff, { ...auth(), 'content-type': 'application/octet-stream' }), 415, 'unsupported_media_type');
    });

    it('413 when Content-Length declares more than MAX_BODY_BYTES', async () => {
      const res = await post(makePng(), { ...auth(), 'content-type': 'image/png', 'content-length': '999999999' });
      await expectError(res, 413, 'payload_too_large');
    });

    it('413 when a body without Content-Length streams past the limit', async () => {
      const chunk = new Uint8Array(64 * 1024);
      let sent = 0;
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          // Far more than the limit: the reader must stop early, not buffer it all.
          if (sent >= 50) controller.close();
          else {
            sent++;
            controller.enqueue(chunk);
          }
        },
      });
      const res = await post(stream, { ...auth(), 'content-type': 'image/png' });
      await expectError(res, 413, 'payload_too_large');
      expect(sent).toBeLessThan(50);
    });

    it('413 when the body is larger than its (lying) Content-Length says', async () => {
      const big = new Uint8Array(300_000);
      big.set(makePng());
      const req = new Request('http://x/v1/classify', { method: 'POST', body: big, headers: { ...auth(), 'content-type': 'image/png', 'content-length': '100' } });
      await expectError(await app.request(req, undefined, ENV), 413, 'payload_too_large');
    });

    it('413 uses the limit from MAX_BODY_BYTES', async () => {
      const png = makePng();
      await expectError(await post(png, { ...auth(), 'content-type': 'image/png' }, '', { ...ENV, MAX_BODY_BYTES: String(png.length - 1) }), 413, 'payload_too_large');
      expect((await post(png, { ...auth(), 'content-type': 'image/png' }, '', { ...ENV, MAX_BODY_BYTES: String(png.length) })).status).toBe(200);
    });

    it('422 for an image whose header declares more than MAX_IMAGE_PIXELS, before decoding', async () => {
      // 30000x30000 RGB would be 2.7 GB decoded; the header alone is 33 bytes.
      const res = await post(pngHeaderOnly(30000, 30000), { ...auth(), 'content-type': 'image/png' });
      const json = await expectError(res, 422, 'image_too_large');
      expect(json.error.message).toContain('30000x30000');
      // The limit comes from MAX_IMAGE_PIXELS: a real 40x30 PNG is over a 1000-pixel limit.
      await expectError(await post(makePng(40, 30), { ...auth(), 'content-type': 'image/png' }, '', { ...ENV, MAX_IMAGE_PIXELS: '1000' }), 422, 'image_too_large');
    });

    it('405 for GET on /v1/classify', async () => {
      const res = await app.request('/v1/classify', { method: 'GET', headers: auth() }, ENV);
      await expectError(res, 405, 'method_not_allowed');
      expect(res.headers.get('allow')).toBe('POST');
    });
  });
});
