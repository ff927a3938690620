import { describe, expect, it } from 'vitest';
import { ArtifactError, ModelMismatchError } from '../../src/core/errors.ts';
import { contentVersion, decodeLabelSet, encodeLabelSet, type LabelSetArtifact } from '../../src/core/labelset/artifact.ts';
import { l2Normalize } from '../../src/core/scoring.ts';
import { serializeSafetensors } from '../../src/core/safetensors.ts';

const SHA = 'a'.repeat(64);

function randomUnitRows(rows: number, dim: number, seed = 1): Float32Array {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  return l2Normalize(Float32Array.from({ length: rows * dim }, rnd), dim);
}

function sample(over: Partial<LabelSetArtifact> = {}): LabelSetArtifact {
  return {
    labels: ['cat', 'dog', 'ship'], modelId: 'tiny', modelSha256: SHA, logitScale: 14.33, method: 'zeroshot',
    templates: ['a photo of a {}.'], metrics: { accuracy: 0.5 }, createdAt: '2026-11-28T00:00:00Z', version: 'v1',
    classEmbeddings: randomUnitRows(3, 8), dim: 8, extra: {}, ...over,
  };
}

describe('LabelSetArtifact', () => {
  it('round-trips every field, F32 exactly and F16 approximately', () => {
    const a = sample({ method: 'coop', templates: undefined, ctx: { data: new Float32Array(4 * 8).fill(0.25), shape: [4, 8] }, extra: { n_ctx: '4', csc: 'false' } });
    const back = decodeLabelSet(encodeLabelSet(a), { dim: 8, modelSha256: SHA });
    expect(back.labels).toEqual(a.labels);
    expect(back.classEmbeddings).toEqual(a.classEmbeddings);
    expect(back.ctx?.shape).toEqual([4, 8]);
    expect(back.extra).toEqual({ n_ctx: '4', csc: 'false' });
    expect(back.metrics).toEqual({ accuracy: 0.5 });
    expect(back.method).toBe('coop');
    const half = decodeLabelSet(encodeLabelSet(sample(), { embeddingDtype: 'F16' }));
    for (let i = 0; i < 24; i++) expect(Math.abs(half.classEmbeddings[i]! - sample().classEmbeddings[i]!)).toBeLessThan(1e-3);
    expect(half.templates).toEqual(['a photo of a {}.']);
  });

  it('rejects another format, dimension, model, non-finite values and unnormalised rows', () => {
    const bytes = encodeLabelSet(sample());
    expect(() => decodeLabelSet(bytes, { dim: 16 })).toThrow(ModelMismatchError);
    expect(() => decodeLabelSet(bytes, { modelSha256: 'b'.repeat(64) })).toThrow(/Rebuild the label set/);
    const wrongFormat = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [1, 2], data: new Float32Array([1, 0]) } }, { format: 'other' });
    expect(() => decodeLabelSet(wrongFormat)).toThrow(/expected "prompt-edge\/labelset@1"/);
    const nan = sample().classEmbeddings.slice();
    nan[5] = Number.NaN;
    expect(() => encodeLabelSet(sample({ classEmbeddings: nan }))).toThrow(/non-finite/);
    // bypass the writer's own check to prove the reader checks too
    const meta = { format: 'prompt-edge/labelset@1', labels: '["a"]', model_id: 'm', model_sha256: SHA, logit_scale: '10', method: 'zeroshot', created_at: 'x', version: 'v' };
    const nanFile = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [1, 2], data: new Float32Array([Number.NaN, 1]) } }, meta);
    expect(() => decodeLabelSet(nanFile)).toThrow(ArtifactError);
    const unnorm = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [1, 2], data: new Float32Array([3, 4]) } }, meta);
    expect(() => decodeLabelSet(unnorm)).toThrow(/L2-normalised/);
    expect(() => decodeLabelSet(bytes.subarray(0, bytes.length - 10))).toThrow(/truncated/);
    expect(() => encodeLabelSet(sample({ labels: ['a', 'a', 'b'] }))).toThrow(/twice/);
  });

  it('derives a content version that ignores creation time', async () => {
    const a = sample();
    const v1 = await contentVersion(a.classEmbeddings, a.labels);
    expect(v1).toMatch(/^[0-9a-f]{12}$/);
    expect(await contentVersion(a.classEmbeddings.slice(), [...a.labels])).toBe(v1);
    expect(await contentVersion(a.classEmbeddings, ['x', 'y', 'z'])).not.toBe(v1);
  });
});

