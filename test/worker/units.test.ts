import { describe, expect, it } from 'vitest';
import { generateApiKey, hashApiKey } from '../../src/core/contract/ids.ts';
import { constantTimeEqual, timingSafeEqualBytes } from '../../src/worker/auth/constant-time.ts';
import { bearerToken } from '../../src/worker/auth/bearer.ts';
import { StaticKeyResolver } from '../../src/worker/auth/key-resolver.ts';
import { DEFAULT_CURRENT_VERSION_TTL_MS, DEFAULT_MAX_ARTIFACT_BYTES, DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, readLimits } from '../../src/worker/env.ts';
import { HttpError } from '../../src/worker/http/errors.ts';
import { BundledLabelSetSource } from '../../src/worker/labelsets/bundled-source.ts';
import { LabelSetRegistry } from '../../src/worker/labelsets/registry.ts';
import type { LabelSetSource } from '../../src/worker/labelsets/source.ts';
import { lazy } from '../../src/worker/runtime/lazy.ts';
import { makeLabelSetBytes } from './helpers/test-app.ts';
import { DEFAULT_MODEL } from '../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../src/core/contract/sha256.ts';
import { ImageTooLargeError } from '../../src/core/errors.ts';
import { decodePixelLimit } from '../../src/worker/classify/classifier.ts';
import { imagePixelBudget, MIN_IMAGE_PIXELS } from '../../src/worker/vision/memory-budget.ts';

describe('lazy', () => {
  it('shares one in-flight load between concurrent callers', async () => {
    let calls = 0;
    const value = lazy(async () => {
      calls++;
      await new Promise((r) => setTimeout(r, 5));
      return { n: calls };
    });
    const [a, b] = await Promise.all([value.get(), value.get()]);
    expect(a).toBe(b);
    expect(await value.get()).toBe(a);
    expect(calls).toBe(1);
    expect(value.loaded).toBe(true);
  });

  it('forgets a failed load so the next call retries', async () => {
    let calls = 0;
    const value = lazy(async () => {
      if (++calls === 1) throw new Error('transient');
      return 'ok';
    });
    await expect(value.get()).rejects.toThrow('transient');
    expect(value.loaded).toBe(false);
    expect(await value.get()).toBe('ok');
    expect(calls).toBe(2);
  });
});

describe('keys', () => {
  it('constantTimeEqual compares exactly', async () => {
    expect(await constantTimeEqual('abc', 'abc')).toBe(true);
    expect(await constantTimeEqual('abc', 'abd')).toBe(false);
    expect(await constantTimeEqual('abc', 'abcd')).toBe(false);
    expect(await constantTimeEqual('', '')).toBe(true);
  });

  it('StaticKeyResolver maps each key to its tenant and ignores empty keys', async () => {
    const r = new StaticKeyResolver([{ tenant: 'demo', key: 'k1' }, { tenant: 'acme', key: 'k2', tier: 'pro' }, { tenant: 'ghost', key: '' }]);
    expect(await r.resolve('k1')).toEqual({ tenant: 'demo' });
    expect(await r.resolve('k2')).toEqual({ tenant: 'acme', tier: 'pro' });
    expect(await r.resolve('k3')).toBeNull();
    expect(await r.resolve('')).toBeNull();
  });

  it('generateApiKey: "pe_" + 192 random bits, never the same twice; hashApiKey is SHA-256 hex', async () => {
    const keys = new Set(Array.from({ length: 50 }, () => generateApiKey()));
    expect(keys.size).toBe(50);
    for (const k of keys) expect(k).toMatch(/^pe_[0-9a-f]{48}$/);
    // SHA-256("abc"), the FIPS 180-2 test vector.
    expect(await hashApiKey('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('timingSafeEqualBytes compares exactly, unequal lengths are unequal', () => {
    expect(timingSafeEqualBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3]))).toBe(true);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 4]))).toBe(false);
    expect(timingSafeEqualBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 3]))).toBe(false);
  });

  it('bearerToken parses "Bearer <key>" only', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   xyz  ')).toBe('xyz');
    for (const bad of [null, '', 'abc', 'Bearer', 'Bearer a b', 'Basic abc']) expect(() => bearerToken(bad)).toThrow(HttpError);
  });
});

