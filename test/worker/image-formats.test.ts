/**
 * Every accepted image format through the real classify route (workerd, the bundled WASM decoders):
 * the same picture as PNG, BMP, GIF, WebP, AVIF, CMYK JPEG and an EXIF-rotated JPEG gets the same top
 * label; and a few hundred mutated files of every format never produce a 5xx.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Hono } from 'hono';
import type { Env } from '../../src/worker/env.ts';
import samePicture from '../fixtures/image/same-picture.json';
import formats from '../fixtures/image/formats.json';
import { instantiatedImageCodecs } from '../../src/core/image/decode.ts';
import { BUNDLED_LABEL_SETS } from '../../src/worker/labelsets/catalog.ts';
import { auth, makeTestApp, type ErrorJson } from './helpers/test-app.ts';

interface ClassifyJson {
  labels: { label: string; score: number }[];
}

const ENV: Env = { MAX_BODY_BYTES: '200000', MAX_IMAGE_PIXELS: '1000000' };
let app: Hono<{ Bindings: Env }>;

beforeAll(async () => {
  // The trained CIFAR-10 label set shipped with the worker (the test app's default one is random), under its own name.
  const bundled = BUNDLED_LABEL_SETS.find((l) => l.tenant === 'demo' && l.name === 'default');
  if (!bundled) throw new Error('the worker bundles no demo/default label set');
  app = await makeTestApp([{ tenant: 'demo', name: 'cifar10', bytes: bundled.bytes, version: 'bundled' }]);
});

const fromBase64 = (b64: string): Uint8Array<ArrayBuffer> => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

function post(body: Uint8Array<ArrayBuffer>, query = ''): Promise<Response> {
  return Promise.resolve(app.request(`/v1/classify${query}`, { method: 'POST', body, headers: { ...auth(), 'content-type': 'application/octet-stream' } }, ENV));
}

async function topLabel(body: Uint8Array<ArrayBuffer>, query = ''): Promise<string> {
  const res = await post(body, query);
  const json = (await res.json()) as ClassifyJson & ErrorJson;
  expect(res.status, JSON.stringify(json)).toBe(200);
  return json.labels[0]!.label;
}

// First in the file: nothing has asked for WebP or AVIF yet in this isolate.
describe('lazily instantiated decoders', () => {
  it('JPEG, PNG, GIF and BMP requests leave the WebP and AVIF decoders uninstantiated; the first WebP instantiates only its own', async () => {
    const files = samePicture.pictures[0]!.files as Record<string, string>;
    for (const f of ['jpeg-exif6', 'png', 'gif', 'bmp', 'jpeg-cmyk']) await topLabel(fromBase64(files[f] as string));
    expect(instantiatedImageCodecs()).toEqual({ webp: false, avif: false });
    await topLabel(fromBase64(files['webp-lossy'] as string));
    expect(instantiatedImageCodecs()).toEqual({ webp: true, avif: false });
  });
});

describe('one picture in every format', () => {
  it.each(samePicture.pictures.map((p) => [p.source, p] as const))('%s: every format gets the PNG\'s top label', async (_source, picture) => {
    const files = picture.files as Record<string, string>;
    const expected = await topLabel(fromBase64(files['png'] as string), '?labelset=cifar10');
    const got: Record<string, string> = {};
    for (const [format, b64] of Object.entries(files)) got[format] = await topLabel(fromBase64(b64), '?labelset=cifar10');
    expect(got).toEqual(Object.fromEntries(Object.keys(files).map((f) => [f, expected])));
    // The rotated JPEG is also accepted as stored; an unknown mode is a 400 that names the choices.
    await topLabel(fromBase64(files['jpeg-exif6'] as string), '?labelset=cifar10&exif=ignore');
    const bad = await post(fromBase64(files['png'] as string), '?exif=sideways');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorJson).error.message).toMatch(/apply.*ignore/);
  });
});

/** xorshift32: the route fuzz is reproducible without a dependency inside workerd. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function mutate(source: Uint8Array, next: () => number): Uint8Array<ArrayBuffer> {
  let b = new Uint8Array(source);
  const n = 1 + (next() % 4);
  for (let k = 0; k < n && b.length > 0; k++) {
    // Half the edits land in the first 64 bytes, where the header fields live.
    const at = next() % 2 === 0 ? next() % Math.min(64, b.length) : next() % b.length;
    switch (next() % 4) {
      case 0:
        b[at] = (b[at] as number) ^ (1 << (next() % 8));
        break;
      case 1:
        b[at] = [0, 0xff, 0x7f, 0x80][next() % 4] as number;
        break;
      case 2:
        b = b.slice(0, at);
        break;
      default:
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + 1 + (next() % 32))]);
    }
  }
  return b;
}

describe('mutated files of every format through POST /v1/classify', () => {
  const ROUTE_FUZZ_INPUTS = 300;
  it(`${ROUTE_FUZZ_INPUTS} inputs (seed 11): only 200 or a 4xx JSON error, never a 5xx`, async () => {
    const sources = [...formats.cases.map((c) => c.file), ...formats.exif.map((c) => c.file)].map(fromBase64);
    const next = rng(11);
    const statuses = new Map<number, number>();
    for (let i = 0; i < ROUTE_FUZZ_INPUTS; i++) {
      const body = mutate(sources[next() % sources.length] as Uint8Array, next);
      const res = await post(body);
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      const json = (await res.json()) as ClassifyJson & ErrorJson;
      if (res.status !== 200) {
        expect(res.status, `input ${i}: ${json.error?.code} ${json.error?.message}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `input ${i}: ${json.error?.code} ${json.error?.message}`).toBeLessThan(500);
        expect(typeof json.error.code).toBe('string');
      }
    }
    console.log(`route fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    // Both outcomes occur: the mutations are neither all harmless nor all fatal.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    expect([...statuses.keys()].some((s) => s >= 400)).toBe(true);
  });
});