describe('LabelSetArtifact format 2 (heads)', () => {
  const meta = (bytes: Uint8Array) => {
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    return JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)))['__metadata__'] as Record<string, string>;
  };
  it('writes format 1 whenever the content fits it, so older workers keep reading it', () => {
    for (const method of ['zeroshot', 'ensemble', 'coop'] as const) expect(meta(encodeLabelSet(sample({ method })))['format']).toBe('prompt-edge/labelset@1');
    expect(meta(encodeLabelSet(sample({ method: 'kgcoop' })))['format']).toBe('prompt-edge/labelset@2');
  });
  it('reads a format-1 file written before format 2 existed (no head key)', () => {
    const rows = randomUnitRows(3, 8);
    const legacy = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [3, 8], data: rows } }, {
      format: 'prompt-edge/labelset@1', labels: '["cat","dog","ship"]', model_id: 'tiny', model_sha256: SHA, logit_scale: '14.33',
      method: 'coop', metrics: '{}', created_at: 'now', version: 'v0',
    });
    const a = decodeLabelSet(legacy, { dim: 8, modelSha256: SHA });
    expect(a.head).toBeUndefined();
    expect(a.classEmbeddings).toEqual(rows);
  });
  it('round-trips a linear head: free (not unit) weights and a bias', () => {
    const w = randomUnitRows(3, 8).map((v) => v * 1.7);
    const a = sample({ method: 'linear-zs', classEmbeddings: w, head: { kind: 'linear', bias: Float32Array.from([0.1, -0.2, 0.05]) } });
    const bytes = encodeLabelSet(a);
    expect(meta(bytes)).toMatchObject({ format: 'prompt-edge/labelset@2', head: 'linear' });
    const back = decodeLabelSet(bytes, { dim: 8, modelSha256: SHA });
    expect(back.classEmbeddings).toEqual(w);
    expect(back.head).toEqual(a.head);
    // Format 2 still requires unit rows for cosine heads.
    expect(() => decodeLabelSet(encodeLabelSet({ ...a, head: { kind: 'linear' } }).slice(), { dim: 8 })).not.toThrow();
    expect(() => encodeLabelSet(sample({ method: 'kgcoop', classEmbeddings: w }))).toThrow(/L2-normalised/);
  });
  it('round-trips a Tip-Adapter cache, one-hot (class per key) and dense (soft values)', () => {
    const keys = randomUnitRows(6, 8, 7);
    for (const values of [{ kind: 'one-hot', classOf: Int32Array.from([0, 0, 1, 1, 2, 2]) }, { kind: 'dense', data: Float32Array.from({ length: 18 }, (_, i) => (i % 3) / 3) }] as const) {
      const a = sample({ method: 'tip-adapter-f', head: { kind: 'tip-adapter', keys, values, size: 6, alpha: 3.5, beta: 5.25 } });
      const back = decodeLabelSet(encodeLabelSet(a), { dim: 8, modelSha256: SHA });
      expect(back.head).toEqual(a.head);
      expect(back.method).toBe('tip-adapter-f');
    }
  });
  it('refuses broken heads and newer formats with messages that say what to do', () => {
    const keys = randomUnitRows(2, 8, 3);
    const good = encodeLabelSet(sample({ method: 'tip-adapter', head: { kind: 'tip-adapter', keys, values: { kind: 'one-hot', classOf: Int32Array.from([0, 5]) }, size: 2, alpha: 1, beta: 1 } }));
    expect(() => decodeLabelSet(good)).toThrow(/cache_classes holds class 5/);
    const rows = randomUnitRows(3, 8);
    const base = { labels: '["cat","dog","ship"]', model_id: 'tiny', model_sha256: SHA, logit_scale: '14', metrics: '{}', created_at: 'now', version: 'v' };
    const v3 = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [3, 8], data: rows } }, { ...base, format: 'prompt-edge/labelset@3', method: 'zeroshot' });
    expect(() => decodeLabelSet(v3)).toThrow(/newer than this prompt-edge reads.*Upgrade/);
    const v1WithNewMethod = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [3, 8], data: rows } }, { ...base, format: 'prompt-edge/labelset@1', method: 'linear-zs' });
    expect(() => decodeLabelSet(v1WithNewMethod)).toThrow(/not one of zeroshot, ensemble, coop/);
    const noKeys = serializeSafetensors({ class_embeddings: { dtype: 'F32', shape: [3, 8], data: rows } }, { ...base, format: 'prompt-edge/labelset@2', method: 'tip-adapter', head: 'tip-adapter' });
    expect(() => decodeLabelSet(noKeys)).toThrow(/cache_keys/);
    const wrongDim = encodeLabelSet(sample({ method: 'linear-zs', head: { kind: 'linear' } }));
    expect(() => decodeLabelSet(wrongDim, { dim: 16 })).toThrow(ModelMismatchError);
  });
});
