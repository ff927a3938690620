import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/core/errors.ts';
import { centerCrop, ClipImageProcessor, shortestEdgeOutputSize } from '../../src/core/image/clip-image-processor.ts';
import { decodeImage } from '../../src/core/image/decode.ts';
import type { RgbImage } from '../../src/core/image/rgb-image.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { fromBase64, loadFixture, makeSource, sharedDataset, sha256Hex, type SourceSpec } from './image-test-utils.ts';

interface ClipCase {
  name: string;
  config: unknown;
  image: { shared: string } | { generated: SourceSpec };
  shape: [number, number, number];
  expected: { length: number; sha256: string; sum: number; b64?: string; samples?: [number, number][] };
}

const fixture = loadFixture<{ pillow: string; numpy: string; cases: ClipCase[] }>('clip.json');

beforeAll(async () => {
  await initNodeImageCodecs();
});

async function loadImage(src: ClipCase['image']): Promise<RgbImage> {
  if ('generated' in src) return makeSource(src.generated);
  return decodeImage(new Uint8Array(readFileSync(sharedDataset(src.shared))));
}

describe(`ClipImageProcessor matches transformers' CLIPImageProcessor (Pillow ${fixture.pillow}, numpy ${fixture.numpy})`, () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const processor = ClipImageProcessor.fromConfig(c.config);
    expect([3, processor.cropSize.height, processor.cropSize.width]).toEqual(c.shape);
    const out = processor.preprocess(await loadImage(c.image));
    expect(out.length).toBe(c.expected.length);
    if (c.expected.b64 !== undefined) {
      const want = new Float32Array(fromBase64(c.expected.b64).buffer);
      let maxDiff = 0;
      for (let i = 0; i < want.length; i++) maxDiff = Math.max(maxDiff, Math.abs((out[i] as number) - (want[i] as number)));
      expect(maxDiff).toBeLessThanOrEqual(1e-6);
    }
    for (const [i, v] of c.expected.samples ?? []) expect(out[i], `value ${i}`).toBeCloseTo(v, 6);
    expect(out.reduce((s, v) => s + v, 0)).toBeCloseTo(c.expected.sum, 2);
    // float32 arithmetic in the same order as numpy's: bit-identical.
    expect(sha256Hex(new Uint8Array(out.buffer))).toBe(c.expected.sha256);
  });
});

describe('ClipImageProcessor', () => {
  const tiny = JSON.parse(readFileSync(new URL('../../artifacts/models/tiny-clip-cifar10/preprocessor_config.json', import.meta.url), 'utf8')) as unknown;

  it('exposes the sizes from the config, and HF defaults when keys are missing', () => {
    const p = ClipImageProcessor.fromConfig(tiny);
    expect(p.cropSize).toEqual({ height: 32, width: 32 });
    expect(p.size).toEqual({ shortestEdge: 32 });
    const defaults = ClipImageProcessor.fromConfig({});
    expect(defaults.size).toEqual({ shortestEdge: 224 });
    expect(defaults.cropSize).toEqual({ height: 224, width: 224 });
    expect(defaults.resample).toBe(3);
    expect(defaults.rescaleFactor).toBeCloseTo(1 / 255, 15);
    expect(defaults.imageMean).toEqual([0.48145466, 0.4578275, 0.40821073]);
  });

  it('preprocessBatch stacks preprocess outputs as [N, 3, H, W]', () => {
    const p = ClipImageProcessor.fromConfig({ size: 12, crop_size: 10 });
    const imgs = [1, 2, 3].map((seed) => makeSource({ kind: 'noise', width: 15 + seed, height: 13, seed }));
    const batch = p.preprocessBatch(imgs);
    expect(batch.length).toBe(3 * 3 * 10 * 10);
    imgs.forEach((img, i) => expect(batch.subarray(i * 300, (i + 1) * 300)).toEqual(p.preprocess(img)));
    expect(p.preprocessBatch([]).length).toBe(0);
  });

  it('rejects unusable configs with a CheckpointError that names the problem', () => {
    expect(() => ClipImageProcessor.fromConfig('nope')).toThrow(CheckpointError);
    expect(() => ClipImageProcessor.fromConfig({ size: { shortest_edge: -3 } })).toThrow(/size/);
    expect(() => ClipImageProcessor.fromConfig({ image_mean: [0.5, 0.5] })).toThrow(/image_mean/);
    expect(() => ClipImageProcessor.fromConfig({ resample: 0 })).toThrow(/resample 0 is not supported/);
    expect(() => ClipImageProcessor.fromConfig({ do_center_crop: false })).toThrow(/do_center_crop/);
    expect(() => ClipImageProcessor.fromConfig({ crop_size: { shortest_edge: 224 } })).toThrow(/crop_size/);
    expect(() => ClipImageProcessor.fromConfig({ image_std: [1, 0, 1] })).toThrow(/image_std/);
  });

  it('computes the resize size like get_resize_output_image_size (long side truncated)', () => {
    expect(shortestEdgeOutputSize(640, 480, 224)).toEqual({ width: 298, height: 224 }); // 298.67
    expect(shortestEdgeOutputSize(480, 640, 224)).toEqual({ width: 224, height: 298 });
    expect(shortestEdgeOutputSize(100, 100, 224)).toEqual({ width: 224, height: 224 });
    expect(shortestEdgeOutputSize(3, 1000, 224)).toEqual({ width: 224, height: 74666 });
  });

  it('centre-crops at floor((size - crop) / 2) and zero-pads an image smaller than the crop', () => {
    const img = makeSource({ kind: 'noise', width: 5, height: 4, seed: 9 });
    const cropped = centerCrop(img, { height: 2, width: 2 });
    // top = floor(2/2) = 1, left = floor(3/2) = 1
    expect(Array.from(cropped.data.subarray(0, 3))).toEqual(Array.from(img.data.subarray((1 * 5 + 1) * 3, (1 * 5 + 1) * 3 + 3)));
    const padded = centerCrop(img, { height: 6, width: 8 });
    // top = floor(-2/2) = -1, left = floor(-3/2) = -2: row 0 and columns 0-1 are padding.
    expect(padded.data.subarray(0, 8 * 3).every((v) => v === 0)).toBe(true);
    expect(Array.from(padded.data.subarray((1 * 8 + 2) * 3, (1 * 8 + 2) * 3 + 3))).toEqual(Array.from(img.data.subarray(0, 3)));
  });
});
