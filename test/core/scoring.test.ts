import { describe, expect, it } from 'vitest';
import { argmax, classifyEmbedding, cosineScores, l2Normalize, softmax, topK } from '../../src/core/scoring.ts';

describe('scoring', () => {
  it('normalises rows and computes cosines', () => {
    const rows = l2Normalize(new Float32Array([3, 4, 0, 2]), 2);
    expect(Array.from(rows)).toEqual([0.6000000238418579, 0.800000011920929, 0, 1]);
    expect(Array.from(cosineScores(new Float32Array([0, 1]), rows, 2))).toEqual([0.800000011920929, 1]);
  });
  it('softmax is stable and sums to 1', () => {
    const p = softmax(new Float32Array([1000, 1000, 999]), 1);
    expect(p[0]).toBeCloseTo(p[1]!, 12);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[2]! / p[0]!).toBeCloseTo(Math.exp(-1), 10);
  });
  it('classifies with logit scale and returns sorted top-k', () => {
    const classes = l2Normalize(new Float32Array([1, 0, 0, 1, 1, 1]), 2);
    const r = classifyEmbedding(new Float32Array([10, 1]), classes, ['x', 'y', 'd'], 100, 2);
    expect(r.predicted).toBe(0);
    expect(r.top.map((t) => t.label)).toEqual(['x', 'd']);
    expect(r.top[0]!.score).toBeGreaterThan(r.top[1]!.score);
    expect(topK([0.2, 0.5, 0.3], ['a', 'b', 'c'], 10).map((t) => t.label)).toEqual(['b', 'c', 'a']);
    expect(argmax([1, 3, 3])).toBe(1);
  });
});
