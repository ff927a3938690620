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
