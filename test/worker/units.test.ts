import { describe, expect, it } from 'vitest';
import { keyResolverFromEnv } from '../../src/worker/auth/env-keys.ts';
import { constantTimeEqual } from '../../src/worker/auth/constant-time.ts';
import { bearerToken } from '../../src/worker/auth/bearer.ts';
import { StaticKeyResolver } from '../../src/worker/auth/key-resolver.ts';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_IMAGE_PIXELS, readLimits } from '../../src/worker/env.ts';
import { HttpError } from '../../src/worker/http/errors.ts';
import { BundledLabelSetSource } from '../../src/worker/labelsets/bundled-source.ts';
import { LabelSetRegistry } from '../../src/worker/labelsets/registry.ts';
import type { LabelSetSource } from '../../src/worker/labelsets/source.ts';
import { lazy } from '../../src/worker/runtime/lazy.ts';
import { makeLabelSetBytes } from './helpers/test-app.ts';
import { DEFAULT_MODEL } from '../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../src/worker/vision/model.ts';

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
    const r = new StaticKeyResolver([{ tenant: 'demo', key: 'k1' }, { tenant: 'acme', key: 'k2' }, { tenant: 'ghost', key: '' }]);
    expect(await r.resolve('k1')).toBe('demo');
    expect(await r.resolve('k2')).toBe('acme');
    expect(await r.resolve('k3')).toBeNull();
    expect(await r.resolve('')).toBeNull();
  });

  it('keyResolverFromEnv gives demo the DEMO_API_KEY, and nobody a key when it is unset', async () => {
    expect(await keyResolverFromEnv({ DEMO_API_KEY: 's3cret' }).resolve('s3cret')).toBe('demo');
    expect(await keyResolverFromEnv({}).resolve('')).toBeNull();
    expect(await keyResolverFromEnv({ DEMO_API_KEY: '' }).resolve('')).toBeNull();
  });

  it('bearerToken parses "Bearer <key>" only', () => {
    expect(bearerToken('Bearer abc.def')).toBe('abc.def');
    expect(bearerToken('bearer   xyz  ')).toBe('xyz');
    for (const bad of [null, '', 'abc', 'Bearer', 'Bearer a b', 'Basic abc']) expect(() => bearerToken(bad)).toThrow(HttpError);
  });
});

describe('readLimits', () => {
  it('parses the vars and falls back to the defaults on missing or malformed values', () => {
    expect(readLimits({ MAX_BODY_BYTES: '1234', MAX_IMAGE_PIXELS: '99' })).toEqual({ maxBodyBytes: 1234, maxImagePixels: 99 });
    const defaults = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES, maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS };
    expect(readLimits({})).toEqual(defaults);
    expect(readLimits({ MAX_BODY_BYTES: '-5', MAX_IMAGE_PIXELS: '1e6' })).toEqual(defaults);
    expect(readLimits({ MAX_BODY_BYTES: '0', MAX_IMAGE_PIXELS: 'lots' })).toEqual(defaults);
  });
});

describe('LabelSetRegistry', () => {
  const expectations = async () => ({ dim: DEFAULT_MODEL.dim, modelSha256: await sha256Hex(DEFAULT_MODEL.onnx) });

  it('decodes once and serves the same artifact afterwards', async () => {
    let fetches = 0;
    const inner = new BundledLabelSetSource([{ tenant: 'demo', name: 'default', bytes: await makeLabelSetBytes() }]);
    const source: LabelSetSource = { fetch: (ref) => (fetches++, inner.fetch(ref)) };
    const registry = new LabelSetRegistry(source, expectations);
    const [a, b] = await Promise.all([registry.get({ tenant: 'demo', name: 'default' }), registry.get({ tenant: 'demo', name: 'default' })]);
    expect(a).toBe(b);
    expect(await registry.get({ tenant: 'demo', name: 'default' })).toBe(a);
    expect(fetches).toBe(1);
  });

  it('keeps tenants apart and does not cache a miss', async () => {
    const entries: { tenant: string; name: string; bytes: Uint8Array }[] = [];
    const registry = new LabelSetRegistry({ fetch: async (ref) => entries.find((e) => e.tenant === ref.tenant && e.name === ref.name)?.bytes ?? null }, expectations);
    await expect(registry.get({ tenant: 'acme', name: 'default' })).rejects.toMatchObject({ code: 'not_found' });
    entries.push({ tenant: 'acme', name: 'default', bytes: await makeLabelSetBytes({ version: 'acme-1' }) });
    expect((await registry.get({ tenant: 'acme', name: 'default' })).version).toBe('acme-1');
    await expect(registry.get({ tenant: 'demo', name: 'default' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('refuses a label set built for another model', async () => {
    const bytes = await makeLabelSetBytes({ modelSha256: 'ab'.repeat(32) });
    const registry = new LabelSetRegistry(new BundledLabelSetSource([{ tenant: 'demo', name: 'default', bytes }]), expectations);
    await expect(registry.get({ tenant: 'demo', name: 'default' })).rejects.toMatchObject({ code: 'model_mismatch' });
  });
});
