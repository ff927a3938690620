import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/core/errors.ts';
import { pillowResize, PillowFilter } from '../../src/core/image/pillow-resize.ts';
import { cropImage } from '../../src/core/image/rgb-image.ts';
import { loadFixture, makeSource, u8Mismatch, type SourceSpec, type U8Expected } from './image-test-utils.ts';

interface ResizeCase {
  name: string;
  source: SourceSpec;
  width: number;
  height: number;
  filter: 'lanczos' | 'bilinear' | 'bicubic' | 'box' | 'hamming';
  box?: [number, number, number, number];
  crop?: { left: number; top: number; width: number; height: number };
  expected: U8Expected;
}

const FILTER_IDS = {
  lanczos: PillowFilter.LANCZOS,
  bilinear: PillowFilter.BILINEAR,
  bicubic: PillowFilter.BICUBIC,
  box: PillowFilter.BOX,
  hamming: PillowFilter.HAMMING,
} as const;

const fixture = loadFixture<{ pillow: string; cases: ResizeCase[] }>('resize.json');

describe(`pillowResize matches Pillow ${fixture.pillow} Image.resize byte for byte`, () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    let img = makeSource(c.source);
    if (c.crop) img = cropImage(img, c.crop);
    const out = pillowResize(img, c.width, c.height, { filter: FILTER_IDS[c.filter], ...(c.box ? { box: c.box } : {}) });
    expect([out.width, out.height]).toEqual([c.width, c.height]);
    expect(out.data.length).toBe(c.width * c.height * 3);
    expect(u8Mismatch(out.data, c.expected)).toEqual({ differing: 0, hashMatches: true });
  });
});

describe('pillowResize', () => {
  const src = makeSource({ kind: 'noise', width: 37, height: 23, seed: 1 });

  it('returns a copy, not the input, when the size does not change', () => {
    const out = pillowResize(src, 37, 23);
    expect(out.data).toEqual(src.data);
    expect(out.data).not.toBe(src.data);
  });

  it('keeps a constant image constant (normalised weights, no drift)', () => {
    const flat = { width: 50, height: 40, data: new Uint8Array(50 * 40 * 3).fill(200) };
    for (const [w, h] of [[224, 179], [13, 7], [50, 3]] as const) {
      const out = pillowResize(flat, w, h);
      expect(out.data.every((v) => v === 200)).toBe(true);
    }
  });

  it('computes a window of the output with the same bytes as the whole resize, on every filter and on skipped passes', () => {
    const full = (img: typeof src, w: number, h: number, filter: PillowFilter) => pillowResize(img, w, h, { filter });
    const crop = (img: typeof src, r: { left: number; top: number; width: number; height: number }) => cropImage(img, r);
    const cases: [number, number, number, number, PillowFilter][] = [
      [37, 23, 29, 17, PillowFilter.BICUBIC],
      [37, 23, 80, 50, PillowFilter.BICUBIC], // upscale
      [37, 23, 37, 11, PillowFilter.LANCZOS], // no horizontal pass
      [37, 23, 12, 23, PillowFilter.BILINEAR], // no vertical pass
      [37, 23, 37, 23, PillowFilter.BICUBIC], // no pass at all
      [37, 23, 21, 14, PillowFilter.BOX],
      [37, 23, 21, 14, PillowFilter.HAMMING],
    ];
    for (const [iw, ih, w, h, filter] of cases) {
      const img = makeSource({ kind: 'noise', width: iw, height: ih, seed: iw * ih + w });
      const whole = full(img, w, h, filter);
      for (const win of [{ left: 0, top: 0, width: w, height: h }, { left: 1, top: 2, width: w - 3, height: h - 4 }, { left: w - 1, top: h - 1, width: 1, height: 1 }]) {
        const out = pillowResize(img, w, h, { filter, window: win });
        expect([out.width, out.height]).toEqual([win.width, win.height]);
        expect(out.data).toEqual(crop(whole, win).data);
      }
    }
    expect(() => pillowResize(src, 10, 10, { window: { left: 5, top: 0, width: 6, height: 10 } })).toThrow(/not inside/);
  });

  it('rejects NEAREST, bad sizes and boxes outside the image', () => {
    expect(() => pillowResize(src, 10, 10, { filter: PillowFilter.NEAREST })).toThrow(InvalidArgumentError);
    expect(() => pillowResize(src, 0, 10)).toThrow(InvalidArgumentError);
    expect(() => pillowResize(src, 10.5, 10)).toThrow(InvalidArgumentError);
    expect(() => pillowResize(src, 10, 10, { box: [0, 0, 38, 23] })).toThrow(/outside/);
    expect(() => pillowResize(src, 10, 10, { box: [-1, 0, 30, 23] })).toThrow(/outside/);
  });

  it('resizes 640x480 to CLIP size in a few milliseconds', () => {
    const big = makeSource({ kind: 'noise', width: 640, height: 480, seed: 6 });
    pillowResize(big, 298, 224); // warm-up (JIT)
    const runs = 5;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) pillowResize(big, 298, 224);
    const perCall = (performance.now() - t0) / runs;
    // Generous bound for a shared CI core; typically a few ms.
    expect(perCall).toBeLessThan(60);
  });
});
