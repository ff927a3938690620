import { describe, expect, it } from 'vitest';
import { rgbaToRgb } from '../../src/core/image/pixels.ts';

/** The byte-by-byte definition the word-at-a-time conversion must equal. */
const reference = (rgba: Uint8Array) => Uint8Array.from({ length: (rgba.length / 4) * 3 }, (_, k) => rgba[Math.floor(k / 3) * 4 + (k % 3)]!);

describe('rgbaToRgb', () => {
  it('drops alpha without touching R, G, B, for any pixel count, aligned or not', () => {
    for (const n of [0, 1, 3, 4, 5, 7, 8, 9, 640 * 3 + 1]) {
      const buf = new Uint8Array(n * 4 + 1);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 97 + 13) & 255;
      const aligned = buf.subarray(0, n * 4);
      const unaligned = buf.subarray(1, 1 + n * 4); // byteOffset 1: the word path cannot be used
      expect(rgbaToRgb(aligned)).toEqual(reference(aligned));
      expect(rgbaToRgb(unaligned)).toEqual(reference(unaligned));
      expect(rgbaToRgb(new Uint8ClampedArray(aligned))).toEqual(reference(aligned));
    }
  });
});
