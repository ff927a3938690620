import { describe, expect, it } from 'vitest';
import { pillowResize } from '../../src/core/image/pillow-resize.ts';
import { horizontalFlip, randomResizedCrop, randomResizedCropBox } from '../../src/core/image/random-resized-crop.ts';
import { cropImage } from '../../src/core/image/rgb-image.ts';
import { makeSource } from './image-test-utils.ts';
import { mulberry32 as seeded } from '../../src/core/random.ts';


const sequence = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

const img = makeSource({ kind: 'smooth', width: 64, height: 48, seed: 3 });
const opts = { scale: [0.08, 1] as const, ratio: [3 / 4, 4 / 3] as const, size: 32 };

describe('randomResizedCropBox (torchvision RandomResizedCrop.get_params)', () => {
  it('draws boxes inside the image with area and aspect in range', () => {
    const rng = seeded(1);
    for (let i = 0; i < 500; i++) {
      const b = randomResizedCropBox(64, 48, rng, opts.scale, opts.ratio);
      expect(b.top).toBeGreaterThanOrEqual(0);
      expect(b.left).toBeGreaterThanOrEqual(0);
      expect(b.top + b.height).toBeLessThanOrEqual(48);
      expect(b.left + b.width).toBeLessThanOrEqual(64);
      if (b.width === 64 && b.height === 48) continue; // possible centre fallback
      // Rounding w and h to integers moves area and ratio a little off the sampled values.
      const area = (b.width * b.height) / (64 * 48);
      expect(area).toBeGreaterThan(0.08 * 0.6);
      expect(area).toBeLessThanOrEqual(1);
      expect(b.width / b.height).toBeGreaterThan((3 / 4) * 0.75);
      expect(b.width / b.height).toBeLessThan((4 / 3) / 0.75);
    }
  });

  it('uses four draws for a box that fits on the first attempt, and maps them like torch', () => {
    // area = 3072 * (0.08 + 0.92 * 0.5) = 1658.88, aspect = exp(0) = 1 -> w = h = round(40.73) = 41
    const b = randomResizedCropBox(64, 48, sequence([0.5, 0.5, 0.999, 0]), opts.scale, opts.ratio);
    expect(b).toEqual({ top: 7, left: 0, height: 41, width: 41 }); // randint(0, 8) with u=0.999 -> 7
  });

  it("rounds half to even like Python's round()", () => {
    // area 100 * 0.0625 = 6.25, aspect 1 -> sqrt = 2.5 -> 2 (Math.round would give 3)
    const b = randomResizedCropBox(10, 10, sequence([0, 0, 0, 0]), [0.0625, 0.0625], [1, 1]);
    expect([b.width, b.height]).toEqual([2, 2]);
  });

  it('falls back to a centre crop clamped to the ratio range after 10 failed attempts', () => {
    // scale above 1 never fits, so all 10 attempts fail.
    expect(randomResizedCropBox(100, 20, seeded(2), [2, 3], opts.ratio)).toEqual({ top: 0, left: 36, height: 20, width: 27 });
    expect(randomResizedCropBox(20, 100, seeded(2), [2, 3], opts.ratio)).toEqual({ top: 36, left: 0, height: 27, width: 20 });
    expect(randomResizedCropBox(50, 40, seeded(2), [2, 3], opts.ratio)).toEqual({ top: 0, left: 0, height: 40, width: 50 });
  });
});

describe('randomResizedCrop', () => {
  it('returns size x size, deterministically for a given rng sequence', () => {
    const a = randomResizedCrop(img, seeded(7), opts);
    const b = randomResizedCrop(img, seeded(7), opts);
    const c = randomResizedCrop(img, seeded(8), opts);
    expect([a.width, a.height, a.data.length]).toEqual([32, 32, 32 * 32 * 3]);
    expect(a.data).toEqual(b.data);
    expect(a.data).not.toEqual(c.data);
  });

  it('is the Pillow-bicubic resize of the drawn box', () => {
    const box = randomResizedCropBox(img.width, img.height, seeded(11), opts.scale, opts.ratio);
    const expected = pillowResize(cropImage(img, box), 32, 32);
    expect(randomResizedCrop(img, seeded(11), opts).data).toEqual(expected.data);
  });

  it('rejects bad options', () => {
    expect(() => randomResizedCrop(img, seeded(1), { ...opts, size: 0 })).toThrow(/size/);
    expect(() => randomResizedCrop(img, seeded(1), { ...opts, scale: [0.5, 0.1] })).toThrow(/scale/);
    expect(() => randomResizedCrop(img, seeded(1), { ...opts, ratio: [0, 1] })).toThrow(/ratio/);
  });
});

describe('horizontalFlip', () => {
  it('mirrors columns and is its own inverse', () => {
    const small = makeSource({ kind: 'noise', width: 5, height: 3, seed: 4 });
    const f = horizontalFlip(small);
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 5; x++) {
        for (let c = 0; c < 3; c++) expect(f.data[(y * 5 + x) * 3 + c]).toBe(small.data[(y * 5 + (4 - x)) * 3 + c]);
      }
    }
    expect(horizontalFlip(f).data).toEqual(small.data);
  });
});
