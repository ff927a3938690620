/**
 * The app wired for tests: the real bundled model and runtime, a key resolver with known keys, and
 * a label set built in-test (seeded random unit vectors, model_sha256 of the bundled ONNX).
 */
import type { Hono } from 'hono';
import { encodeLabelSet, type LabelSetArtifact } from '../../../src/core/labelset/artifact.ts';
import { createApp } from '../../../src/worker/app.ts';
import { StaticKeyResolver } from '../../../src/worker/auth/key-resolver.ts';
import type { Env } from '../../../src/worker/env.ts';
import { BundledLabelSetSource, type BundledLabelSet } from '../../../src/worker/labelsets/bundled-source.ts';
import { DEFAULT_MODEL, DEFAULT_RUNTIME_OPTIONS } from '../../../src/worker/vision/default-model.ts';
import { sha256Hex } from '../../../src/core/contract/sha256.ts';
import { mulberry32 } from '../../../src/core/random.ts';

export const TEST_KEY = 'test-key-demo-0123456789';
export const OTHER_TENANT_KEY = 'test-key-acme-9876543210';
export const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Seeded so that the test label sets are the same on every run. */
const rng = mulberry32;

export function randomUnitRows(rows: number, dim: number, seed = 1): Float32Array {
  const next = rng(seed);
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let i = 0; i < dim; i++) {
      const v = next() * 2 - 1;
      out[r * dim + i] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let i = 0; i < dim; i++) out[r * dim + i]! *= inv;
  }
  return out;
}

export async function makeLabelSetBytes(opts: { labels?: readonly string[]; classEmbeddings?: Float32Array; modelSha256?: string; version?: string; method?: LabelSetArtifact['method']; head?: LabelSetArtifact['head'] } = {}): Promise<Uint8Array> {
  const labels = opts.labels ?? CIFAR10;
  const artifact: LabelSetArtifact = {
    labels,
    modelId: DEFAULT_MODEL.id,
    modelSha256: opts.modelSha256 ?? (await sha256Hex(DEFAULT_MODEL.onnx)),
    logitScale: 14.33,
    method: opts.method ?? 'zeroshot',
    ...(opts.head ? { head: opts.head } : {}),
    templates: ['a photo of a {}.'],
    metrics: {},
    createdAt: '2026-01-01T00:00:00Z',
    version: opts.version ?? 'test-v1',
    classEmbeddings: opts.classEmbeddings ?? randomUnitRows(labels.length, DEFAULT_MODEL.dim),
    dim: DEFAULT_MODEL.dim,
    extra: {},
  };
  return encodeLabelSet(artifact);
}

/** The app without storage: keys and label sets fixed in memory (the storage-backed app: default-app.ts). */
export async function makeTestApp(extraLabelSets: readonly BundledLabelSet[] = []): Promise<Hono<{ Bindings: Env }>> {
  const source = new BundledLabelSetSource([{ tenant: 'demo', name: 'default', bytes: await makeLabelSetBytes(), version: 'test-v1' }, ...extraLabelSets]);
  return createApp({
    model: DEFAULT_MODEL,
    runtimeOptions: DEFAULT_RUNTIME_OPTIONS,
    labelSets: () => source,
    keys: () => new StaticKeyResolver([{ tenant: 'demo', key: TEST_KEY }, { tenant: 'acme', key: OTHER_TENANT_KEY }]),
  });
}

export const auth = (key = TEST_KEY): Record<string, string> => ({ authorization: `Bearer ${key}` });

export interface ErrorJson {
  error: { code: string; message: string };
}
