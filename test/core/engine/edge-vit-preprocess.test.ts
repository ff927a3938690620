/**
 * The engine's WASM preprocessing (resize, crop, normalise) against ClipImageProcessor.preprocess, the
 * JS path that matches transformers + Pillow byte for byte: the floats must be identical, in both
 * builds, on every shape of image (down- and upscaling, skipped passes, portrait and landscape), and
 * images the scratch cannot hold must fall back to the JS path with the same result.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { growTo, instantiateKernels, type EdgeVitKernels } from '../../../src/core/engine/kernels.ts';
import { EdgeVitPreprocessor } from '../../../src/core/engine/preprocess.ts';
import { ClipImageProcessor } from '../../../src/core/image/clip-image-processor.ts';
import { PillowFilter } from '../../../src/core/image/pillow-resize.ts';
import { makeSource } from '../image-test-utils.ts';
import { engineModules } from './engine-modules.ts';

type Variant = { name: string; make: () => EdgeVitKernels };
let variants: Variant[] = [];

beforeAll(async () => {
  const m = await engineModules();
  variants = [
    { name: 'relaxed', make: () => instantiateKernels(m.relaxed) },
    { name: 'plain SIMD', make: () => instantiateKernels(m.simd) },
  ];
});

const clipConfig = (resample: number, size = 224, crop = 224) => ({ size: { shortest_edge: size }, crop_size: { height: crop, width: crop }, resample });

/** A preprocessor over a fresh kernels instance: input buffer first, then `scratchBytes` of scratch. */
function setup(k: EdgeVitKernels, processor: ClipImageProcessor, scratchBytes = 4 << 20) {
  const S = processor.cropSize.height;
  const pixels = Math.ceil(k.heapBase() / 64) * 64;
  const start = pixels + 3 * S * S * 4;
  growTo(k.memory, start + scratchBytes);
  return new EdgeVitPreprocessor(k, { start, end: start + scratchBytes }, pixels, S, processor);
}

const firstDifference = (a: Float32Array, b: Float32Array) => a.findIndex((x, i) => !Object.is(x, b[i]));

describe('edge-vit preprocessing in WASM equals ClipImageProcessor.preprocess, bit for bit', () => {
  const shapes: [string, number, number][] = [
    ['640x480 photo (downscale)', 640, 480],
    ['480x640 portrait', 480, 640],
    ['224x224 (no resize pass)', 224, 224],
    ['300x224 (no vertical pass)', 300, 224],
    ['224x301 (no horizontal pass)', 224, 301],
    ['1000x250 panorama', 1000, 250],
    ['57x43 (upscale)', 57, 43],
    ['1601x1203 (large factor)', 1601, 1203],
  ];
  it.each(shapes)('%s, bicubic (CLIP), both builds', (_name, w, h) => {
    const processor = ClipImageProcessor.fromConfig(clipConfig(PillowFilter.BICUBIC));
    const img = makeSource({ kind: 'noise', width: w, height: h, seed: w * 7 + h });
    const want = processor.preprocess(img);
    for (const v of variants) {
      const pre = setup(v.make(), processor);
      const got = pre.preprocess(img);
      expect(pre.counts, v.name).toEqual({ wasm: 1, js: 0 });
      expect(firstDifference(got, want), v.name).toBe(-1);
    }
  });

  it('every Pillow filter, a smooth image, and a non-square model input', () => {
    const img = makeSource({ kind: 'smooth', width: 333, height: 250, seed: 3 });
    for (const filter of [PillowFilter.BILINEAR, PillowFilter.LANCZOS, PillowFilter.BOX, PillowFilter.HAMMING]) {
      const processor = ClipImageProcessor.fromConfig(clipConfig(filter, 64, 48));
      const want = processor.preprocess(img);
      // The engine's input is square; a 48-pixel crop of a 64-pixel resize exercises a window off the origin.
      const pre = setup(variants[0]!.make(), processor);
      const got = pre.preprocess(img);
      expect(pre.counts).toEqual({ wasm: 1, js: 0 });
      expect(firstDifference(got, want)).toBe(-1);
    }
  });

  it('returns a view of the engine input buffer, reused by the next image', () => {
    const processor = ClipImageProcessor.fromConfig(clipConfig(PillowFilter.BICUBIC, 40, 32));
    const k = variants[0]!.make();
    const pre = setup(k, processor);
    const a = pre.preprocess(makeSource({ kind: 'noise', width: 90, height: 60, seed: 1 }));
    expect(a.buffer).toBe(k.memory.buffer);
    const first = a.slice();
    const b = pre.preprocess(makeSource({ kind: 'noise', width: 60, height: 90, seed: 2 }));
    expect(b.byteOffset).toBe(a.byteOffset);
    expect(firstDifference(a, first)).not.toBe(-1); // overwritten in place
  });

  it('falls back to the JS path, with the same floats, when the crop needs padding or the scratch is too small', () => {
    const padded = ClipImageProcessor.fromConfig(clipConfig(PillowFilter.BICUBIC, 200, 224)); // resized short side < crop
    const img = makeSource({ kind: 'noise', width: 320, height: 240, seed: 9 });
    const pre = setup(variants[0]!.make(), padded);
    expect(firstDifference(pre.preprocess(img), padded.preprocess(img))).toBe(-1);
    expect(pre.counts).toEqual({ wasm: 0, js: 1 });

    const clip = ClipImageProcessor.fromConfig(clipConfig(PillowFilter.BICUBIC));
    const small = setup(variants[0]!.make(), clip, 8 << 10); // 8 KiB cannot hold the kernels' weights and a ring of 224-pixel rows
    expect(firstDifference(small.preprocess(img), clip.preprocess(img))).toBe(-1);
    expect(small.counts).toEqual({ wasm: 0, js: 1 });
  });

  it('refuses a malformed image as the JS path does', () => {
    const pre = setup(variants[0]!.make(), ClipImageProcessor.fromConfig(clipConfig(PillowFilter.BICUBIC)));
    expect(() => pre.preprocess({ width: 10, height: 10, data: new Uint8Array(7) })).toThrow(/expected 300 bytes/);
  });
});
