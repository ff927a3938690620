/**
 * The storage-backed app (default-app.ts) against the test's real local R2 bucket and KV namespace
 * (miniflare, from wrangler.toml; storage is isolated per test file), plus small request helpers.
 */
import { env as testEnv } from 'cloudflare:test';
import type { Hono } from 'hono';
import { parseSafetensors, serializeSafetensors, tensorToFloat32 } from '../../../src/core/safetensors.ts';
import { createDefaultApp } from '../../../src/worker/default-app.ts';
import type { Env } from '../../../src/worker/env.ts';
import { makePng } from './images.ts';
import { makeLabelSetBytes } from './test-app.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
export const DEMO_KEY = 'test-demo-key-0123456789abcdef';

/** wrangler.toml's bindings and vars with test secrets (never the developer's .dev.vars values). */
export function storageEnv(overrides: Partial<Env> = {}): Env {
  return { ...(testEnv as unknown as Env), ADMIN_TOKEN, DEMO_API_KEY: DEMO_KEY, CURRENT_VERSION_TTL_MS: '0', ...overrides };
}

export function bindings(): { bucket: R2Bucket; kv: KVNamespace } {
  const e = storageEnv();
  return { bucket: e.LABELSETS!, kv: e.REGISTRY! };
}

export interface Api {
  app: Hono<{ Bindings: Env }>;
  env: Env;
  call(method: string, path: string, opts?: { token?: string | null; json?: unknown; bytes?: Uint8Array; contentType?: string }): Promise<Response>;
  /** Admin call that must succeed with `status`; returns the JSON body. */
  admin<T = Record<string, unknown>>(method: string, path: string, opts?: { json?: unknown; bytes?: Uint8Array }, status?: number): Promise<T>;
  createTenant(tenant: string): Promise<string>;
  publish(tenant: string, name: string, bytes: Uint8Array): Promise<{ version: string; labels: string[] }>;
  classify(key: string, labelset?: string): Promise<Response>;
}

export function makeApi(envOverrides: Partial<Env> = {}, app: Hono<{ Bindings: Env }> = createDefaultApp()): Api {
  const env = storageEnv(envOverrides);
  const api: Api = {
    app,
    env,
    async call(method, path, opts = {}) {
      const headers: Record<string, string> = {};
      const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
      if (token !== null) headers['authorization'] = `Bearer ${token}`;
      let body: BodyInit | undefined;
      if (opts.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(opts.json);
      } else if (opts.bytes !== undefined) {
        headers['content-type'] = opts.contentType ?? 'application/octet-stream';
        body = opts.bytes as Uint8Array<ArrayBuffer>;
      }
      return app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) }, env);
    },
    async admin(method, path, opts = {}, status = 200) {
      const res = await api.call(method, path, opts);
      const text = await res.text();
      if (res.status !== status) throw new Error(`${method} ${path}: expected ${status}, got ${res.status}: ${text}`);
      return JSON.parse(text);
    },
    async createTenant(tenant) {
      return (await api.admin<{ key: string }>('POST', '/v1/admin/tenants', { json: { tenant } }, 201)).key;
    },
    async publish(tenant, name, bytes) {
      return api.admin('PUT', `/v1/admin/tenants/${tenant}/labelsets/${name}`, { bytes }, 201);
    },
    classify(key, labelset) {
      return api.call('POST', `/v1/classify?top_k=20${labelset ? `&labelset=${labelset}` : ''}`, { token: key, bytes: makePng(), contentType: 'image/png' });
    },
  };
  return api;
}

/** A valid label set with these labels (distinct label lists tell versions apart in classify answers). */
export function labelSet(labels: readonly string[], seed = 1): Promise<Uint8Array> {
  return makeLabelSetBytes({ labels, version: `content-${labels.join('-')}-${seed}` });
}

/** Rewrites the class embeddings of a valid label set, keeping its metadata (e.g. to plant a NaN). */
export async function withEmbeddings(labels: readonly string[], edit: (rows: Float32Array) => void): Promise<Uint8Array> {
  const file = parseSafetensors(await labelSet(labels), 'test');
  const t = file.tensors.get('class_embeddings')!;
  const rows = tensorToFloat32(t);
  edit(rows);
  return serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: t.shape, data: rows } }, file.metadata);
}

/** Every R2 key and KV key that mentions the tenant, for "nothing was stored" checks. */
export async function storedFor(tenant: string): Promise<{ r2: string[]; kv: string[] }> {
  const { bucket, kv } = bindings();
  const r2 = [...(await bucket.list({ prefix: `labelsets/${tenant}/` })).objects, ...(await bucket.list({ prefix: `registry/labelsets/${tenant}/` })).objects].map((o) => o.key);
  const kvKeys = (await kv.list({ prefix: `labelset:${tenant}:` })).keys.map((k) => k.name);
  return { r2, kv: kvKeys };
}

export interface ClassifyJson {
  labels: { label: string; score: number }[];
  labelset: { tenant: string; name: string; version: string };
}
