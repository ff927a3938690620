import { describe, expect, it } from 'vitest';
import { coopLearningRate, defaultEpochs, Sgd } from '../../src/train/coop/sgd.ts';
import { flipLabels, sampleFewShot } from '../../src/train/coop/trainer.ts';

describe('CoOp optimiser and schedule', () => {
  it('matches torch.optim.SGD(momentum=0.9, weight_decay=5e-4) step by step', () => {
    // Reference values computed by hand from PyTorch's update rule:
    // d = g + wd*p; buf = d (first) | 0.9*buf + d; p -= lr*buf
    const p = new Float32Array([1, -2]);
    const sgd = new Sgd({ lr: 0.1, momentum: 0.9, weightDecay: 5e-4 });
    sgd.step(p, new Float32Array([0.5, 0.25]), 0.1);
    expect(p[0]).toBeCloseTo(1 - 0.1 * (0.5 + 5e-4), 7);
    const buf0 = 0.5 + 5e-4;
    const p0 = 1 - 0.1 * buf0;
    sgd.step(p, new Float32Array([0.5, 0.25]), 0.1);
    expect(p[0]).toBeCloseTo(p0 - 0.1 * (0.9 * buf0 + 0.5 + 5e-4 * p0), 6);
  });
  it('warm-up epoch at 1e-5, then cosine over max_epoch', () => {
    expect(coopLearningRate(0, 50, 0.002)).toBe(1e-5);
    expect(coopLearningRate(1, 50, 0.002)).toBe(0.002);
    expect(coopLearningRate(2, 50, 0.002)).toBeCloseTo(0.5 * 0.002 * (1 + Math.cos(Math.PI / 50)), 12);
    expect(coopLearningRate(26, 50, 0.002)).toBeCloseTo(0.001, 12);
    expect(coopLearningRate(49, 50, 0.002)).toBeLessThan(2e-5);
    expect([1, 2, 4, 8, 16].map(defaultEpochs)).toEqual([50, 100, 100, 200, 200]);
  });
  it('samples K per class deterministically and refuses K above a class size', () => {
    const items = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, labelIndex: i % 2 }));
    const a = sampleFewShot(items, ['a', 'b'], 3, 7);
    expect(a).toEqual(sampleFewShot(items, ['a', 'b'], 3, 7));
    expect(a.filter((x) => x.labelIndex === 0)).toHaveLength(3);
    expect(sampleFewShot(items, ['a', 'b'], 3, 8)).not.toEqual(a);
    expect(() => sampleFewShot(items, ['a', 'b'], 11, 1)).toThrow(/--shots 11 is more than class "a" has \(10/);
  });
  it('flips exactly the requested fraction of labels to a different class', () => {
    const labels = Array.from({ length: 100 }, (_, i) => i % 10);
    const noisy = flipLabels(labels, 10, 0.3, 1);
    expect(noisy.filter((l, i) => l !== labels[i])).toHaveLength(30);
  });
});