describe('readLimits', () => {
  it('parses the vars and falls back to the defaults on missing or malformed values', () => {
    expect(readLimits({ MAX_BODY_BYTES: '1234', MAX_IMAGE_PIXELS: '99', MAX_ARTIFACT_BYTES: '5000', CURRENT_VERSION_TTL_MS: '0' })).toEqual({
      maxBodyBytes: 1234,
      maxImagePixels: 99,
      maxArtifactBytes: 5000,
      currentVersionTtlMs: 0,
    });
    const defaults = {
      maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
      maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
      maxArtifactBytes: DEFAULT_MAX_ARTIFACT_BYTES,
      currentVersionTtlMs: DEFAULT_CURRENT_VERSION_TTL_MS,
    };
    expect(readLimits({})).toEqual(defaults);
    expect(readLimits({ MAX_BODY_BYTES: '-5', MAX_IMAGE_PIXELS: '1e6', MAX_ARTIFACT_BYTES: 'big', CURRENT_VERSION_TTL_MS: '-1' })).toEqual(defaults);
    expect(readLimits({ MAX_BODY_BYTES: '0', MAX_IMAGE_PIXELS: 'lots', MAX_ARTIFACT_BYTES: '0', CURRENT_VERSION_TTL_MS: '5s' })).toEqual(defaults);
  });
});

describe('LabelSetRegistry', () => {
  const expectations = async () => ({ dim: DEFAULT_MODEL.dim, modelSha256: await sha256Hex(DEFAULT_MODEL.onnx) });
  const ref = { tenant: 'demo', name: 'default' };

  /** An in-memory source whose current version tests can move, counting what the registry asks. */
  interface Movable {
    current: string | null;
    lookups: number;
    fetches: number;
    source: LabelSetSource;
  }
  function movableSource(versions: Record<string, Uint8Array>, current: string | null): Movable {
    const s: Movable = {
      current,
      lookups: 0,
      fetches: 0,
      source: {
        currentVersion: async (r) => (s.lookups++, r.tenant === 'demo' && r.name === 'default' ? s.current : null),
        fetch: async (_r, v) => (s.fetches++, versions[v] ?? null),
      },
    };
    return s;
  }

  it('decodes each version once and serves the same artifact afterwards', async () => {
    const s = movableSource({ '1': await makeLabelSetBytes() }, '1');
    const registry = new LabelSetRegistry(expectations);
    const [a, b] = await Promise.all([registry.get(s.source, ref, 60_000), registry.get(s.source, ref, 60_000)]);
    expect(a.artifact).toBe(b.artifact);
    expect(a.version).toBe('1');
    expect((await registry.get(s.source, ref, 60_000)).artifact).toBe(a.artifact);
    expect(s.fetches).toBe(1);
    expect(s.lookups).toBe(1);
  });

  it('trusts the current version for the TTL only, and never caches a miss', async () => {
    let now = 1000;
    const s = movableSource({ '1': await makeLabelSetBytes({ version: 'a' }), '2': await makeLabelSetBytes({ version: 'b' }) }, null);
    const registry = new LabelSetRegistry(expectations, { now: () => now });
    await expect(registry.get(s.source, ref, 5000)).rejects.toMatchObject({ code: 'labelset_not_found' });
    s.current = '1';
    expect((await registry.get(s.source, ref, 5000)).version).toBe('1');
    s.current = '2';
    now += 4999;
    expect((await registry.get(s.source, ref, 5000)).version).toBe('1');
    now += 1;
    const v2 = await registry.get(s.source, ref, 5000);
    expect([v2.version, v2.artifact.version]).toEqual(['2', 'b']);
    // A TTL of 0 asks the source every time.
    const lookups = s.lookups;
    await registry.get(s.source, ref, 0);
    await registry.get(s.source, ref, 0);
    expect(s.lookups).toBe(lookups + 2);
  });

  it('keeps tenants apart', async () => {
    const s = movableSource({ '1': await makeLabelSetBytes() }, '1');
    const registry = new LabelSetRegistry(expectations);
    await expect(registry.get(s.source, { tenant: 'acme', name: 'default' }, 5000)).rejects.toMatchObject({ code: 'labelset_not_found' });
    expect((await registry.get(s.source, ref, 5000)).version).toBe('1');
  });

  it('evicts least recently used label sets past its byte budget', async () => {
    const bytes = await makeLabelSetBytes();
    const s = movableSource({ '1': bytes, '2': bytes, '3': bytes }, '1');
    // One label set is 10 x dim floats; the budget holds two.
    const one = 10 * DEFAULT_MODEL.dim * 4 + 200;
    const registry = new LabelSetRegistry(expectations, { maxCachedBytes: 2 * one });
    for (const v of ['1', '2', '3']) {
      s.current = v;
      await registry.get(s.source, ref, 0);
    }
    expect(registry.size).toBe(2);
    const fetches = s.fetches;
    await registry.get(s.source, ref, 0); // "3" is cached
    expect(s.fetches).toBe(fetches);
    s.current = '1';
    await registry.get(s.source, ref, 0); // "1" was evicted
    expect(s.fetches).toBe(fetches + 1);
  });

  it('refuses a label set built for another model', async () => {
    const bytes = await makeLabelSetBytes({ modelSha256: 'ab'.repeat(32) });
    const registry = new LabelSetRegistry(expectations);
    await expect(registry.get(new BundledLabelSetSource([{ tenant: 'demo', name: 'default', bytes }]), ref, 5000)).rejects.toMatchObject({ code: 'model_mismatch' });
  });
});

