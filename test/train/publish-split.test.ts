import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/core/errors.ts';
import type { ImageFolder } from '../../src/train/data/image-folder.ts';
import { baselineGate, BelowBaselineError } from '../../src/train/publish/baseline-gate.ts';
import { effectiveShots, splitHeldOut } from '../../src/train/publish/held-out.ts';

function folder(counts: Record<string, number>): ImageFolder {
  const labels = Object.keys(counts).sort();
  const items = labels.flatMap((l, c) => Array.from({ length: counts[l]! }, (_, i) => ({ path: `/d/${l}/${String(i).padStart(4, '0')}.jpg`, labelIndex: c })));
  return { root: '/d', labels, items };
}

describe('held-out split', () => {
  it('holds out 20% per class, deterministically, disjoint from the training pool', () => {
    const f = folder({ cat: 100, dog: 100, owl: 100 });
    const a = splitHeldOut(f, { requestedShots: 16, seed: 1 });
    const b = splitHeldOut(f, { requestedShots: 16, seed: 1 });
    expect(a).toEqual(b);
    expect(a.shots).toBe(16);
    expect(a.perClass).toEqual([
      { label: 'cat', total: 100, heldOut: 20, pool: 80 },
      { label: 'dog', total: 100, heldOut: 20, pool: 80 },
      { label: 'owl', total: 100, heldOut: 20, pool: 80 },
    ]);
    expect(a.heldOut.items).toHaveLength(60);
    expect(a.pool.items).toHaveLength(240);
    const held = new Set(a.heldOut.items.map((i) => i.path));
    expect(a.pool.items.some((i) => held.has(i.path))).toBe(false);
    expect(new Set([...held, ...a.pool.items.map((i) => i.path)]).size).toBe(300);
    // Labels stay with their files.
    for (const it of a.heldOut.items) expect(it.path.startsWith(`/d/${f.labels[it.labelIndex]}/`)).toBe(true);
    // Not simply the first files of each class.
    expect(a.heldOut.items.filter((i) => i.labelIndex === 0).map((i) => i.path)).not.toEqual(f.items.slice(0, 20).map((i) => i.path));
    expect(a.description).toContain('held out 20 of 100 images per class');
  });

  it('another seed holds out other images', () => {
    const f = folder({ cat: 50, dog: 50 });
    const a = splitHeldOut(f, { requestedShots: 4, seed: 1 }).heldOut.items.map((i) => i.path);
    const b = splitHeldOut(f, { requestedShots: 4, seed: 2 }).heldOut.items.map((i) => i.path);
    expect(a).not.toEqual(b);
  });

  it('holds out at least 1 per class and always leaves K for training', () => {
    const s = splitHeldOut(folder({ a: 3, b: 10, c: 40 }), { requestedShots: 2, seed: 0 });
    expect(s.shots).toBe(2);
    expect(s.perClass.map((p) => [p.label, p.heldOut, p.pool])).toEqual([['a', 1, 2], ['b', 2, 8], ['c', 8, 32]]);
    // 20% of 10 would be 2, but K=9 must stay: only 1 held out.
    const tight = splitHeldOut(folder({ a: 10, b: 10 }), { requestedShots: 9, seed: 0 });
    expect(tight.perClass.map((p) => p.heldOut)).toEqual([1, 1]);
    expect(tight.perClass.every((p) => p.pool >= tight.shots)).toBe(true);
  });

  it('caps --shots so every class keeps a held-out image, and says so', () => {
    const s = splitHeldOut(folder({ a: 5, b: 30 }), { requestedShots: 16, seed: 0 });
    expect(s.shots).toBe(4);
    expect(s.requestedShots).toBe(16);
    expect(s.perClass[0]).toEqual({ label: 'a', total: 5, heldOut: 1, pool: 4 });
    expect(s.description).toContain('--shots 16 capped to 4');
    expect(s.description).toContain('a 1/5');
  });

  it('refuses a class with a single image, naming it', () => {
    expect(() => splitHeldOut(folder({ a: 1, b: 30 }), { requestedShots: 4, seed: 0 })).toThrow(DataError);
    expect(() => splitHeldOut(folder({ a: 1, b: 30 }), { requestedShots: 4, seed: 0 })).toThrow(/class "a" has only 1 image.*--eval-data/);
  });

  it('with separate eval data the cap is just the smallest class', () => {
    expect(effectiveShots(16, folder({ a: 5, b: 30 }), 0)).toBe(5);
    expect(effectiveShots(4, folder({ a: 5, b: 30 }), 0)).toBe(4);
  });
});

describe('publish gate (refuse CoOp below the zero-shot baseline)', () => {
  it('refuses a CoOp label set below the baseline, with both accuracies and the override', () => {
    const d = baselineGate({ method: 'coop', accuracy: 0.5, zeroshotAccuracy: 0.62, evalN: 200, force: false });
    expect(d.publish).toBe(false);
    expect(d.belowBaseline).toBe(true);
    expect(d.message).toContain('50.00%');
    expect(d.message).toContain('62.00%');
    expect(d.message).toContain('200 held-out images');
    expect(d.message).toContain('--force');
    expect(new BelowBaselineError(d.message, 0.5, 0.62).code).toBe('invalid_data');
  });
  it('publishes below the baseline with --force, and at or above it without', () => {
    expect(baselineGate({ method: 'coop', accuracy: 0.5, zeroshotAccuracy: 0.62, evalN: 10, force: true })).toMatchObject({ publish: true, belowBaseline: true });
    expect(baselineGate({ method: 'coop', accuracy: 0.62, zeroshotAccuracy: 0.62, evalN: 10, force: false })).toMatchObject({ publish: true, belowBaseline: false });
    expect(baselineGate({ method: 'coop', accuracy: 0.9, zeroshotAccuracy: 0.62, evalN: 10, force: false })).toMatchObject({ publish: true, belowBaseline: false });
  });
  it('does not gate hand-written-prompt methods', () => {
    expect(baselineGate({ method: 'ensemble', accuracy: 0.5, zeroshotAccuracy: 0.6, evalN: 10, force: false })).toMatchObject({ publish: true, belowBaseline: true });
    expect(baselineGate({ method: 'zeroshot', accuracy: 0.6, zeroshotAccuracy: 0.6, evalN: 10, force: false }).publish).toBe(true);
  });
});
