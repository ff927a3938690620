/**
 * The formats of issue 11 against their references (test/fixtures/image/formats.json, written by
 * scripts/gen-image-vectors.py): Pillow 9.4 for BMP, GIF, WebP and CMYK JPEG, libavif's avifdec for AVIF
 * (Pillow 9.4 has no AVIF). Lossless formats must match byte for byte; lossy ones within the tolerance
 * the fixture states (the same numbers docs/api.md gives).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidImageError, UnsupportedMediaTypeError } from '../../src/core/errors.ts';
import { decodeImage } from '../../src/core/image/decode.ts';
import { readImageHeader } from '../../src/core/image/image-header.ts';
import { initNodeImageCodecs } from '../../src/train/image-codecs-node.ts';
import { fromBase64, loadFixture, u8Mismatch, type U8Expected } from './image-test-utils.ts';

interface Tolerance {
  maxAbs: number;
  meanAbs: number;
}
interface FormatCase {
  name: string;
  format: string;
  file: string;
  width: number;
  height: number;
  expected: U8Expected;
  tolerance?: string;
  pillowMode?: string;
}
interface ExifCase {
  name: string;
  file: string;
  orientation: number;
  applied: { width: number; height: number; expected: U8Expected };
  ignored: { width: number; height: number; expected: U8Expected };
}
interface ErrorCase {
  name: string;
  file: string;
  error: 'InvalidImageError' | 'UnsupportedMediaTypeError';
  pillow: string;
}

const fixture = loadFixture<{ pillow: string; tolerances: Record<string, Tolerance>; cases: FormatCase[]; exif: ExifCase[]; errors: ErrorCase[] }>('formats.json');
const ERRORS = { InvalidImageError, UnsupportedMediaTypeError };

/** Largest and mean absolute difference per byte against a fully stored expectation. */
function difference(actual: Uint8Array, expected: U8Expected): Tolerance {
  const want = fromBase64(expected.b64 as string);
  expect(actual.length).toBe(want.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs((actual[i] as number) - (want[i] as number));
    max = Math.max(max, d);
    sum += d;
  }
  return { maxAbs: max, meanAbs: sum / want.length };
}

beforeAll(async () => {
  await initNodeImageCodecs();
});

describe('new formats decode as their reference decodes them', () => {
  const exact = fixture.cases.filter((c) => c.tolerance === undefined);
  const lossy = fixture.cases.filter((c) => c.tolerance !== undefined);

  it.each(exact.map((c) => [`${c.format}: ${c.name}`, c] as const))('%s (exact)', async (_name, c) => {
    const bytes = fromBase64(c.file);
    expect(readImageHeader(bytes)).toMatchObject({ format: c.format, width: c.width, height: c.height });
    const img = await decodeImage(bytes);
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    expect(u8Mismatch(img.data, c.expected)).toEqual({ differing: 0, hashMatches: true });
  });

  it.each(lossy.map((c) => [`${c.format}: ${c.name}`, c] as const))('%s (within tolerance)', async (_name, c) => {
    const bytes = fromBase64(c.file);
    expect(readImageHeader(bytes)).toMatchObject({ format: c.format, width: c.width, height: c.height });
    const img = await decodeImage(bytes);
    expect([img.width, img.height]).toEqual([c.width, c.height]);
    const tolerance = fixture.tolerances[c.tolerance as string] as Tolerance;
    const measured = difference(img.data, c.expected);
    // What each file measures, for the tolerance table in scripts/gen_format_vectors.py and docs/api.md.
    console.log(`${c.tolerance}\t${c.name}\tmaxAbs=${measured.maxAbs}\tmeanAbs=${measured.meanAbs.toFixed(4)}`);
    expect(measured.maxAbs).toBeLessThanOrEqual(tolerance.maxAbs);
    expect(measured.meanAbs).toBeLessThanOrEqual(tolerance.meanAbs);
  });

  it.each(fixture.errors.map((c) => [c.name, c] as const))('rejects %s', async (_name, c) => {
    await expect(decodeImage(fromBase64(c.file))).rejects.toThrow(ERRORS[c.error]);
  });
});

describe('EXIF orientation', () => {
  it.each(fixture.exif.map((c) => [c.name, c] as const))('%s: applied by default (ImageOps.exif_transpose), kept with exif=ignore', async (_name, c) => {
    const bytes = fromBase64(c.file);
    const shown = await decodeImage(bytes);
    expect([shown.width, shown.height]).toEqual([c.applied.width, c.applied.height]);
    expect(u8Mismatch(shown.data, c.applied.expected)).toEqual({ differing: 0, hashMatches: true });
    const stored = await decodeImage(bytes, { exif: 'ignore' });
    expect([stored.width, stored.height]).toEqual([c.ignored.width, c.ignored.height]);
    expect(u8Mismatch(stored.data, c.ignored.expected)).toEqual({ differing: 0, hashMatches: true });
  });
});