describe('the image pixel budget beside the encoder', () => {
  const encoder = (wasmMemoryBytes: number | null) => ({ imageSize: 224, status: { engine: 'edge-vit' as const, relaxedSimd: true, wasmMemoryBytes } });

  it('leaves ViT-B/32 on edge-vit (91.4 MB of WASM) about 1.4 megapixels, the default model on onnxruntime-web its 6 MP', () => {
    expect(imagePixelBudget(91_422_720)).toBe(1_414_290);
    expect(imagePixelBudget(20_185_088)).toBeGreaterThan(DEFAULT_MAX_IMAGE_PIXELS);
    expect(imagePixelBudget(null)).toBeNull();
    expect(imagePixelBudget(127_000_000)).toBe(MIN_IMAGE_PIXELS); // never below a 640x480 photo
  });

  it("refuses a larger image with image_too_large saying what fits; passes one that fits", () => {
    // The decoders are then held to the lower limit; a deployment limit below the budget stays.
    expect(decodePixelLimit({ width: 1280, height: 960 }, encoder(91_422_720), DEFAULT_MAX_IMAGE_PIXELS)).toBe(1_414_290);
    expect(decodePixelLimit({ width: 1280, height: 960 }, encoder(91_422_720), 1_000_000)).toBe(1_000_000);
    expect(decodePixelLimit({ width: 2000, height: 1500 }, encoder(null), DEFAULT_MAX_IMAGE_PIXELS)).toBe(DEFAULT_MAX_IMAGE_PIXELS);
    let err: unknown;
    try {
      decodePixelLimit({ width: 2000, height: 1500 }, encoder(91_422_720), DEFAULT_MAX_IMAGE_PIXELS);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ImageTooLargeError);
    expect((err as ImageTooLargeError).code).toBe('image_too_large');
    expect((err as Error).message).toMatch(/at most 1414290 pixels \(e\.g\. \d+x\d+\).*87 MiB.*Downscale/);
  });
});
