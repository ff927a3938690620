/**
 * AVIF decoding with libavif + dav1d compiled to WASM (@jsquash/avif), 8-bit RGBA output. Pillow 9.4
 * has no AVIF support, so the reference is libavif's own `avifdec` (scripts/gen-image-vectors.py):
 * AVIF is lossy and YUV->RGB conversion differs slightly between libavif builds, so parity is within
 * the tolerance test/core/image-formats.test.ts states. Alpha is dropped; higher bit depths are
 * reduced to 8 bits by libavif.
 */
import type { RgbImage } from './rgb-image.ts';
import { readAvifInfo, type HeaderInfo } from './image-header.ts';
import { LazyWasmCodec, type EmscriptenFactory } from './wasm-codec.ts';
import { rgbaToRgb, checkDecodedSize } from './pixels.ts';

interface AvifModule {
  decode(data: Uint8Array, bitDepth: 8): { width: number; height: number; data: Uint8ClampedArray } | null;
  HEAP8?: Int8Array;
}

export const AVIF_DEC_WASM = '@jsquash/avif/codec/dec/avif_dec.wasm';

export const avifCodec = new LazyWasmCodec<AvifModule>('AVIF', AVIF_DEC_WASM, async () => {
  const glue = await import('@jsquash/avif/codec/dec/avif_dec.js');
  return glue.default as unknown as EmscriptenFactory<AvifModule>;
});

export async function decodeAvif(bytes: Uint8Array, maxPixels: number, info: HeaderInfo['avif'] = readAvifInfo(bytes)): Promise<RgbImage> {
  const decoded = await avifCodec.run((m) => {
    const out = m.decode(bytes, 8);
    if (out === null) throw new Error('libavif could not decode the file (corrupt, truncated, or an AVIF feature this build lacks)');
    return out;
  }, { maxPixels });
  checkDecodedSize('AVIF', decoded, info);
  return { width: decoded.width, height: decoded.height, data: rgbaToRgb(decoded.data) };
}
